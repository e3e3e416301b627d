// Building buckets from item weights: the derived data each algorithm needs (crush.md §3).
// Pure functions; the text compiler, topology compiler and tests all build buckets here.

import { tunableProfile } from "./tunables.ts";
import {
  type Bucket,
  type BucketAlgName,
  type CrushMap,
  type Rule,
  type RuleOpCode,
  RuleType,
  type Tunables,
  WEIGHT_ONE,
} from "./types.ts";

export interface BucketSpec {
  id: number;
  type: number;
  alg: BucketAlgName;
  items: readonly number[];
  /** 16.16 weights, one per item. For uniform they must all be equal. */
  weights: readonly number[];
  hash?: number;
}

export class CrushBuildError extends Error {
  override name = "CrushBuildError";
}

/** Builds a bucket and its derived arrays. `strawCalcVersion` matters only for alg "straw". */
export function makeBucket(spec: BucketSpec, strawCalcVersion = 1): Bucket {
  const size = spec.items.length;
  if (spec.weights.length !== size) {
    throw new CrushBuildError(`bucket ${spec.id}: ${size} items but ${spec.weights.length} weights`);
  }
  if (spec.id >= 0) throw new CrushBuildError(`bucket id must be negative, got ${spec.id}`);
  const items = Int32Array.from(spec.items);
  const itemWeights = Uint32Array.from(spec.weights, (w) => w >>> 0);
  let weight = 0;
  for (const w of itemWeights) weight = (weight + w) >>> 0;
  const base = { id: spec.id, type: spec.type, alg: spec.alg, hash: spec.hash ?? 0, items, itemWeights };
  switch (spec.alg) {
    case "uniform": {
      for (const w of itemWeights) {
        if (w !== itemWeights[0]) {
          throw new CrushBuildError(`uniform bucket ${spec.id}: item weights differ`);
        }
      }
      return { ...base, weight };
    }
    case "list":
      return { ...base, weight, sumWeights: listSums(itemWeights) };
    case "tree":
      return { ...base, weight, nodeWeights: treeNodeWeights(itemWeights) };
    case "straw":
      return { ...base, weight, straws: strawLengths(itemWeights, strawCalcVersion) };
    case "straw2":
      return { ...base, weight };
  }
}

/** list buckets: running sums w_0 + ... + w_i (u32). */
export function listSums(weights: Uint32Array): Uint32Array {
  const sums = new Uint32Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum = (sum + weights[i]) >>> 0;
    sums[i] = sum;
  }
  return sums;
}

/** Number of levels of a tree bucket with `size` leaves (1 + bit length of size-1). */
export function treeDepth(size: number): number {
  if (size === 0) return 0;
  let depth = 1;
  for (let t = size - 1; t > 0; t >>>= 1) depth++;
  return depth;
}

/** Height of a tree node: the number of trailing zero bits of its index. */
export function treeNodeHeight(node: number): number {
  let h = 0;
  while ((node & 1) === 0 && h < 31) {
    node >>>= 1;
    h++;
  }
  return h;
}

function treeParent(node: number): number {
  const h = treeNodeHeight(node);
  return node & (1 << (h + 1)) ? node - (1 << h) : node + (1 << h);
}

/** tree buckets: leaves at odd nodes (item i at 2i+1); inner nodes carry the sum below them. */
export function treeNodeWeights(weights: Uint32Array): Uint32Array {
  const size = weights.length;
  const depth = treeDepth(size);
  const nodeCount = size === 0 ? 0 : 1 << depth;
  const nodes = new Uint32Array(nodeCount);
  const root = nodeCount >>> 1;
  for (let i = 0; i < size; i++) {
    let node = 2 * i + 1;
    nodes[node] = weights[i];
    for (let level = 1; level < depth; level++) {
      node = treeParent(node);
      nodes[node] = (nodes[node] + weights[i]) >>> 0;
    }
    if (depth > 1 && node !== root) throw new CrushBuildError("tree bucket: walk did not reach the root");
  }
  return nodes;
}

/**
 * straw (v1) buckets: straw lengths from the weights, as Ceph's builder computes them for
 * straw_calc_version 0 (the original, skewed one) and >= 1 (the fixed one). Double precision,
 * with the u32 wrap of `numleft * (w_next - w_i)` that Ceph has.
 */
export function strawLengths(weights: Uint32Array, strawCalcVersion: number): Uint32Array {
  const size = weights.length;
  const straws = new Uint32Array(size);
  // Item indices sorted by weight ascending; insertion sort keeps equal weights in bucket order.
  const order: number[] = [];
  for (let i = 0; i < size; i++) {
    let j = 0;
    while (j < order.length && !(weights[i] < weights[order[j]])) j++;
    order.splice(j, 0, i);
  }
  let numLeft = size;
  let straw = 1.0;
  let weightBelow = 0.0;
  let lastWeight = 0.0;
  let i = 0;
  while (i < size) {
    const current = order[i];
    if (weights[current] === 0) {
      straws[current] = 0;
      i++;
      if (strawCalcVersion >= 1) numLeft--;
      continue;
    }
    straws[current] = toU32(straw * 0x10000);
    i++;
    if (i === size) break;
    const previousWeight = weights[order[i - 1]];
    const nextWeight = weights[order[i]];
    if (strawCalcVersion === 0) {
      if (nextWeight === previousWeight) continue;
      weightBelow += (previousWeight - lastWeight) * numLeft;
      for (let j = i; j < size && weights[order[j]] === nextWeight; j++) numLeft--;
    } else {
      weightBelow += (previousWeight - lastWeight) * numLeft;
      numLeft--;
    }
    const weightNext = Math.imul(numLeft, (nextWeight - previousWeight) >>> 0) >>> 0;
    const probabilityBelow = weightBelow / (weightBelow + weightNext);
    straw *= (1.0 / probabilityBelow) ** (1.0 / numLeft);
    lastWeight = previousWeight;
  }
  return straws;
}

/** C's double -> u32 conversion for values in range: truncation toward zero. */
function toU32(value: number): number {
  return Math.trunc(value) >>> 0;
}

/** An empty map with Ceph's default type names, ready for buckets and rules. */
export function emptyMap(tunables: Tunables = tunableProfile("jewel")): CrushMap {
  return {
    buckets: [],
    rules: [],
    maxDevices: 0,
    tunables: { ...tunables },
    typeNames: new Map(),
    itemNames: new Map(),
    ruleNames: new Map(),
    deviceClasses: new Map(),
  };
}

/** Puts a bucket in its slot (-1-id) and raises maxDevices to cover its device items. */
export function addBucket(map: CrushMap, bucket: Bucket, name?: string): void {
  const slot = -1 - bucket.id;
  if (map.buckets[slot] !== undefined) throw new CrushBuildError(`bucket id ${bucket.id} is used twice`);
  while (map.buckets.length < slot) map.buckets.push(undefined);
  map.buckets[slot] = bucket;
  for (const item of bucket.items) if (item >= map.maxDevices) map.maxDevices = item + 1;
  if (name !== undefined) map.itemNames.set(bucket.id, name);
}

/** 16.16 weight from a float the way crushtool parses text: float32, times 65536, truncated. */
export function weightFromFloat(value: number): number {
  return Math.trunc(Math.fround(value) * WEIGHT_ONE) >>> 0;
}

/**
 * A replicated rule from (op, arg1, arg2) steps, e.g.
 * `makeRule(0, [[RuleOp.take, -1, 0], [RuleOp.chooseleafFirstn, 0, 1], [RuleOp.emit, 0, 0]])`.
 */
export function makeRule(id: number, steps: ReadonlyArray<readonly [RuleOpCode, number, number]>): Rule {
  return {
    id,
    ruleset: id,
    type: RuleType.replicated,
    minSize: 1,
    maxSize: 10,
    steps: steps.map(([op, arg1, arg2]) => ({ op, arg1, arg2 })),
  };
}
