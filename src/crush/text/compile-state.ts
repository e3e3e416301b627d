// The compiler's state, shared by the compiler (compile.ts) and the shadow-tree pass (shadow.ts):
// the symbol tables and the bucket table's growth, kept here so neither imports the other.
import type { CrushMap } from "../types.ts";
import type { JoinedSource } from "./source.ts";

/** The compiler's symbol tables, mirroring crushtool's (item_id, id_item, item_weight...). */
export interface CompileState {
  readonly map: CrushMap;
  readonly source: JoinedSource;
  readonly fileName: string;
  readonly itemIds: Map<string, number>;
  /** Ids crushtool treats as taken when it picks a bucket id: declared and reserved ones. */
  readonly usedIds: Set<number>;
  /** A bucket's weight as an item: the u32 sum of its own item weights. */
  readonly bucketWeights: Map<number, number>;
  readonly typeIds: Map<string, number>;
  readonly classIds: Map<string, number>;
  /** Shadow bucket ids written in the text (`id -N class C`), by bucket id then class id. */
  readonly requestedShadowIds: Map<number, Map<number, number>>;
  readonly ruleIds: Map<string, number>;
  ruleSlots: number;
  /** Ceph's max_buckets. */
  bucketSlots: number;
  sawRule: boolean;
}

/**
 * Ceph grows its bucket array, as buckets are added, to 8 slots and then by doubling, and
 * writes every slot, empty or not, into the binary map. Tracking it keeps our
 * `buckets.length` equal to Ceph's max_buckets, so the map encodes to crushtool's bytes.
 */
export function growBucketTable(state: CompileState, bucketId: number): void {
  const slot = -1 - bucketId;
  while (slot >= state.bucketSlots) state.bucketSlots = state.bucketSlots === 0 ? 8 : state.bucketSlots * 2;
}
