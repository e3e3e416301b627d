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

import { ChooseSearch } from "./choose-search.ts";
import { applyChooseArgs, compileBuckets } from "./compiled-bucket.ts";
import type { MappingTracer } from "./trace.ts";
import {
  type ChooseArgSet,
  type CrushMap,
  type Rule,
  RuleOp,
  type RuleStep,
  type Tunables,
} from "./types.ts";

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
  private readonly tunables: Tunables;
  private readonly search: ChooseSearch;
  // Working vectors of do_rule (w, o, c in Ceph's terms), grown to resultMax.
  private vectorA = new Int32Array(16);
  private vectorB = new Int32Array(16);
  private vectorC = new Int32Array(16);

  /**
   * @param chooseArgs balancer weight sets to apply (straw2 buckets only); pass
   *   `defaultChooseArgs(map)` to do what crushtool --test does.
   */
  constructor(map: CrushMap, chooseArgs?: ChooseArgSet) {
    this.crushMap = map;
    this.tunables = { ...map.tunables };
    const buckets = compileBuckets(map.buckets);
    if (chooseArgs !== undefined) applyChooseArgs(buckets, chooseArgs);
    this.search = new ChooseSearch(buckets, map.maxDevices, this.tunables);
  }

  /** Starts (or restarts) counting tries per placed position; see chooseTriesHistogram(). */
  startChooseTriesProfile(): void {
    this.search.startChooseTriesProfile();
  }

  /** Counts of positions placed after 0, 1, ... failed tries (length choose_total_tries). */
  chooseTriesHistogram(): number[] {
    return this.search.chooseTriesHistogram();
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
    const activeTracer = tracer ?? null;
    this.search.start(x >>> 0, reweights, activeTracer);
    try {
      return this.doRule(rule, resultMax, result, activeTracer);
    } finally {
      this.search.finish();
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

  private doRule(rule: Rule, resultMax: number, result: Int32Array, tracer: MappingTracer | null): number {
    const settings = this.settingsFor();
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
          if (this.search.isValidItem(step.arg1)) {
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
          const outputSize = this.chooseStep(step, settings, working, workingSize, output, leaves, resultMax);
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

  /** One choose or chooseleaf step over the working vector; returns how many items it wrote to `output`. */
  private chooseStep(
    step: RuleStep,
    settings: RuleSettings,
    working: Int32Array,
    workingSize: number,
    output: Int32Array,
    leaves: Int32Array,
    resultMax: number,
  ): number {
    const firstn = step.op === RuleOp.chooseFirstn || step.op === RuleOp.chooseleafFirstn;
    const toLeaf = step.op === RuleOp.chooseleafFirstn || step.op === RuleOp.chooseleafIndep;
    let outputSize = 0;
    for (let i = 0; i < workingSize; i++) {
      let numrep = step.arg1;
      if (numrep <= 0) {
        numrep += resultMax;
        if (numrep <= 0) continue;
      }
      const bucket = this.search.bucketOf(working[i]);
      if (bucket === undefined) continue; // e.g. ITEM_NONE from an indep step
      if (firstn) {
        const recurseTries =
          settings.leafTries > 0
            ? settings.leafTries
            : this.tunables.chooseleafDescendOnce
              ? 1
              : settings.tries;
        outputSize += this.search.chooseFirstn(
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
        this.search.chooseIndep(
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
    return outputSize;
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
