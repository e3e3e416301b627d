// `crushtool --test`, output for output: the loops (rules, then num_rep, then x), mappings,
// bad mappings, statistics, utilization and the choose-tries histogram, in crushtool 16.2's
// exact text. `dsat crush test` prints what this returns.
import { hash2 } from "./hash.ts";
import { defaultChooseArgs, defaultReweights, Mapper } from "./mapper.ts";
import { type CrushMap, ITEM_NONE, RuleOp } from "./types.ts";

export interface CrushTestOptions {
  /** Only this rule id (default: every rule). */
  rule?: number;
  /** Only this result size (default: each rule's min_size..max_size). */
  numRep?: number;
  /** Used only when both are given, as crushtool does; default 0..1023. */
  minX?: number;
  maxX?: number;
  /** `--weight DEV W`: reweight (in/out) of a device, W in 0..1. */
  weights?: ReadonlyArray<readonly [number, number]>;
  /** `--pool-id P`: x is replaced by hash2(x, P) before mapping. */
  poolId?: number;
  showMappings?: boolean;
  showBadMappings?: boolean;
  showStatistics?: boolean;
  showUtilization?: boolean;
  showUtilizationAll?: boolean;
  showChooseTries?: boolean;
}

export interface CrushTestOutput {
  stdout: string;
  stderr: string;
}

export class CrushTestError extends Error {
  override name = "CrushTestError";
}

/** The reweight vector crushtool --test uses: present devices in, others out, then --weight. */
export function testReweights(map: CrushMap, weights: CrushTestOptions["weights"] = []): Uint32Array {
  const reweights = defaultReweights(map);
  for (const [device, weight] of weights) {
    if (!Number.isInteger(device) || device < 0 || device >= reweights.length) {
      throw new CrushTestError(
        `--weight: device ${device} is not in the map (max_devices ${reweights.length})`,
      );
    }
    reweights[device] = Math.min(Math.max(Math.trunc(weight * 0x10000), 0), 0x10000);
  }
  return reweights;
}

export function runCrushTest(map: CrushMap, options: CrushTestOptions): CrushTestOutput {
  const out: string[] = [];
  const err: string[] = [];
  const mapper = new Mapper(map, defaultChooseArgs(map));
  const reweights = testReweights(map, options.weights);
  if (options.showChooseTries) mapper.startChooseTriesProfile();
  const useRange = options.minX !== undefined && options.maxX !== undefined;
  const minX = useRange ? (options.minX as number) : 0;
  const maxX = useRange ? (options.maxX as number) : 1023;
  const statistics = Boolean(options.showStatistics || options.showUtilization || options.showUtilizationAll);
  if (options.showUtilizationAll)
    err.push(`devices weights (hex): [${Array.from(reweights, (w) => w.toString(16)).join(",")}]`);
  const firstRule = options.rule ?? 0;
  const lastRule = options.rule ?? map.rules.length - 1;
  let result = new Int32Array(16);
  for (let ruleId = firstRule; ruleId < map.rules.length && ruleId <= lastRule; ruleId++) {
    const rule = map.rules[ruleId];
    const name = map.ruleNames.get(ruleId) ?? "";
    if (rule === undefined) {
      if (statistics) out.push(`rule ${ruleId} dne`);
      continue;
    }
    const minRep = options.numRep ?? rule.minSize;
    const maxRep = options.numRep ?? rule.maxSize;
    if (statistics) out.push(`rule ${ruleId} (${name}), x = ${minX}..${maxX}, numrep = ${minRep}..${maxRep}`);
    for (let numRep = minRep; numRep <= maxRep; numRep++) {
      let totalWeight = 0;
      for (const w of reweights) totalWeight += w;
      if (totalWeight === 0) continue;
      if (result.length < numRep) result = new Int32Array(numRep);
      const stored = new Array<number>(reweights.length).fill(0);
      const sizes = new Map<number, number>();
      for (let x = minX; x <= maxX; x++) {
        const realX = options.poolId === undefined ? x : hash2(x, options.poolId);
        const length = mapper.mapInto(ruleId, realX, numRep, reweights, result);
        const items = result.subarray(0, length);
        if (options.showMappings) out.push(`CRUSH rule ${ruleId} x ${x} [${items.join(",")}]`);
        let holes = false;
        for (const item of items) {
          if (item === ITEM_NONE) holes = true;
          else if (item >= 0 && item < stored.length) stored[item]++;
        }
        sizes.set(length, (sizes.get(length) ?? 0) + 1);
        if (options.showBadMappings && (length !== numRep || holes)) {
          out.push(`bad mapping rule ${ruleId} x ${x} num_rep ${numRep} result [${items.join(",")}]`);
        }
      }
      if (!statistics) continue;
      const objects = maxX - minX + 1;
      for (const [size, count] of [...sizes].sort((a, b) => a[0] - b[0])) {
        out.push(`rule ${ruleId} (${name}) num_rep ${numRep} result size == ${size}:\t${count}/${objects}`);
      }
      if (!options.showUtilization && !options.showUtilizationAll) continue;
      const expectedObjects = Math.fround(Math.min(numRep, maximumAffectedByRule(map, ruleId)) * objects);
      for (let device = 0; device < reweights.length; device++) {
        const share = Math.fround(Math.fround(reweights[device]) / Math.fround(totalWeight));
        const expected = Math.fround(share * expectedObjects);
        if (options.showUtilization ? expected > 0 && stored[device] > 0 : true) {
          out.push(
            `  device ${device}:\t\t stored : ${stored[device]}\t expected : ${formatFloat(expected)}`,
          );
        }
      }
    }
  }
  if (options.showChooseTries) {
    mapper.chooseTriesHistogram().forEach((count, tries) => {
      out.push(`${String(tries).padStart(2)}: ${String(count).padStart(9)}`);
    });
  }
  return { stdout: joinLines(out), stderr: joinLines(err) };
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * crushtool's cap on how many results a rule can give, used for "expected": the smallest count
 * of buckets of any type a choose step names (devices never count), capped by the step's N.
 * Like crushtool, set_* steps are treated as choose steps of type 0.
 */
export function maximumAffectedByRule(map: CrushMap, ruleId: number): number {
  const rule = map.rules[ruleId];
  if (rule === undefined) return 0;
  const affectedTypes: number[] = [];
  const replicationsByType = new Map<number, number>();
  for (const step of rule.steps) {
    if (step.op >= RuleOp.chooseFirstn && step.op !== RuleOp.emit) {
      affectedTypes.push(step.arg2);
      replicationsByType.set(step.arg2, step.arg1);
    }
  }
  const countOfType = new Map<number, number>();
  for (const type of affectedTypes) {
    for (const id of map.itemNames.keys()) {
      if (id >= 0) continue;
      const bucket = map.buckets[-1 - id];
      if (bucket !== undefined && bucket.type === type)
        countOfType.set(type, (countOfType.get(type) ?? 0) + 1);
    }
  }
  for (const type of affectedTypes) {
    const wanted = replicationsByType.get(type) ?? 0;
    if (wanted > 0 && wanted < (countOfType.get(type) ?? 0)) countOfType.set(type, wanted);
  }
  let maximum = Math.max(map.buckets.length, map.maxDevices);
  for (const type of affectedTypes) {
    const count = countOfType.get(type) ?? 0;
    if (count > 0 && count < maximum) maximum = count;
  }
  return maximum;
}

/** A float as C++ streams print it by default (%g with 6 significant digits). */
export function formatFloat(value: number): string {
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : Number.isNaN(value) ? "nan" : "-inf";
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(6)))));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, power] = value.toExponential(5).split("e");
    const trimmed = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    const sign = power.startsWith("-") ? "-" : "+";
    return `${trimmed}e${sign}${power.replace(/^[+-]/, "").padStart(2, "0")}`;
  }
  const fixed = value.toFixed(Math.max(0, 5 - exponent));
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}
