// The map's buckets compiled for the mapper: one record shape for every algorithm (so the choose
// loop stays monomorphic), with the balancer's choose_args applied.

import { BUCKET_ALG_CODE, type Bucket, type ChooseArg, type ChooseArgSet } from "./types.ts";

const EMPTY_U32 = new Uint32Array(0);

/** A bucket flattened so every record has the same shape (keeps the choose loop monomorphic). */
export class CompiledBucket {
  readonly id: number;
  readonly type: number;
  readonly alg: number;
  readonly size: number;
  readonly items: Int32Array;
  /** Ids fed to the hash: the items, or choose_args ids. */
  hashIds: Int32Array;
  readonly weights: Uint32Array;
  /** choose_args weight vectors per position; empty when none apply. */
  weightSets: readonly Uint32Array[];
  readonly sums: Uint32Array;
  readonly nodes: Uint32Array;
  readonly straws: Uint32Array;

  constructor(bucket: Bucket) {
    this.id = bucket.id;
    this.type = bucket.type;
    this.alg = BUCKET_ALG_CODE[bucket.alg];
    this.size = bucket.items.length;
    this.items = bucket.items;
    this.hashIds = bucket.items;
    this.weights = bucket.itemWeights;
    this.weightSets = [];
    this.sums = bucket.sumWeights ?? EMPTY_U32;
    this.nodes = bucket.nodeWeights ?? EMPTY_U32;
    this.straws = bucket.straws ?? EMPTY_U32;
  }
}

/** Compiles every bucket of a map (holes stay undefined, at the same slots). */
export function compileBuckets(buckets: readonly (Bucket | undefined)[]): (CompiledBucket | undefined)[] {
  return buckets.map((bucket) => (bucket === undefined ? undefined : new CompiledBucket(bucket)));
}

/** Applies balancer weight sets to the buckets they name (straw2 buckets only). */
export function applyChooseArgs(
  buckets: readonly (CompiledBucket | undefined)[],
  chooseArgs: ChooseArgSet,
): void {
  for (const [bucketId, arg] of chooseArgs) {
    const bucket = buckets[-1 - bucketId];
    if (bucket === undefined || bucket.alg !== BUCKET_ALG_CODE.straw2) continue;
    applyChooseArg(bucket, arg);
  }
}

function applyChooseArg(bucket: CompiledBucket, arg: ChooseArg): void {
  if (arg.ids !== undefined && arg.ids.length === bucket.size) bucket.hashIds = arg.ids;
  if (arg.weightSet !== undefined && arg.weightSet.length > 0) {
    bucket.weightSets = arg.weightSet.filter((weights) => weights.length === bucket.size);
  }
}
