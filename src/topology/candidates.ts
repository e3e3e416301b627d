// The candidates a type's rule gives. `dsat topology check` (report.ts) and loadTopology (a rule that
// gives no candidate at all is a load error) both map keys x = 0..n-1 through sampleCandidates, on
// the TypePlacement the orchestrator itself places jobs with; whyNoCandidates explains an empty result.
import { type CrushMap, describeStep, type Rule, RuleOp } from "../crush/index.ts";
import type { TypePlacement } from "../orchestrator/index.ts";

export interface CandidateSample {
  samples: number;
  /** Fewest and most satellites a job got over the samples. */
  min: number;
  max: number;
  /** Satellite id -> how many samples had it as first candidate. */
  first: Map<string, number>;
}

/** Maps x = 0..samples-1; only satellites count as candidates (a rule may emit buckets). */
export function sampleCandidates(placement: TypePlacement, samples: number): CandidateSample {
  const first = new Map<string, number>();
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let x = 0; x < samples; x++) {
    // Only satellites: a bucket emitted by `choose ... type rack` is no candidate (TypePlacement).
    const candidates = placement.candidates(x);
    min = Math.min(min, candidates.length);
    max = Math.max(max, candidates.length);
    if (candidates.length > 0) first.set(candidates[0], (first.get(candidates[0]) ?? 0) + 1);
  }
  return { samples, min: samples === 0 ? 0 : min, max, first };
}

const CHOOSE_OPS: ReadonlySet<number> = new Set([
  RuleOp.chooseFirstn,
  RuleOp.chooseIndep,
  RuleOp.chooseleafFirstn,
  RuleOp.chooseleafIndep,
]);
const LEAF_OPS: ReadonlySet<number> = new Set([RuleOp.chooseleafFirstn, RuleOp.chooseleafIndep]);

/**
 * Why the map's rule 0 can give no satellite, found by walking its steps over the map's structure:
 * a choose that asks for no items, a choose of a type with no bucket under the taken ones, or a rule
 * that emits buckets instead of satellites. undefined when the structure does not say.
 */
export function whyNoCandidates(map: CrushMap, replicas: number): string | undefined {
  const rule = map.rules[0] as Rule;
  const typeName = (type: number) => map.typeNames.get(type) ?? String(type);
  const names = (items: readonly number[]) => {
    const unique = [...new Set(items.map((item) => map.itemNames.get(item) ?? String(item)))];
    return unique.length <= 6 ? unique.join(", ") : `${unique.slice(0, 6).join(", ")}, ...`;
  };
  const typeOf = (item: number) => (item >= 0 ? 0 : (map.buckets[-1 - item]?.type ?? -1));
  /** The nearest items of `type` below `item` (never `item` itself: CRUSH chooses among children). */
  const below = (item: number, type: number): number[] => {
    const found: number[] = [];
    const visit = (bucket: number) => {
      for (const child of map.buckets[-1 - bucket]?.items ?? []) {
        if (typeOf(child) === type) found.push(child);
        else if (child < 0) visit(child);
      }
    };
    if (item < 0) visit(item);
    return found;
  };
  let working: number[] = [];
  const emitted: number[] = [];
  for (const step of rule.steps) {
    if (step.op === RuleOp.take) {
      working = [step.arg1];
    } else if (CHOOSE_OPS.has(step.op)) {
      const words = `"${describeStep(step, map)}"`;
      const count = step.arg1 > 0 ? step.arg1 : replicas + step.arg1;
      if (count <= 0) return `${words} asks for ${count} items with ${replicas} replicas`;
      const chosen = working.flatMap((item) => below(item, step.arg2));
      if (chosen.length === 0) {
        const byType = new Map<number, number[]>();
        for (const item of working) byType.set(typeOf(item), [...(byType.get(typeOf(item)) ?? []), item]);
        const under = [...byType].map(([type, items]) => `${typeName(type)} ${names(items)}`).join("; ");
        return `${words} finds no ${typeName(step.arg2)} under ${under}`;
      }
      working =
        LEAF_OPS.has(step.op) && step.arg2 !== 0
          ? chosen.flatMap((item) => (item >= 0 ? [item] : below(item, 0)))
          : chosen;
    } else if (step.op === RuleOp.emit) {
      emitted.push(...working);
      working = [];
    }
  }
  if (emitted.length > 0 && emitted.every((item) => item < 0)) {
    const types = [...new Set(emitted.map((item) => typeName(typeOf(item))))].join(", ");
    return `it emits ${types} buckets (${names(emitted)}), not satellites: use chooseleaf (op "take" with a type) for a satellite in each, or end with a choose of type satellite`;
  }
  return undefined;
}
