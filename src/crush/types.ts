// The CRUSH data model, shaped after Ceph 16's in-memory map (crush.md §1).
// Weights are u32 16.16 fixed point everywhere (1.0 = 0x10000). Bucket ids are negative:
// bucket `id` lives in slot `-1 - id` of `CrushMap.buckets`. Devices have ids >= 0.

/** 1.0 in 16.16 fixed point. */
export const WEIGHT_ONE = 0x10000;

/** Marks an empty position in an `indep` result (Ceph's CRUSH_ITEM_NONE). */
export const ITEM_NONE = 0x7fffffff;
/** Internal marker for a position not decided yet (Ceph's CRUSH_ITEM_UNDEF). */
export const ITEM_UNDEF = 0x7ffffffe;

export type BucketAlgName = "uniform" | "list" | "tree" | "straw" | "straw2";

/** Numeric algorithm codes as stored in Ceph's binary map. */
export const BUCKET_ALG_CODE: Readonly<Record<BucketAlgName, number>> = {
  uniform: 1,
  list: 2,
  tree: 3,
  straw: 4,
  straw2: 5,
};

export const BUCKET_ALG_BY_CODE: ReadonlyMap<number, BucketAlgName> = new Map(
  Object.entries(BUCKET_ALG_CODE).map(([name, code]) => [code, name as BucketAlgName]),
);

/**
 * A bucket with the derived data its choose function needs. Build one with `makeBucket`
 * (from item weights) or fill the derived arrays straight from a binary map.
 */
export interface Bucket {
  readonly id: number;
  readonly type: number;
  readonly alg: BucketAlgName;
  /** Hash function; only 0 (rjenkins1) exists. */
  readonly hash: number;
  /** The bucket's own weight: u32 sum of its item weights (16.16). */
  readonly weight: number;
  readonly items: Int32Array;
  /** Per-item 16.16 weights, in item order. For uniform, every entry is the one item weight. */
  readonly itemWeights: Uint32Array;
  /** list: prefix sums of item weights (sum_i = w_0 + ... + w_i). */
  readonly sumWeights?: Uint32Array;
  /** tree: node weights, leaves at odd indices (item i at node 2i+1). */
  readonly nodeWeights?: Uint32Array;
  /** straw (v1): straw lengths computed at build time. */
  readonly straws?: Uint32Array;
}

/** Rule step opcodes, numbered as in Ceph's binary map. */
export const RuleOp = {
  noop: 0,
  take: 1,
  chooseFirstn: 2,
  chooseIndep: 3,
  emit: 4,
  chooseleafFirstn: 6,
  chooseleafIndep: 7,
  setChooseTries: 8,
  setChooseleafTries: 9,
  setChooseLocalTries: 10,
  setChooseLocalFallbackTries: 11,
  setChooseleafVaryR: 12,
  setChooseleafStable: 13,
} as const;
export type RuleOpCode = (typeof RuleOp)[keyof typeof RuleOp];

export interface RuleStep {
  readonly op: RuleOpCode;
  /** take: item id; choose*: count (<= 0 means result_max + n); set_*: value. */
  readonly arg1: number;
  /** choose*: bucket type id. */
  readonly arg2: number;
}

/** Rule type as stored in the mask: replicated = 1, erasure = 3. */
export const RuleType = { replicated: 1, erasure: 3 } as const;

export interface Rule {
  readonly id: number;
  /** The mask's ruleset number (equal to id in maps written by Ceph >= 12). */
  readonly ruleset: number;
  readonly type: number;
  readonly minSize: number;
  readonly maxSize: number;
  readonly steps: readonly RuleStep[];
}

export interface Tunables {
  chooseLocalTries: number;
  chooseLocalFallbackTries: number;
  chooseTotalTries: number;
  chooseleafDescendOnce: number;
  chooseleafVaryR: number;
  chooseleafStable: number;
  /** Only affects how straw (v1) buckets are built; not used while mapping. */
  strawCalcVersion: number;
  /** Bit mask of allowed bucket algs; no effect on mapping. */
  allowedBucketAlgs: number;
}

/**
 * A complete map. Names are kept beside the numeric structures so maps can be printed,
 * decompiled and addressed by name; the mapper reads only `buckets`, `rules`, `maxDevices`
 * and `tunables`.
 */
export interface CrushMap {
  /** Slot i holds bucket id -1-i; holes are undefined. */
  buckets: (Bucket | undefined)[];
  /** Slot i holds rule id i; holes are undefined. */
  rules: (Rule | undefined)[];
  /** 1 + the highest device id declared or referenced. */
  maxDevices: number;
  tunables: Tunables;
  /** Type id -> name (0 is the device type, usually "osd"). */
  typeNames: Map<number, string>;
  /** Item id (device or bucket) -> name. */
  itemNames: Map<number, string>;
  /** Rule id -> name. */
  ruleNames: Map<number, string>;
  /** Device id -> device class name. */
  deviceClasses: Map<number, string>;
  /**
   * Balancer weight sets (Ceph's choose_args), by set id; -1 is the default set (written
   * 18446744073709551615 by crushtool). They apply to straw2 buckets only.
   */
  chooseArgs?: Map<number, ChooseArgSet>;
  /**
   * Ceph's own numbering of device classes and shadow buckets, as read from a binary map, so it
   * re-encodes byte for byte. Optional: when absent it is derived from `deviceClasses` and the
   * "<bucket>~<class>" shadow bucket names.
   */
  deviceClassTables?: DeviceClassTables;
}

/** Ceph's class_name, class_map and class_bucket tables. */
export interface DeviceClassTables {
  /** Class id -> class name. */
  readonly classNames: Map<number, string>;
  /** Item id -> class id, for devices and for shadow buckets. */
  readonly itemClasses: Map<number, number>;
  /** Bucket id -> (class id -> id of that bucket's shadow bucket for the class). */
  readonly shadowBuckets: Map<number, Map<number, number>>;
}

/** choose_args for one bucket: hash ids and/or one weight vector per result position. */
export interface ChooseArg {
  readonly ids?: Int32Array;
  readonly weightSet?: readonly Uint32Array[];
}

/** Bucket id -> its choose_args. */
export type ChooseArgSet = Map<number, ChooseArg>;
