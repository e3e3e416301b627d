// Test helper: a CrushMap in the shape of `crushtool -i map.bin --dump`, restricted to the
// fields that describe the map itself (crushtool adds derived tunable fields such as
// "profile"; `normalizeCrushtoolDump` drops those from its side).

import { TUNABLE_TEXT_NAMES } from "../../src/crush/tunables.ts";
import type { CrushMap, RuleStep } from "../../src/crush/types.ts";
import { RuleOp } from "../../src/crush/types.ts";

type Json = Record<string, unknown>;

const ALG_HASH_NAMES = new Map([[0, "rjenkins1"]]);

function typeName(map: CrushMap, type: number): string {
  return map.typeNames.get(type) ?? (type === 0 ? "device" : `type${type}`);
}

function itemName(map: CrushMap, item: number): string {
  return map.itemNames.get(item) ?? (item >= 0 ? `device${item}` : `bucket${-1 - item}`);
}

function dumpTypes(map: CrushMap): Json[] {
  const types: Json[] = [];
  let remaining = map.typeNames.size;
  for (let id = 0; remaining > 0; id++) {
    const name = map.typeNames.get(id);
    if (name === undefined) {
      if (id === 0) types.push({ type_id: 0, name: "device" });
      continue;
    }
    remaining--;
    types.push({ type_id: id, name });
  }
  return types;
}

function dumpStep(map: CrushMap, step: RuleStep): Json {
  switch (step.op) {
    case RuleOp.take:
      return { op: "take", item: step.arg1, item_name: itemName(map, step.arg1) };
    case RuleOp.emit:
      return { op: "emit" };
    case RuleOp.chooseFirstn:
      return { op: "choose_firstn", num: step.arg1, type: typeName(map, step.arg2) };
    case RuleOp.chooseIndep:
      return { op: "choose_indep", num: step.arg1, type: typeName(map, step.arg2) };
    case RuleOp.chooseleafFirstn:
      return { op: "chooseleaf_firstn", num: step.arg1, type: typeName(map, step.arg2) };
    case RuleOp.chooseleafIndep:
      return { op: "chooseleaf_indep", num: step.arg1, type: typeName(map, step.arg2) };
    case RuleOp.setChooseTries:
      return { op: "set_choose_tries", num: step.arg1 };
    case RuleOp.setChooseleafTries:
      return { op: "set_chooseleaf_tries", num: step.arg1 };
    default:
      // Ceph 16's dump has no names for the newer set_* steps.
      return { opcode: step.op, arg1: step.arg1, arg2: step.arg2 };
  }
}

export function toCrushtoolDump(map: CrushMap): Json {
  const devices: Json[] = [];
  for (let id = 0; id < map.maxDevices; id++) {
    const className = map.deviceClasses.get(id);
    devices.push({ id, name: itemName(map, id), ...(className === undefined ? {} : { class: className }) });
  }
  const buckets = map.buckets.flatMap((bucket) =>
    bucket === undefined
      ? []
      : [
          {
            id: bucket.id,
            name: itemName(map, bucket.id),
            type_id: bucket.type,
            type_name: typeName(map, bucket.type),
            weight: bucket.weight | 0,
            alg: bucket.alg,
            hash: ALG_HASH_NAMES.get(bucket.hash) ?? "unknown",
            items: [...bucket.items].map((id, pos) => ({ id, weight: bucket.itemWeights[pos] | 0, pos })),
          },
        ],
  );
  const rules = map.rules.flatMap((rule) =>
    rule === undefined
      ? []
      : [
          {
            rule_id: rule.id,
            ...(map.ruleNames.has(rule.id) ? { rule_name: map.ruleNames.get(rule.id) } : {}),
            ruleset: rule.ruleset,
            type: rule.type,
            min_size: rule.minSize,
            max_size: rule.maxSize,
            steps: rule.steps.map((step) => dumpStep(map, step)),
          },
        ],
  );
  const tunables = Object.fromEntries(TUNABLE_TEXT_NAMES.map(([name, key]) => [name, map.tunables[key] | 0]));
  const chooseArgs: Json = {};
  for (const [setId, set] of map.chooseArgs ?? []) {
    chooseArgs[String(setId)] = [...set]
      .sort(([left], [right]) => right - left)
      .filter(([, arg]) => (arg.weightSet?.length ?? 0) > 0 || (arg.ids?.length ?? 0) > 0)
      .map(([bucketId, arg]) => ({
        bucket_id: bucketId,
        ...(arg.weightSet?.length ? { weight_set: arg.weightSet.map((row) => [...row]) } : {}),
        ...(arg.ids?.length ? { ids: [...arg.ids] } : {}),
      }));
  }
  return { devices, types: dumpTypes(map), buckets, rules, tunables, choose_args: chooseArgs };
}

/** crushtool's dump reduced to what `toCrushtoolDump` produces; weight sets back to 16.16. */
export function normalizeCrushtoolDump(dump: Json): Json {
  const tunables = dump.tunables as Json;
  const chooseArgs: Json = {};
  for (const [setId, args] of Object.entries((dump.choose_args ?? {}) as Record<string, Json[]>)) {
    chooseArgs[setId] = args.map((arg) => ({
      ...arg,
      ...(arg.weight_set
        ? {
            weight_set: (arg.weight_set as number[][]).map((row) =>
              row.map((weight) => Math.round(weight * 0x10000)),
            ),
          }
        : {}),
    }));
  }
  return {
    devices: dump.devices,
    types: dump.types,
    buckets: dump.buckets,
    rules: dump.rules,
    tunables: Object.fromEntries(TUNABLE_TEXT_NAMES.map(([name]) => [name, tunables[name]])),
    choose_args: chooseArgs,
  };
}
