// The five bucket algorithms (crush.md §3): given x and r, which item of a bucket is drawn. Pure
// functions of their arguments; `permutation` is the caller's scratch vector (uniform buckets).
// Their loops are the mapper's hottest code, so they use local literals and no allocation.

import { treeNodeHeight } from "./builder.ts";
import type { CompiledBucket } from "./compiled-bucket.ts";
import { HASH_SEED, HASH_X0, HASH_Y0, hash3, hash4 } from "./hash.ts";
import { STRAW2_LN } from "./ln.ts";
import { BUCKET_ALG_CODE } from "./types.ts";

// Local literals (an imported binding is a load per use in the hot loop); checked equal below.
const SEED = 1315423911;
const X0 = 231232;
const Y0 = 1232;
if (SEED !== HASH_SEED || X0 !== HASH_X0 || Y0 !== HASH_Y0)
  throw new Error("rjenkins1 constants out of sync");

const ALG_UNIFORM = BUCKET_ALG_CODE.uniform;
const ALG_LIST = BUCKET_ALG_CODE.list;
const ALG_TREE = BUCKET_ALG_CODE.tree;
const ALG_STRAW = BUCKET_ALG_CODE.straw;
const ALG_STRAW2 = BUCKET_ALG_CODE.straw2;

/** The only switch on the bucket algorithm. */
export function bucketChoose(
  bucket: CompiledBucket,
  x: number,
  r: number,
  position: number,
  permutation: Int32Array,
): number {
  switch (bucket.alg) {
    case ALG_STRAW2:
      return straw2Choose(bucket, x, r, position);
    case ALG_STRAW:
      return strawChoose(bucket, x, r);
    case ALG_LIST:
      return listChoose(bucket, x, r);
    case ALG_TREE:
      return treeChoose(bucket, x, r);
    case ALG_UNIFORM:
      return permutationChoose(bucket, x, r, permutation);
    default:
      return bucket.items[0];
  }
}

/** straw2: every item draws ln(u)/w; the first largest draw wins. */
function straw2Choose(bucket: CompiledBucket, x: number, r: number, position: number): number {
  const ids = bucket.hashIds;
  const sets = bucket.weightSets;
  const weights =
    sets.length === 0 ? bucket.weights : sets[position < sets.length ? position : sets.length - 1];
  let high = 0;
  let highDraw = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < bucket.size; i++) {
    const weight = weights[i];
    let draw = Number.NEGATIVE_INFINITY;
    if (weight !== 0) {
      // hash3(x, ids[i], r), written out in place (see hash.ts): a call here cost ~25% of a draw.
      let a = x;
      let b = ids[i];
      let c = r;
      let h = SEED ^ a ^ b ^ c;
      let hx = X0;
      let hy = Y0;
      a = (a - b - h) | 0;
      a ^= h >>> 13;
      b = (b - h - a) | 0;
      b ^= a << 8;
      h = (h - a - b) | 0;
      h ^= b >>> 13;
      a = (a - b - h) | 0;
      a ^= h >>> 12;
      b = (b - h - a) | 0;
      b ^= a << 16;
      h = (h - a - b) | 0;
      h ^= b >>> 5;
      a = (a - b - h) | 0;
      a ^= h >>> 3;
      b = (b - h - a) | 0;
      b ^= a << 10;
      h = (h - a - b) | 0;
      h ^= b >>> 15;
      c = (c - hx - h) | 0;
      c ^= h >>> 13;
      hx = (hx - h - c) | 0;
      hx ^= c << 8;
      h = (h - c - hx) | 0;
      h ^= hx >>> 13;
      c = (c - hx - h) | 0;
      c ^= h >>> 12;
      hx = (hx - h - c) | 0;
      hx ^= c << 16;
      h = (h - c - hx) | 0;
      h ^= hx >>> 5;
      c = (c - hx - h) | 0;
      c ^= h >>> 3;
      hx = (hx - h - c) | 0;
      hx ^= c << 10;
      h = (h - c - hx) | 0;
      h ^= hx >>> 15;
      hy = (hy - a - h) | 0;
      hy ^= h >>> 13;
      a = (a - h - hy) | 0;
      a ^= hy << 8;
      h = (h - hy - a) | 0;
      h ^= a >>> 13;
      hy = (hy - a - h) | 0;
      hy ^= h >>> 12;
      a = (a - h - hy) | 0;
      a ^= hy << 16;
      h = (h - hy - a) | 0;
      h ^= a >>> 5;
      hy = (hy - a - h) | 0;
      hy ^= h >>> 3;
      a = (a - h - hy) | 0;
      a ^= hy << 10;
      h = (h - hy - a) | 0;
      h ^= a >>> 15;
      b = (b - hx - h) | 0;
      b ^= h >>> 13;
      hx = (hx - h - b) | 0;
      hx ^= b << 8;
      h = (h - b - hx) | 0;
      h ^= hx >>> 13;
      b = (b - hx - h) | 0;
      b ^= h >>> 12;
      hx = (hx - h - b) | 0;
      hx ^= b << 16;
      h = (h - b - hx) | 0;
      h ^= hx >>> 5;
      b = (b - hx - h) | 0;
      b ^= h >>> 3;
      hx = (hx - h - b) | 0;
      hx ^= b << 10;
      h = (h - b - hx) | 0;
      h ^= hx >>> 15;
      hy = (hy - c - h) | 0;
      hy ^= h >>> 13;
      c = (c - h - hy) | 0;
      c ^= hy << 8;
      h = (h - hy - c) | 0;
      h ^= c >>> 13;
      hy = (hy - c - h) | 0;
      hy ^= h >>> 12;
      c = (c - h - hy) | 0;
      c ^= hy << 16;
      h = (h - hy - c) | 0;
      h ^= c >>> 5;
      hy = (hy - c - h) | 0;
      hy ^= h >>> 3;
      c = (c - h - hy) | 0;
      c ^= hy << 10;
      h = (h - hy - c) | 0;
      h ^= c >>> 15;
      draw = Math.trunc(STRAW2_LN[h & 0xffff] / weight);
    }
    if (i === 0 || draw > highDraw) {
      high = i;
      highDraw = draw;
    }
  }
  return bucket.items[high];
}

/** straw (v1): hash times the precomputed straw length; the first largest wins. */
function strawChoose(bucket: CompiledBucket, x: number, r: number): number {
  let high = 0;
  let highDraw = 0;
  for (let i = 0; i < bucket.size; i++) {
    const draw = (hash3(x, bucket.items[i], r) & 0xffff) * bucket.straws[i];
    if (i === 0 || draw > highDraw) {
      high = i;
      highDraw = draw;
    }
  }
  return bucket.items[high];
}

/** list: walk from the tail; item i wins with probability w_i / (w_0 + ... + w_i). */
function listChoose(bucket: CompiledBucket, x: number, r: number): number {
  for (let i = bucket.size - 1; i >= 0; i--) {
    const draw = Math.floor(((hash4(x, bucket.items[i], r, bucket.id) & 0xffff) * bucket.sums[i]) / 65536);
    if (draw < bucket.weights[i]) return bucket.items[i];
  }
  return bucket.items[0];
}

/** tree: descend a binary tree of node weights from the root to a leaf. */
function treeChoose(bucket: CompiledBucket, x: number, r: number): number {
  const nodes = bucket.nodes;
  let node = nodes.length >>> 1;
  while ((node & 1) === 0) {
    const half = 1 << (treeNodeHeight(node) - 1);
    const hash = hash4(x, node, r, bucket.id);
    // (hash * weight) >> 32 without 64-bit integers: split the hash into 16-bit halves.
    const weight = nodes[node];
    const t = Math.floor(((hash >>> 16) * weight + Math.floor(((hash & 0xffff) * weight) / 65536)) / 65536);
    const left = node - half;
    node = t < nodes[left] ? left : node + half;
  }
  return bucket.items[node >>> 1];
}

/**
 * Permutation choose (uniform buckets, and the legacy local fallback): the r-th element of a
 * pseudo-random permutation of the items seeded by (x, bucket). Built from scratch each call;
 * Ceph caches it per call, which yields the same values.
 */
export function permutationChoose(
  bucket: CompiledBucket,
  x: number,
  r: number,
  permutation: Int32Array,
): number {
  const size = bucket.size;
  const perm = permutation;
  const pr = (r >>> 0) % size;
  for (let i = 0; i < size; i++) perm[i] = i;
  for (let p = 0; p <= pr; p++) {
    if (p < size - 1) {
      const i = (hash3(x, bucket.id, p) >>> 0) % (size - p);
      if (i !== 0) {
        const swap = perm[p + i];
        perm[p + i] = perm[p];
        perm[p] = swap;
      }
    }
  }
  return bucket.items[perm[pr]];
}
