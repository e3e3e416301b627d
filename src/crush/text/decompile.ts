// crushtool 16.2's decompiler (`crushtool -d`): CrushMap -> the exact text crushtool prints,
// byte for byte, including its comments, tabs and `%.3f` weights (which are lossy: decompiling
// and compiling again can change weights).
import { TUNABLE_TEXT_NAMES, tunableProfile } from "../tunables.ts";
import {
  type Bucket,
  type ChooseArgSet,
  type CrushMap,
  type Rule,
  RuleOp,
  type RuleStep,
  RuleType,
} from "../types.ts";
import { formatFixedPoint } from "./numbers.ts";

/** Prints a map as `crushtool -d` does. Throws an Error if the buckets contain a cycle. */
export function decompileCrushMap(map: CrushMap): string {
  const out: string[] = ["# begin crush map\n"];
  printTunables(map, out);
  out.push("\n# devices\n");
  printDevices(map, out);
  out.push("\n# types\n");
  printTypes(map, out);
  out.push("\n# buckets\n");
  printBuckets(map, out);
  out.push("\n# rules\n");
  for (const rule of map.rules) if (rule !== undefined) printRule(map, rule, out);
  if (map.chooseArgs !== undefined && map.chooseArgs.size > 0) {
    out.push("\n# choose_args\n");
    printChooseArgs(map, out);
  }
  out.push("\n# end crush map\n");
  return out.join("");
}

/** Only tunables that differ from the legacy values are printed. */
function printTunables(map: CrushMap, out: string[]): void {
  const legacy = tunableProfile("legacy");
  for (const [name, key] of TUNABLE_TEXT_NAMES) {
    if (map.tunables[key] !== legacy[key]) out.push(`tunable ${name} ${map.tunables[key] | 0}\n`);
  }
}

/** Devices without a name (gaps in the ids) are not printed. */
function printDevices(map: CrushMap, out: string[]): void {
  for (let id = 0; id < map.maxDevices; id++) {
    const name = map.itemNames.get(id);
    if (name === undefined) continue;
    const className = map.deviceClasses.get(id);
    out.push(`device ${id} ${name}${className === undefined ? "" : ` class ${className}`}\n`);
  }
}

/** Types in id order; a missing type 0 is printed as "osd" (crushtool's fallback). */
function printTypes(map: CrushMap, out: string[]): void {
  let remaining = map.typeNames.size;
  for (let id = 0; remaining > 0; id++) {
    const name = map.typeNames.get(id);
    if (name === undefined) {
      if (id === 0) out.push("type 0 osd\n");
      continue;
    }
    remaining--;
    out.push(`type ${id} ${name}\n`);
  }
}

function typeName(map: CrushMap, type: number): string {
  return map.typeNames.get(type) ?? (type === 0 ? "device" : `type${type}`);
}

function itemName(map: CrushMap, item: number): string {
  return map.itemNames.get(item) ?? (item >= 0 ? `device${item}` : `bucket${-1 - item}`);
}

/** Names crushtool itself would accept; shadow buckets ("host~ssd") fail this and are hidden. */
function isValidName(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name);
}

/**
 * Buckets children first (depth first from bucket -1, -2, ...), each printed once, so a
 * bucket always follows everything it contains.
 */
function printBuckets(map: CrushMap, out: string[]): void {
  const done = new Set<number>();
  const inProgress = new Set<number>();
  const visit = (id: number): void => {
    const bucket = id < 0 ? map.buckets[-1 - id] : undefined;
    if (bucket === undefined || done.has(id)) return;
    if (inProgress.has(id))
      throw new Error(`bucket ${id} contains itself; buckets must form a directed acyclic graph`);
    inProgress.add(id);
    for (const item of bucket.items) visit(item);
    inProgress.delete(id);
    done.add(id);
    printBucket(map, bucket, out);
  };
  for (let slot = 0; slot < map.buckets.length; slot++) visit(-1 - slot);
}

const ALG_COMMENTS: Readonly<Record<string, string>> = {
  uniform: "",
  list: "\t# add new items at the end; do not change order unnecessarily",
  tree: "\t# do not change pos for existing items unnecessarily",
};

function printBucket(map: CrushMap, bucket: Bucket, out: string[]): void {
  const name = map.itemNames.get(bucket.id);
  if (name !== undefined && !isValidName(name)) return;
  out.push(`${typeName(map, bucket.type)} ${itemName(map, bucket.id)} {\n`);
  out.push(`\tid ${bucket.id}\t\t# do not change unnecessarily\n`);
  printShadowIds(map, bucket.id, out);
  out.push(`\t# weight ${formatFixedPoint(bucket.weight)}\n`);
  const size = bucket.items.length;
  const comment =
    bucket.alg === "uniform"
      ? `\t# do not change bucket size (${size}) unnecessarily`
      : (ALG_COMMENTS[bucket.alg] ?? "");
  out.push(`\talg ${bucket.alg}${comment}\n`);
  out.push(`\thash ${bucket.hash | 0}\t# ${bucket.hash === 0 ? "rjenkins1" : "unknown"}\n`);
  const withPositions = bucket.alg === "uniform" || bucket.alg === "tree";
  for (let index = 0; index < size; index++) {
    const weight = formatFixedPoint(bucket.itemWeights[index]);
    const position = withPositions ? ` pos ${index}` : "";
    out.push(`\titem ${itemName(map, bucket.items[index])} weight ${weight}${position}\n`);
  }
  out.push("}\n");
}

/** `id -N class C` lines, in class id order, for buckets that have shadow copies. */
function printShadowIds(map: CrushMap, bucketId: number, out: string[]): void {
  const tables = map.deviceClassTables;
  const shadows = tables?.shadowBuckets.get(bucketId);
  if (tables === undefined || shadows === undefined) return;
  for (const classId of [...shadows.keys()].sort((left, right) => left - right)) {
    out.push(
      `\tid ${shadows.get(classId)} class ${tables.classNames.get(classId)}\t\t# do not change unnecessarily\n`,
    );
  }
}

function printRule(map: CrushMap, rule: Rule, out: string[]): void {
  const name = map.ruleNames.get(rule.id);
  out.push(`rule ${name ?? ""} {\n`);
  out.push(`\tid ${rule.id}\n`);
  if (rule.ruleset !== rule.id) {
    out.push(
      `\t# WARNING: ruleset ${rule.ruleset} != id ${rule.id}; this will not recompile to the same map\n`,
    );
  }
  const type =
    rule.type === RuleType.replicated
      ? "replicated"
      : rule.type === RuleType.erasure
        ? "erasure"
        : `${rule.type}`;
  out.push(`\ttype ${type}\n`);
  out.push(`\tmin_size ${rule.minSize}\n`);
  out.push(`\tmax_size ${rule.maxSize}\n`);
  for (const step of rule.steps) out.push(formatStep(map, step));
  out.push("}\n");
}

const SET_STEP_NAMES: ReadonlyMap<number, string> = new Map([
  [RuleOp.setChooseTries, "set_choose_tries"],
  [RuleOp.setChooseLocalTries, "set_choose_local_tries"],
  [RuleOp.setChooseLocalFallbackTries, "set_choose_local_fallback_tries"],
  [RuleOp.setChooseleafTries, "set_chooseleaf_tries"],
  [RuleOp.setChooseleafVaryR, "set_chooseleaf_vary_r"],
  [RuleOp.setChooseleafStable, "set_chooseleaf_stable"],
]);

const CHOOSE_STEP_NAMES: ReadonlyMap<number, string> = new Map([
  [RuleOp.chooseFirstn, "choose firstn"],
  [RuleOp.chooseIndep, "choose indep"],
  [RuleOp.chooseleafFirstn, "chooseleaf firstn"],
  [RuleOp.chooseleafIndep, "chooseleaf indep"],
]);

/** One step line; unknown opcodes print nothing, as in crushtool. */
function formatStep(map: CrushMap, step: RuleStep): string {
  if (step.op === RuleOp.noop) return "\tstep noop\n";
  if (step.op === RuleOp.take) return `\tstep take ${formatTakeTarget(map, step.arg1)}\n`;
  if (step.op === RuleOp.emit) return "\tstep emit\n";
  const setName = SET_STEP_NAMES.get(step.op);
  if (setName !== undefined) return `\tstep ${setName} ${step.arg1}\n`;
  const chooseName = CHOOSE_STEP_NAMES.get(step.op);
  if (chooseName !== undefined) return `\tstep ${chooseName} ${step.arg1} type ${typeName(map, step.arg2)}\n`;
  return "";
}

/** A take of a shadow bucket prints as `<original> class <class>`. */
function formatTakeTarget(map: CrushMap, item: number): string {
  const name = map.itemNames.get(item);
  const separator = name?.indexOf("~") ?? -1;
  if (name === undefined || separator < 0) return itemName(map, item);
  return `${name.slice(0, separator)} class ${name.slice(separator + 1)}`;
}

/**
 * Sets in crushtool's order: Ceph keys them by signed 64-bit id (so the default set -1 comes
 * first) but prints the id as unsigned (18446744073709551615).
 */
function printChooseArgs(map: CrushMap, out: string[]): void {
  const unsigned = (id: number): bigint => BigInt.asUintN(64, BigInt(id));
  const setIds = [...map.chooseArgs!.keys()].sort((left, right) => left - right);
  for (const setId of setIds) {
    out.push(`choose_args ${unsigned(setId)} {\n`);
    printChooseArgSet(map, map.chooseArgs!.get(setId)!, out);
    out.push("}\n");
  }
}

function printChooseArgSet(map: CrushMap, set: ChooseArgSet, out: string[]): void {
  for (let slot = 0; slot < map.buckets.length; slot++) {
    const arg = set.get(-1 - slot);
    const weightSet = arg?.weightSet ?? [];
    const ids = arg?.ids ?? new Int32Array(0);
    if (weightSet.length === 0 && ids.length === 0) continue;
    out.push("  {\n");
    out.push(`    bucket_id ${-1 - slot}\n`);
    if (weightSet.length > 0) {
      out.push("    weight_set [\n");
      for (const row of weightSet)
        out.push(`      [ ${[...row].map((weight) => `${formatFixedPoint(weight)} `).join("")}]\n`);
      out.push("    ]\n");
    }
    if (ids.length > 0) out.push(`    ids [ ${[...ids].map((id) => `${id} `).join("")}]\n`);
    out.push("  }\n");
  }
}
