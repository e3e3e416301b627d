// How placement changes between two maps (or two reweight vectors) over a range of inputs:
// what operators want to see before every topology change. Ceph has no such tool; python-crush's
// `crush compare` had the idea.

import { formatTable } from "../util/index.ts";
import { defaultChooseArgs, Mapper } from "./mapper.ts";
import { type CrushMap, ITEM_NONE, RuleOp } from "./types.ts";

export interface CompareOptions {
  ruleA: number;
  ruleB: number;
  numRep: number;
  minX: number;
  maxX: number;
  reweightsA: ArrayLike<number>;
  reweightsB: ArrayLike<number>;
}

export interface Movement {
  /** Device the data left, or ITEM_NONE when a position was filled that was empty before. */
  from: number;
  /** Device the data went to, or ITEM_NONE when a position became empty. */
  to: number;
  count: number;
}

export interface CompareResult {
  inputs: number;
  /** Inputs whose result differs at all (order included). */
  inputsChanged: number;
  /** Replicas placed before, and how many of them moved to another device. */
  replicas: number;
  replicasMoved: number;
  /** true when positions matter (indep rules): a replica moves when its position's device changes. */
  positional: boolean;
  movements: Movement[];
  /** Per device: replicas before and after. */
  before: Map<number, number>;
  after: Map<number, number>;
}

/** true when the rule's choose steps are indep (erasure-style: positions are shards). */
export function isPositionalRule(map: CrushMap, ruleId: number): boolean {
  const rule = map.rules[ruleId];
  return (
    rule?.steps.some((step) => step.op === RuleOp.chooseIndep || step.op === RuleOp.chooseleafIndep) ?? false
  );
}

export function compareMappings(mapA: CrushMap, mapB: CrushMap, options: CompareOptions): CompareResult {
  if (mapA.rules[options.ruleA] === undefined) throw new RangeError(`first map has no rule ${options.ruleA}`);
  if (mapB.rules[options.ruleB] === undefined)
    throw new RangeError(`second map has no rule ${options.ruleB}`);
  const mapperA = new Mapper(mapA, defaultChooseArgs(mapA));
  const mapperB = new Mapper(mapB, defaultChooseArgs(mapB));
  const positional = isPositionalRule(mapA, options.ruleA) || isPositionalRule(mapB, options.ruleB);
  const resultA = new Int32Array(options.numRep);
  const resultB = new Int32Array(options.numRep);
  const moves = new Map<string, Movement>();
  const before = new Map<number, number>();
  const after = new Map<number, number>();
  let inputsChanged = 0;
  let replicas = 0;
  let replicasMoved = 0;
  const record = (from: number, to: number) => {
    const key = `${from}>${to}`;
    const movement = moves.get(key);
    if (movement === undefined) moves.set(key, { from, to, count: 1 });
    else movement.count++;
  };
  for (let x = options.minX; x <= options.maxX; x++) {
    const lengthA = mapperA.mapInto(options.ruleA, x, options.numRep, options.reweightsA, resultA);
    const lengthB = mapperB.mapInto(options.ruleB, x, options.numRep, options.reweightsB, resultB);
    const a = Array.from(resultA.subarray(0, lengthA));
    const b = Array.from(resultB.subarray(0, lengthB));
    for (const item of a) if (item !== ITEM_NONE) before.set(item, (before.get(item) ?? 0) + 1);
    for (const item of b) if (item !== ITEM_NONE) after.set(item, (after.get(item) ?? 0) + 1);
    replicas += a.filter((item) => item !== ITEM_NONE).length;
    if (a.length !== b.length || a.some((item, index) => item !== b[index])) inputsChanged++;
    if (positional) {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i++) {
        const from = a[i] ?? ITEM_NONE;
        const to = b[i] ?? ITEM_NONE;
        if (from === to) continue;
        record(from, to);
        if (from !== ITEM_NONE) replicasMoved++;
      }
    } else {
      // Replicated rules: only membership matters; a device kept in another position moves nothing.
      const left = a.filter((item) => item !== ITEM_NONE && !b.includes(item));
      const arrived = b.filter((item) => item !== ITEM_NONE && !a.includes(item));
      const pairs = Math.max(left.length, arrived.length);
      for (let i = 0; i < pairs; i++) record(left[i] ?? ITEM_NONE, arrived[i] ?? ITEM_NONE);
      replicasMoved += left.length;
    }
  }
  const movements = [...moves.values()].sort((p, q) => q.count - p.count || p.from - q.from || p.to - q.to);
  return {
    inputs: options.maxX - options.minX + 1,
    inputsChanged,
    replicas,
    replicasMoved,
    positional,
    movements,
    before,
    after,
  };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? "0.00%" : `${((100 * part) / whole).toFixed(2)}%`;
}

/** A report for people: the summary, the moves (largest first) and the per-device change. */
export function formatComparison(result: CompareResult, names: (item: number) => string, limit = 50): string {
  const label = (item: number) => (item === ITEM_NONE ? "(none)" : names(item));
  const lines = [
    `inputs changed: ${result.inputsChanged}/${result.inputs} (${percent(result.inputsChanged, result.inputs)})`,
    `replicas moved: ${result.replicasMoved}/${result.replicas} (${percent(result.replicasMoved, result.replicas)})` +
      (result.positional ? " [positions compared: indep rule]" : " [sets compared: firstn rule]"),
  ];
  if (result.movements.length === 0) return `${lines.join("\n")}\nno data moves\n`;
  lines.push("", "moves (from -> to):");
  const shown = result.movements.slice(0, limit);
  lines.push(
    ...formatTable(
      [
        ["FROM", "TO", "REPLICAS"],
        ...shown.map((move) => [label(move.from), label(move.to), String(move.count)]),
      ],
      [false, false, true],
    ),
  );
  if (result.movements.length > shown.length)
    lines.push(`... ${result.movements.length - shown.length} more`);
  const devices = [...new Set([...result.before.keys(), ...result.after.keys()])].sort((a, b) => a - b);
  const changed = devices.filter(
    (device) => (result.before.get(device) ?? 0) !== (result.after.get(device) ?? 0),
  );
  if (changed.length > 0) {
    lines.push("", "per device:");
    lines.push(
      ...formatTable(
        [
          ["DEVICE", "BEFORE", "AFTER", "CHANGE"],
          ...changed.map((device) => {
            const was = result.before.get(device) ?? 0;
            const now = result.after.get(device) ?? 0;
            const delta = now - was;
            return [label(device), String(was), String(now), delta > 0 ? `+${delta}` : String(delta)];
          }),
        ],
        [false, true, true, true],
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}
