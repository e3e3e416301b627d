// The CRUSH rule interpreter (crush.md §4-5), step for step as Ceph 16's mapper behaves.
//
//   const mapper = new Mapper(map);
//   const devices = mapper.map(ruleId, x, 3, reweights);   // e.g. [4, 17, 9]
//
// `map()` returns up to resultMax device ids. firstn results may be shorter than asked (retries
// ran out); indep results always have resultMax positions, with ITEM_NONE (2147483647) holes.
// `reweights` is the in/out vector (16.16, 0x10000 = fully in), not the CRUSH weights; a device
// at or past its length is out.
//
// The map is compiled once into monomorphic bucket records and reused; scratch vectors belong
// to the Mapper, so one Mapper must not be used re-entrantly (it is synchronous, so that only
// matters for tracers that call back into it).

import { treeNodeHeight } from "./builder.ts";
import { HASH_SEED, HASH_X0, HASH_Y0, hash2, hash3, hash4 } from "./hash.ts";
import { STRAW2_LN } from "./ln.ts";
import type { MappingTracer } from "./trace.ts";
import {
  BUCKET_ALG_CODE,
  type Bucket,
  type ChooseArg,
  type ChooseArgSet,
  type CrushMap,
  ITEM_NONE,
  ITEM_UNDEF,
  type Rule,
  RuleOp,
  type Tunables,
} from "./types.ts";

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

const EMPTY_I32 = new Int32Array(0);
const EMPTY_U32 = new Uint32Array(0);

/** A bucket flattened so every record has the same shape (keeps the choose loop monomorphic). */
class CompiledBucket {
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

/** Tunables as the interpreter starts each rule with them. */
interface RuleSettings {
  tries: number;
  leafTries: number;
  localRetries: number;
  localFallbackRetries: number;
  varyR: number;
  stable: number;
}

export class Mapper {
  readonly crushMap: CrushMap;
  private readonly buckets: (CompiledBucket | undefined)[];
  private readonly tunables: Tunables;
  private readonly maxDevices: number;
  private readonly maxBuckets: number;
  private permutation = new Int32Array(16);
  // Working vectors of do_rule (w, o, c in Ceph's terms), grown to resultMax.
  private vectorA = new Int32Array(16);
  private vectorB = new Int32Array(16);
  private vectorC = new Int32Array(16);
  // Per-call state, set by mapInto() so the search functions need fewer parameters.
  private x = 0;
  private reweights: ArrayLike<number> = EMPTY_U32;
  private tracer: MappingTracer | null = null;
  /** crushtool's --show-choose-tries histogram: how many tries each placed position took. */
  private chooseTries: Uint32Array | null = null;

  /**
   * @param chooseArgs balancer weight sets to apply (straw2 buckets only); pass
   *   `defaultChooseArgs(map)` to do what crushtool --test does.
   */
  constructor(map: CrushMap, chooseArgs?: ChooseArgSet) {
    this.crushMap = map;
    this.tunables = { ...map.tunables };
    this.maxDevices = map.maxDevices;
    this.maxBuckets = map.buckets.length;
    this.buckets = map.buckets.map((bucket) =>
      bucket === undefined ? undefined : new CompiledBucket(bucket),
    );
    let largest = 1;
    for (const bucket of this.buckets)
      if (bucket !== undefined && bucket.size > largest) largest = bucket.size;
    this.permutation = new Int32Array(largest);
    if (chooseArgs !== undefined) this.applyChooseArgs(chooseArgs);
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

  private applyChooseArgs(chooseArgs: ChooseArgSet): void {
    for (const [bucketId, arg] of chooseArgs) {
      const bucket = this.buckets[-1 - bucketId];
      if (bucket === undefined || bucket.alg !== ALG_STRAW2) continue;
      applyChooseArg(bucket, arg);
    }
  }

  /** Maps x with rule `ruleId`; returns the chosen items (see the header for holes). */
  map(
    ruleId: number,
    x: number,
    resultMax: number,
    reweights: ArrayLike<number>,
    tracer?: MappingTracer,
  ): number[] {
    const result = new Int32Array(Math.max(resultMax, 0));
    const length = this.mapInto(ruleId, x, resultMax, reweights, result, tracer);
    return Array.from(result.subarray(0, length));
  }

  /** Like map(), writing into `result` (length >= resultMax); returns the result length. */
  mapInto(
    ruleId: number,
    x: number,
    resultMax: number,
    reweights: ArrayLike<number>,
    result: Int32Array,
    tracer?: MappingTracer,
  ): number {
    const rule = this.crushMap.rules[ruleId];
    if (rule === undefined || resultMax <= 0) return 0;
    if (this.vectorA.length < resultMax) this.growVectors(resultMax);
    this.x = x >>> 0;
    this.reweights = reweights;
    this.tracer = tracer ?? null;
    try {
      return this.doRule(rule, resultMax, result);
    } finally {
      this.tracer = null;
    }
  }

  private growVectors(size: number): void {
    this.vectorA = new Int32Array(size);
    this.vectorB = new Int32Array(size);
    this.vectorC = new Int32Array(size);
  }

  private settingsFor(): RuleSettings {
    const t = this.tunables;
    return {
      // The tunable counts retries; the interpreter counts tries (Ceph's historical +1).
      tries: t.chooseTotalTries + 1,
      leafTries: 0,
      localRetries: t.chooseLocalTries,
      localFallbackRetries: t.chooseLocalFallbackTries,
      varyR: t.chooseleafVaryR,
      stable: t.chooseleafStable,
    };
  }

  private doRule(rule: Rule, resultMax: number, result: Int32Array): number {
    const settings = this.settingsFor();
    const tracer = this.tracer;
    let working = this.vectorA;
    let output = this.vectorB;
    const leaves = this.vectorC;
    let workingSize = 0;
    let resultLength = 0;
    for (let stepIndex = 0; stepIndex < rule.steps.length; stepIndex++) {
      const step = rule.steps[stepIndex];
      if (tracer !== null) tracer.step(stepIndex, step, Array.from(working.subarray(0, workingSize)));
      switch (step.op) {
        case RuleOp.take:
          if (this.isValidItem(step.arg1)) {
            working[0] = step.arg1;
            workingSize = 1;
          }
          break;
        case RuleOp.setChooseTries:
          if (step.arg1 > 0) settings.tries = step.arg1;
          break;
        case RuleOp.setChooseleafTries:
          if (step.arg1 > 0) settings.leafTries = step.arg1;
          break;
        case RuleOp.setChooseLocalTries:
          if (step.arg1 >= 0) settings.localRetries = step.arg1;
          break;
        case RuleOp.setChooseLocalFallbackTries:
          if (step.arg1 >= 0) settings.localFallbackRetries = step.arg1;
          break;
        case RuleOp.setChooseleafVaryR:
          if (step.arg1 >= 0) settings.varyR = step.arg1;
          break;
        case RuleOp.setChooseleafStable:
          if (step.arg1 >= 0) settings.stable = step.arg1;
          break;
        case RuleOp.chooseFirstn:
        case RuleOp.chooseleafFirstn:
        case RuleOp.chooseIndep:
        case RuleOp.chooseleafIndep: {
          if (workingSize === 0) break;
          const firstn = step.op === RuleOp.chooseFirstn || step.op === RuleOp.chooseleafFirstn;
          const toLeaf = step.op === RuleOp.chooseleafFirstn || step.op === RuleOp.chooseleafIndep;
          let outputSize = 0;
          for (let i = 0; i < workingSize; i++) {
            let numrep = step.arg1;
            if (numrep <= 0) {
              numrep += resultMax;
              if (numrep <= 0) continue;
            }
            const bucket = this.bucketOf(working[i]);
            if (bucket === undefined) continue; // e.g. ITEM_NONE from an indep step
            if (firstn) {
              const recurseTries =
                settings.leafTries > 0
                  ? settings.leafTries
                  : this.tunables.chooseleafDescendOnce
                    ? 1
                    : settings.tries;
              outputSize += this.chooseFirstn(
                bucket,
                numrep,
                step.arg2,
                output,
                outputSize,
                0,
                resultMax - outputSize,
                settings.tries,
                recurseTries,
                settings.localRetries,
                settings.localFallbackRetries,
                toLeaf,
                settings.varyR,
                settings.stable,
                leaves,
                0,
              );
            } else {
              const slots = Math.min(numrep, resultMax - outputSize);
              this.chooseIndep(
                bucket,
                slots,
                numrep,
                step.arg2,
                output,
                outputSize,
                0,
                settings.tries,
                settings.leafTries > 0 ? settings.leafTries : 1,
                toLeaf,
                leaves,
                0,
              );
              if (slots > 0) outputSize += slots;
            }
          }
          if (toLeaf) output.set(leaves.subarray(0, outputSize));
          const swap = output;
          output = working;
          working = swap;
          workingSize = outputSize;
          break;
        }
        case RuleOp.emit:
          for (let i = 0; i < workingSize && resultLength < resultMax; i++)
            result[resultLength++] = working[i];
          if (tracer !== null) tracer.emit(Array.from(result.subarray(0, resultLength)));
          workingSize = 0;
          break;
        default:
          break;
      }
    }
    return resultLength;
  }

  private isValidItem(item: number): boolean {
    if (item >= 0) return item < this.maxDevices;
    return -1 - item < this.maxBuckets && this.buckets[-1 - item] !== undefined;
  }

  private bucketOf(item: number): CompiledBucket | undefined {
    const slot = -1 - item;
    return slot >= 0 && slot < this.maxBuckets ? this.buckets[slot] : undefined;
  }

  /**
   * Depth-first search for `numrep` distinct items of `type` under `bucket`, writing to
   * out[outBase + outpos...]. Returns the new outpos. Collisions are checked only against this
   * call's outputs. With `toLeaf`, a device under each chosen item goes to leaves[outBase + pos].
   */
  private chooseFirstn(
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
            item = fallback ? this.permutationChoose(current, r) : this.bucketChoose(current, r, outpos);
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
  private chooseIndep(
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
          const item = this.bucketChoose(current, r, outpos);
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

  /** The only switch on the bucket algorithm. */
  private bucketChoose(bucket: CompiledBucket, r: number, position: number): number {
    switch (bucket.alg) {
      case ALG_STRAW2:
        return this.straw2Choose(bucket, r, position);
      case ALG_STRAW:
        return this.strawChoose(bucket, r);
      case ALG_LIST:
        return this.listChoose(bucket, r);
      case ALG_TREE:
        return this.treeChoose(bucket, r);
      case ALG_UNIFORM:
        return this.permutationChoose(bucket, r);
      default:
        return bucket.items[0];
    }
  }

  /** straw2: every item draws ln(u)/w; the first largest draw wins. */
  private straw2Choose(bucket: CompiledBucket, r: number, position: number): number {
    const x = this.x;
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
  private strawChoose(bucket: CompiledBucket, r: number): number {
    const x = this.x;
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
  private listChoose(bucket: CompiledBucket, r: number): number {
    for (let i = bucket.size - 1; i >= 0; i--) {
      const draw = Math.floor(
        ((hash4(this.x, bucket.items[i], r, bucket.id) & 0xffff) * bucket.sums[i]) / 65536,
      );
      if (draw < bucket.weights[i]) return bucket.items[i];
    }
    return bucket.items[0];
  }

  /** tree: descend a binary tree of node weights from the root to a leaf. */
  private treeChoose(bucket: CompiledBucket, r: number): number {
    const nodes = bucket.nodes;
    let node = nodes.length >>> 1;
    while ((node & 1) === 0) {
      const half = 1 << (treeNodeHeight(node) - 1);
      const hash = hash4(this.x, node, r, bucket.id);
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
  private permutationChoose(bucket: CompiledBucket, r: number): number {
    const size = bucket.size;
    const perm = this.permutation;
    const pr = (r >>> 0) % size;
    for (let i = 0; i < size; i++) perm[i] = i;
    for (let p = 0; p <= pr; p++) {
      if (p < size - 1) {
        const i = (hash3(this.x, bucket.id, p) >>> 0) % (size - p);
        if (i !== 0) {
          const swap = perm[p + i];
          perm[p + i] = perm[p];
          perm[p] = swap;
        }
      }
    }
    return bucket.items[perm[pr]];
  }
}

function applyChooseArg(bucket: CompiledBucket, arg: ChooseArg): void {
  if (arg.ids !== undefined && arg.ids.length === bucket.size) bucket.hashIds = arg.ids;
  if (arg.weightSet !== undefined && arg.weightSet.length > 0) {
    bucket.weightSets = arg.weightSet.filter((weights) => weights.length === bucket.size);
  }
}

/** The choose_args crushtool --test applies: set 0 if present, else the default set (-1). */
export function defaultChooseArgs(map: CrushMap): ChooseArgSet | undefined {
  return map.chooseArgs?.get(0) ?? map.chooseArgs?.get(-1);
}

/**
 * The reweight vector crushtool --test starts from: 0x10000 for every device that appears in a
 * bucket, 0 for the others (declared but unplaced devices are out).
 */
export function defaultReweights(map: CrushMap): Uint32Array {
  const reweights = new Uint32Array(map.maxDevices);
  for (const bucket of map.buckets) {
    if (bucket === undefined) continue;
    for (const item of bucket.items) if (item >= 0 && item < reweights.length) reweights[item] = 0x10000;
  }
  return reweights;
}

export { EMPTY_I32 as NO_ITEMS };
