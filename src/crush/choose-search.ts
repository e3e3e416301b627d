// The two searches behind a choose or chooseleaf step (crush.md §5), step for step as Ceph 16's
// mapper: firstn (depth-first, retrying a position until it finds a distinct item that is in) and
// indep (positional: each slot keeps its place across rounds, so a failure leaves a hole).
//
// The Mapper sets the per-mapping inputs with start() so the recursive searches need fewer
// parameters; the scratch permutation is shared, so one search must not run re-entrantly.

import { bucketChoose, permutationChoose } from "./bucket-choose.ts";
import type { CompiledBucket } from "./compiled-bucket.ts";
import { hash2 } from "./hash.ts";
import type { MappingTracer } from "./trace.ts";
import { BUCKET_ALG_CODE, ITEM_NONE, ITEM_UNDEF, type Tunables } from "./types.ts";

const ALG_UNIFORM = BUCKET_ALG_CODE.uniform;

const EMPTY_U32 = new Uint32Array(0);

export class ChooseSearch {
  private readonly buckets: readonly (CompiledBucket | undefined)[];
  private readonly tunables: Tunables;
  private readonly maxDevices: number;
  private readonly maxBuckets: number;
  private readonly permutation: Int32Array;
  // Per-mapping inputs, set by start().
  private x = 0;
  private reweights: ArrayLike<number> = EMPTY_U32;
  private tracer: MappingTracer | null = null;
  /** crushtool's --show-choose-tries histogram: how many tries each placed position took. */
  private chooseTries: Uint32Array | null = null;

  constructor(buckets: readonly (CompiledBucket | undefined)[], maxDevices: number, tunables: Tunables) {
    this.buckets = buckets;
    this.tunables = tunables;
    this.maxDevices = maxDevices;
    this.maxBuckets = buckets.length;
    let largest = 1;
    for (const bucket of buckets) if (bucket !== undefined && bucket.size > largest) largest = bucket.size;
    this.permutation = new Int32Array(largest);
  }

  /** Sets the inputs of one mapping (x already `>>> 0`); finish() drops the tracer. */
  start(x: number, reweights: ArrayLike<number>, tracer: MappingTracer | null): void {
    this.x = x;
    this.reweights = reweights;
    this.tracer = tracer;
  }

  finish(): void {
    this.tracer = null;
  }

  /** Starts (or restarts) counting tries per placed position; see chooseTriesHistogram(). */
  startChooseTriesProfile(): void {
    this.chooseTries = new Uint32Array(this.tunables.chooseTotalTries + 1);
  }

  /** Counts of positions placed after 0, 1, ... failed tries (length choose_total_tries). */
  chooseTriesHistogram(): number[] {
    return this.chooseTries === null
      ? []
      : Array.from(this.chooseTries.subarray(0, this.tunables.chooseTotalTries));
  }

  private countTries(failures: number): void {
    if (this.chooseTries !== null && failures <= this.tunables.chooseTotalTries) this.chooseTries[failures]++;
  }

  /** Whether `take` may start from item: a device below max_devices or an existing bucket. */
  isValidItem(item: number): boolean {
    if (item >= 0) return item < this.maxDevices;
    return -1 - item < this.maxBuckets && this.buckets[-1 - item] !== undefined;
  }

  /** The compiled bucket of a (negative) item id; undefined for devices, holes and ITEM_NONE. */
  bucketOf(item: number): CompiledBucket | undefined {
    const slot = -1 - item;
    return slot >= 0 && slot < this.maxBuckets ? this.buckets[slot] : undefined;
  }

  /**
   * Depth-first search for `numrep` distinct items of `type` under `bucket`, writing to
   * out[outBase + outpos...]. Returns the new outpos. Collisions are checked only against this
   * call's outputs. With `toLeaf`, a device under each chosen item goes to leaves[outBase + pos].
   */
  chooseFirstn(
    bucket: CompiledBucket,
    numrep: number,
    type: number,
    out: Int32Array,
    outBase: number,
    outpos: number,
    outSize: number,
    tries: number,
    recurseTries: number,
    localRetries: number,
    localFallbackRetries: number,
    toLeaf: boolean,
    varyR: number,
    stable: number,
    leaves: Int32Array | null,
    parentR: number,
  ): number {
    const tracer = this.tracer;
    let count = outSize;
    for (let rep = stable ? 0 : outpos; rep < numrep && count > 0; rep++) {
      let ftotal = 0;
      let skipRep = false;
      let item = 0;
      let retryDescent: boolean;
      do {
        retryDescent = false;
        let current = bucket;
        let flocal = 0;
        let retryBucket: boolean;
        do {
          retryBucket = false;
          let collide = false;
          let reject = false;
          const r = rep + parentR + ftotal;
          if (current.size === 0) {
            reject = true;
            if (tracer !== null) tracer.reject(current.id, -1, "empty bucket", ftotal, flocal);
          } else {
            const fallback =
              localFallbackRetries > 0 && flocal >= current.size >> 1 && flocal > localFallbackRetries;
            item = fallback
              ? permutationChoose(current, this.x, r, this.permutation)
              : bucketChoose(current, this.x, r, outpos, this.permutation);
            if (tracer !== null) tracer.draw(current.id, r, item, fallback);
            if (item >= this.maxDevices) {
              if (tracer !== null) tracer.giveUp(rep, `item ${item} is past max_devices`);
              skipRep = true;
              break;
            }
            const next = item < 0 ? this.bucketOf(item) : undefined;
            const itemType = item < 0 ? (next === undefined ? -1 : next.type) : 0;
            if (itemType !== type) {
              if (next === undefined) {
                if (tracer !== null) tracer.giveUp(rep, `item ${item} is not a bucket of the wanted type`);
                skipRep = true;
                break;
              }
              // Descending costs no try.
              current = next;
              retryBucket = true;
              continue;
            }
            for (let i = 0; i < outpos; i++) {
              if (out[outBase + i] === item) {
                collide = true;
                break;
              }
            }
            if (!collide && toLeaf && leaves !== null) {
              if (next !== undefined) {
                const subR = varyR ? r >> (varyR - 1) : 0;
                const filled = this.chooseFirstn(
                  next,
                  stable ? 1 : outpos + 1,
                  0,
                  leaves,
                  outBase,
                  outpos,
                  count,
                  recurseTries,
                  0,
                  localRetries,
                  localFallbackRetries,
                  false,
                  varyR,
                  stable,
                  null,
                  subR,
                );
                if (filled <= outpos) reject = true;
              } else {
                leaves[outBase + outpos] = item;
              }
            }
            if (!reject && !collide && itemType === 0) reject = this.isOut(item);
            if (tracer !== null && (reject || collide)) {
              tracer.reject(
                current.id,
                item,
                collide ? "collision" : itemType === 0 ? "out" : "no leaf",
                ftotal,
                flocal,
              );
            }
          }
          if (reject || collide) {
            ftotal++;
            flocal++;
            if (collide && flocal <= localRetries) retryBucket = true;
            else if (localFallbackRetries > 0 && flocal <= current.size + localFallbackRetries)
              retryBucket = true;
            else if (ftotal < tries) retryDescent = true;
            else {
              if (tracer !== null) tracer.giveUp(rep, `tries exhausted (${ftotal})`);
              skipRep = true;
            }
          }
        } while (retryBucket);
      } while (retryDescent);
      if (skipRep) continue;
      out[outBase + outpos] = item;
      if (tracer !== null) tracer.chosen(outpos, item);
      outpos++;
      count--;
      if (this.chooseTries !== null) this.countTries(ftotal);
    }
    return outpos;
  }

  /**
   * Breadth-first, positional search: fills `left` slots at out[outBase + outpos...], each
   * slot keeping its position across rounds; unfilled slots end as ITEM_NONE.
   */
  chooseIndep(
    bucket: CompiledBucket,
    left: number,
    numrep: number,
    type: number,
    out: Int32Array,
    outBase: number,
    outpos: number,
    tries: number,
    recurseTries: number,
    toLeaf: boolean,
    leaves: Int32Array | null,
    parentR: number,
  ): void {
    const tracer = this.tracer;
    const endpos = outpos + left;
    for (let rep = outpos; rep < endpos; rep++) {
      out[outBase + rep] = ITEM_UNDEF;
      if (leaves !== null) leaves[outBase + rep] = ITEM_UNDEF;
    }
    let ftotal = 0;
    for (; left > 0 && ftotal < tries; ftotal++) {
      for (let rep = outpos; rep < endpos; rep++) {
        if (out[outBase + rep] !== ITEM_UNDEF) continue;
        let current = bucket;
        for (;;) {
          let r = rep + parentR;
          // Uniform buckets whose size is a multiple of numrep would cycle with stride numrep.
          if (current.alg === ALG_UNIFORM && current.size % numrep === 0) r += (numrep + 1) * ftotal;
          else r += numrep * ftotal;
          if (current.size === 0) {
            if (tracer !== null) tracer.reject(current.id, -1, "empty bucket", ftotal, 0);
            break;
          }
          const item = bucketChoose(current, this.x, r, outpos, this.permutation);
          if (tracer !== null) tracer.draw(current.id, r, item, false);
          if (item >= this.maxDevices) {
            this.markNone(out, leaves, outBase + rep);
            left--;
            break;
          }
          const next = item < 0 ? this.bucketOf(item) : undefined;
          const itemType = item < 0 ? (next === undefined ? -1 : next.type) : 0;
          if (itemType !== type) {
            if (next === undefined) {
              this.markNone(out, leaves, outBase + rep);
              left--;
              break;
            }
            current = next;
            continue;
          }
          let collide = false;
          for (let i = outpos; i < endpos; i++) {
            if (out[outBase + i] === item) {
              collide = true;
              break;
            }
          }
          if (collide) {
            if (tracer !== null) tracer.reject(current.id, item, "collision", ftotal, 0);
            break;
          }
          if (toLeaf && leaves !== null) {
            if (next !== undefined) {
              this.chooseIndep(next, 1, numrep, 0, leaves, outBase, rep, recurseTries, 0, false, null, r);
              if (leaves[outBase + rep] === ITEM_NONE) {
                if (tracer !== null) tracer.reject(current.id, item, "no leaf", ftotal, 0);
                break;
              }
            } else {
              leaves[outBase + rep] = item;
            }
          }
          if (itemType === 0 && this.isOut(item)) {
            if (tracer !== null) tracer.reject(current.id, item, "out", ftotal, 0);
            break;
          }
          out[outBase + rep] = item;
          if (tracer !== null) tracer.chosen(rep, item);
          left--;
          break;
        }
      }
    }
    if (this.chooseTries !== null) this.countTries(ftotal);
    for (let rep = outpos; rep < endpos; rep++) {
      if (out[outBase + rep] === ITEM_UNDEF) out[outBase + rep] = ITEM_NONE;
      if (leaves !== null && leaves[outBase + rep] === ITEM_UNDEF) leaves[outBase + rep] = ITEM_NONE;
    }
  }

  private markNone(out: Int32Array, leaves: Int32Array | null, index: number): void {
    out[index] = ITEM_NONE;
    if (leaves !== null) leaves[index] = ITEM_NONE;
  }

  /** is_out against the reweight vector; only devices are tested. */
  private isOut(device: number): boolean {
    const reweights = this.reweights;
    if (device >= reweights.length) return true;
    const weight = reweights[device];
    if (weight >= 0x10000) return false;
    if (weight === 0) return true;
    return (hash2(this.x, device) & 0xffff) >= weight;
  }
}
