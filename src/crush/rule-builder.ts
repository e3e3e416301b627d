// crushha's rule vocabulary (seed 000; crush.md §9) on top of Ceph's rule steps.
//
//   rule().use("default").select("rack", 2).take(1, "host").emit()
//
// is Ceph's
//
//   step take default
//   step choose firstn 2 type rack
//   step chooseleaf firstn 1 type host
//   step emit
//
// Name clash to keep in mind: crushha's `use` is Ceph's `take`; crushha's `take` is a deep pick
// under every item already chosen (Ceph applies every choose step to each working item too).
// Rules are written with names and resolved against a map with `resolveRule`, which also accepts
// the JSON form topology files embed (`RuleStepSpec[]`).
import { type CrushMap, type Rule, RuleOp, type RuleOpCode, type RuleStep, RuleType } from "./types.ts";

export type ChooseMode = "firstn" | "indep";

export type SetStepName =
  | "choose_tries"
  | "chooseleaf_tries"
  | "choose_local_tries"
  | "choose_local_fallback_tries"
  | "chooseleaf_vary_r"
  | "chooseleaf_stable";

/** One step of a rule in JSON form, with names instead of ids. */
export type RuleStepSpec =
  | { op: "use"; bucket: string }
  | { op: "select"; type: string; count: number; mode?: ChooseMode }
  | { op: "take"; count: number; type?: string; mode?: ChooseMode }
  | { op: "choose"; type: string; count: number; mode?: ChooseMode; leaf?: boolean }
  | { op: "set"; name: SetStepName; value: number }
  | { op: "emit" };

export interface RuleSpec {
  name?: string;
  type?: "replicated" | "erasure";
  minSize?: number;
  maxSize?: number;
  steps: RuleStepSpec[];
}

const SET_OPS: Readonly<Record<SetStepName, RuleOpCode>> = {
  choose_tries: RuleOp.setChooseTries,
  chooseleaf_tries: RuleOp.setChooseleafTries,
  choose_local_tries: RuleOp.setChooseLocalTries,
  choose_local_fallback_tries: RuleOp.setChooseLocalFallbackTries,
  chooseleaf_vary_r: RuleOp.setChooseleafVaryR,
  chooseleaf_stable: RuleOp.setChooseleafStable,
};

/** Fluent builder for a rule in crushha's words. */
export class RuleBuilder {
  readonly steps: RuleStepSpec[] = [];

  /** Start from a bucket (Ceph `step take`). A later `use` may switch again, e.g. after emit. */
  use(bucket: string): this {
    this.steps.push({ op: "use", bucket });
    return this;
  }

  /** Wide pick: `count` distinct buckets of `type` under each working item (`choose ... type`). */
  select(type: string, count: number, mode: ChooseMode = "firstn"): this {
    this.steps.push({ op: "select", type, count, mode });
    return this;
  }

  /**
   * Deep pick: `count` devices under each working item. With `failureDomain`, each device comes
   * from a distinct bucket of that type (`chooseleaf`); without, devices are picked directly.
   */
  take(count: number, failureDomain?: string, mode: ChooseMode = "firstn"): this {
    this.steps.push(
      failureDomain === undefined
        ? { op: "take", count, mode }
        : { op: "take", count, type: failureDomain, mode },
    );
    return this;
  }

  /** Override a tunable for the rest of the rule (Ceph's `step set_*`). */
  set(name: SetStepName, value: number): this {
    this.steps.push({ op: "set", name, value });
    return this;
  }

  /** Flush the working vector to the result; later steps are not constrained by it. */
  emit(): this {
    this.steps.push({ op: "emit" });
    return this;
  }

  build(options: Omit<RuleSpec, "steps"> = {}): RuleSpec {
    return { ...options, steps: [...this.steps] };
  }
}

export function rule(): RuleBuilder {
  return new RuleBuilder();
}

/** A rule spec that does not fit the map: names the JSON path and what was expected. */
export class RuleSpecError extends Error {
  override name = "RuleSpecError";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/**
 * Resolves names against `map` and returns Ceph rule steps. `path` prefixes error locations
 * (e.g. "/types/echo/rule").
 */
export function resolveRule(spec: RuleSpec, map: CrushMap, id: number, path = "rule"): Rule {
  if (!Array.isArray(spec.steps) || spec.steps.length === 0) {
    throw new RuleSpecError(`${path}/steps`, "expected a non-empty array of steps");
  }
  const steps = spec.steps.map((step, index) => resolveStep(step, map, `${path}/steps/${index}`));
  if (!steps.some((step) => step.op === RuleOp.emit)) {
    throw new RuleSpecError(`${path}/steps`, "expected an emit step; without one the rule places nothing");
  }
  return {
    id,
    ruleset: id,
    type: spec.type === "erasure" ? RuleType.erasure : RuleType.replicated,
    minSize: spec.minSize ?? 1,
    maxSize: spec.maxSize ?? 10,
    steps,
  };
}

function resolveStep(step: RuleStepSpec, map: CrushMap, path: string): RuleStep {
  if (typeof step !== "object" || step === null) throw new RuleSpecError(path, "expected a step object");
  switch (step.op) {
    case "use":
      return { op: RuleOp.take, arg1: itemId(map, step.bucket, `${path}/bucket`), arg2: 0 };
    case "select":
      return chooseStep(map, step.type, step.count, step.mode, false, path);
    case "take":
      return step.type === undefined
        ? chooseStep(map, typeName(map, 0), step.count, step.mode, false, path)
        : chooseStep(map, step.type, step.count, step.mode, true, path);
    case "choose":
      return chooseStep(map, step.type, step.count, step.mode, step.leaf === true, path);
    case "set": {
      const op = SET_OPS[step.name];
      if (op === undefined) {
        throw new RuleSpecError(
          `${path}/name`,
          `expected one of ${Object.keys(SET_OPS).join(", ")}, found ${quote(step.name)}`,
        );
      }
      checkInteger(step.value, `${path}/value`);
      return { op, arg1: step.value, arg2: 0 };
    }
    case "emit":
      return { op: RuleOp.emit, arg1: 0, arg2: 0 };
    default:
      throw new RuleSpecError(
        `${path}/op`,
        `expected "use", "select", "take", "choose", "set" or "emit", found ${quote((step as { op: unknown }).op)}`,
      );
  }
}

function chooseStep(
  map: CrushMap,
  type: string,
  count: number,
  mode: ChooseMode | undefined,
  leaf: boolean,
  path: string,
): RuleStep {
  checkInteger(count, `${path}/count`);
  if (mode !== undefined && mode !== "firstn" && mode !== "indep") {
    throw new RuleSpecError(`${path}/mode`, `expected "firstn" or "indep", found ${quote(mode)}`);
  }
  const indep = mode === "indep";
  const op = leaf
    ? indep
      ? RuleOp.chooseleafIndep
      : RuleOp.chooseleafFirstn
    : indep
      ? RuleOp.chooseIndep
      : RuleOp.chooseFirstn;
  return { op, arg1: count, arg2: typeId(map, type, `${path}/type`) };
}

function checkInteger(value: unknown, path: string): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new RuleSpecError(path, `expected an integer, found ${quote(value)}`);
  }
}

function typeId(map: CrushMap, name: string, path: string): number {
  for (const [id, typeName] of map.typeNames) if (typeName === name) return id;
  const known = [...map.typeNames.values()].join(", ");
  throw new RuleSpecError(path, `unknown bucket type ${quote(name)}; the map has: ${known}`);
}

function typeName(map: CrushMap, id: number): string {
  const name = map.typeNames.get(id);
  if (name === undefined) throw new RuleSpecError("rule", `the map has no type ${id}`);
  return name;
}

function itemId(map: CrushMap, name: string, path: string): number {
  for (const [id, itemName] of map.itemNames) if (itemName === name) return id;
  throw new RuleSpecError(path, `unknown bucket ${quote(name)}`);
}

function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Ceph text for a rule's steps (for docs, explain output and `topology show`). */
export function describeStep(step: RuleStep, map: CrushMap): string {
  const type = (id: number) => map.typeNames.get(id) ?? String(id);
  const item = (id: number) => map.itemNames.get(id) ?? String(id);
  switch (step.op) {
    case RuleOp.take:
      return `take ${item(step.arg1)}`;
    case RuleOp.chooseFirstn:
      return `choose firstn ${step.arg1} type ${type(step.arg2)}`;
    case RuleOp.chooseIndep:
      return `choose indep ${step.arg1} type ${type(step.arg2)}`;
    case RuleOp.chooseleafFirstn:
      return `chooseleaf firstn ${step.arg1} type ${type(step.arg2)}`;
    case RuleOp.chooseleafIndep:
      return `chooseleaf indep ${step.arg1} type ${type(step.arg2)}`;
    case RuleOp.emit:
      return "emit";
    case RuleOp.noop:
      return "noop";
    default: {
      const name = Object.entries(SET_OPS).find(([, op]) => op === step.op)?.[0];
      return name === undefined ? `op ${step.op} ${step.arg1} ${step.arg2}` : `set_${name} ${step.arg1}`;
    }
  }
}
