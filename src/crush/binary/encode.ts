// Encoding a CrushMap in Ceph 16's binary format (docs/crush-binary-format.md), byte for byte
// what `crushtool -c` writes for the same map: slots in array order, every name table and
// class table sorted by key as Ceph's std::map iterates, and the full tunables tail.
//
// `map.buckets.length` is written as max_buckets and `map.rules.length` as max_rules, so a
// decoded map keeps its empty slots. (crushtool sizes max_buckets as the smallest 8 * 2^k
// above the highest slot used, and max_rules as the highest rule id + 1.)
import { listSums, strawLengths, treeNodeWeights } from "../builder.ts";
import {
  BUCKET_ALG_CODE,
  type Bucket,
  type ChooseArg,
  type ChooseArgSet,
  type CrushMap,
  type DeviceClassTables,
  type Rule,
} from "../types.ts";
import { CrushEncodeError } from "./errors.ts";
import { CRUSH_MAGIC, TREE_NODE_COUNT_MAX } from "./layout.ts";
import { TUNABLE_TAIL_GROUPS, tailFieldLabel } from "./tail.ts";
import { ByteWriter } from "./writer.ts";

export { CrushEncodeError };

const textEncoder = new TextEncoder();

/** Encodes a map as Ceph 16 writes it (all features, so device classes and choose_args included). */
export function encodeCrushBinary(map: CrushMap): Uint8Array {
  const writer = new ByteWriter();
  writer.u32(CRUSH_MAGIC, "magic");
  writer.s32(map.buckets.length, "max_buckets");
  writer.u32(map.rules.length, "max_rules");
  writer.s32(map.maxDevices, "max_devices");
  for (let slot = 0; slot < map.buckets.length; slot++) {
    writeBucketSlot(writer, map.buckets[slot], slot, map.tunables.strawCalcVersion);
  }
  for (let slot = 0; slot < map.rules.length; slot++) writeRuleSlot(writer, map.rules[slot], slot);
  writeNameMap(writer, map.typeNames, "type name");
  writeNameMap(writer, map.itemNames, "item name");
  writeNameMap(writer, map.ruleNames, "rule name");
  writeTunables(writer, map);
  writeDeviceClassTables(writer, resolveDeviceClassTables(map));
  writeChooseArgs(writer, map.chooseArgs ?? new Map(), map.buckets.length);
  return writer.toBytes();
}

function writeBucketSlot(
  writer: ByteWriter,
  bucket: Bucket | undefined,
  slot: number,
  strawCalcVersion: number,
) {
  if (bucket === undefined) {
    writer.u32(0, "empty bucket slot");
    return;
  }
  if (bucket.id !== -1 - slot) {
    throw new CrushEncodeError(`bucket slot ${slot} holds bucket ${bucket.id}, expected ${-1 - slot}`);
  }
  const size = bucket.items.length;
  if (bucket.itemWeights.length !== size) {
    throw new CrushEncodeError(`bucket ${bucket.id}: ${size} items but ${bucket.itemWeights.length} weights`);
  }
  const algCode = BUCKET_ALG_CODE[bucket.alg];
  const what = `bucket ${bucket.id}`;
  writer.u32(algCode, `${what} algorithm`);
  writer.s32(bucket.id, `${what} id`);
  writer.u16(bucket.type, `${what} type`);
  writer.u8(algCode, `${what} algorithm`);
  writer.u8(bucket.hash, `${what} hash`);
  writer.u32(bucket.weight, `${what} weight`);
  writer.u32(size, `${what} size`);
  for (const item of bucket.items) writer.s32(item, `${what} item`);
  writeBucketWeights(writer, bucket, strawCalcVersion);
}

/** Per-algorithm data. Derived arrays come from the bucket when present, else from the builder. */
function writeBucketWeights(writer: ByteWriter, bucket: Bucket, strawCalcVersion: number): void {
  const what = `bucket ${bucket.id}`;
  const weights = bucket.itemWeights;
  switch (bucket.alg) {
    case "uniform":
      // An empty uniform bucket has no item to carry the weight; crushtool writes 0.
      writer.u32(weights.length > 0 ? weights[0] : 0, `${what} item weight`);
      return;
    case "list":
      writePairs(writer, weights, derived(bucket, bucket.sumWeights ?? listSums(weights), "sums"), what);
      return;
    case "tree":
      writeTreeNodes(writer, bucket.nodeWeights ?? treeNodeWeights(weights), what);
      return;
    case "straw": {
      const straws = bucket.straws ?? strawLengths(weights, strawCalcVersion);
      writePairs(writer, weights, derived(bucket, straws, "straws"), what);
      return;
    }
    case "straw2":
      for (const weight of weights) writer.u32(weight, `${what} item weight`);
      return;
  }
}

function derived(bucket: Bucket, values: Uint32Array, label: string): Uint32Array {
  if (values.length !== bucket.items.length) {
    throw new CrushEncodeError(
      `bucket ${bucket.id}: ${bucket.items.length} items but ${values.length} ${label}`,
    );
  }
  return values;
}

function writePairs(writer: ByteWriter, first: Uint32Array, second: Uint32Array, what: string): void {
  for (let i = 0; i < first.length; i++) {
    writer.u32(first[i], `${what} item weight`);
    writer.u32(second[i], `${what} derived weight`);
  }
}

function writeTreeNodes(writer: ByteWriter, nodeWeights: Uint32Array, what: string): void {
  if (nodeWeights.length > TREE_NODE_COUNT_MAX) {
    throw new CrushEncodeError(`${what}: ${nodeWeights.length} tree nodes do not fit the u8 node count`);
  }
  writer.u8(nodeWeights.length, `${what} tree node count`);
  for (const weight of nodeWeights) writer.u32(weight, `${what} tree node weight`);
}

function writeRuleSlot(writer: ByteWriter, rule: Rule | undefined, slot: number): void {
  if (rule === undefined) {
    writer.u32(0, "empty rule slot");
    return;
  }
  if (rule.id !== slot) throw new CrushEncodeError(`rule slot ${slot} holds rule ${rule.id}`);
  const what = `rule ${rule.id}`;
  writer.u32(1, `${what} presence flag`);
  writer.u32(rule.steps.length, `${what} step count`);
  // The mask fields are u8 on disk and Ceph truncates them (rule id 300 is stored as ruleset 44).
  writer.u8(rule.ruleset & 0xff, `${what} ruleset`);
  writer.u8(rule.type & 0xff, `${what} type`);
  writer.u8(rule.minSize & 0xff, `${what} min_size`);
  writer.u8(rule.maxSize & 0xff, `${what} max_size`);
  for (const step of rule.steps) {
    writer.u32(step.op, `${what} step op`);
    writer.s32(step.arg1, `${what} step arg1`);
    writer.s32(step.arg2, `${what} step arg2`);
  }
}

/** Names may not be empty: a zero length reads back as Ceph's 64-bit-key marker. */
function writeNameMap(writer: ByteWriter, names: Map<number, string>, what: string): void {
  for (const [key, name] of names) {
    if (name.length === 0) throw new CrushEncodeError(`${what} of ${key} is empty`);
  }
  writeStringMap(writer, names, what);
}

function writeStringMap(writer: ByteWriter, names: Map<number, string>, what: string): void {
  writer.u32(names.size, `${what} count`);
  for (const key of sortedKeys(names)) {
    const bytes = textEncoder.encode(names.get(key));
    writer.s32(key, `${what} key`);
    writer.u32(bytes.byteLength, `${what} length`);
    writer.bytes(bytes);
  }
}

function writeTunables(writer: ByteWriter, map: CrushMap): void {
  for (const group of TUNABLE_TAIL_GROUPS) {
    for (const field of group) {
      const what = `tunable ${tailFieldLabel(field.key)}`;
      const value = map.tunables[field.key];
      if (field.widthBytes === 4) writer.u32(value, what);
      else writer.u8(value, what);
    }
  }
}

/**
 * The class tables to write. Devices' classes always come from `map.deviceClasses`; class ids
 * and shadow buckets come from `map.deviceClassTables` when the map was decoded, and otherwise
 * are derived: ids in order of first use, shadow buckets from "<bucket>~<class>" names.
 */
export function resolveDeviceClassTables(map: CrushMap): DeviceClassTables {
  const stored = map.deviceClassTables;
  const classNames = new Map(stored?.classNames ?? []);
  const classIds = new Map([...classNames].map(([id, name]) => [name, id]));
  const classIdOf = (name: string): number => {
    let id = classIds.get(name);
    if (id === undefined) {
      id = classNames.size === 0 ? 0 : Math.max(...classNames.keys()) + 1;
      classNames.set(id, name);
      classIds.set(name, id);
    }
    return id;
  };
  // Shadow buckets' entries survive from the stored table; devices' entries are rebuilt below.
  const itemClasses = new Map([...(stored?.itemClasses ?? [])].filter(([item]) => item < 0));
  for (const device of sortedKeys(map.deviceClasses)) {
    itemClasses.set(device, classIdOf(map.deviceClasses.get(device)!));
  }
  const shadowBuckets = stored?.shadowBuckets ?? shadowBucketsFromNames(map, classIdOf);
  for (const shadows of shadowBuckets.values()) {
    for (const [classId, shadowId] of shadows) itemClasses.set(shadowId, classId);
  }
  return { classNames, itemClasses, shadowBuckets };
}

function shadowBucketsFromNames(map: CrushMap, classIdOf: (name: string) => number) {
  const idsByName = new Map([...map.itemNames].map(([id, name]) => [name, id]));
  const shadowBuckets = new Map<number, Map<number, number>>();
  for (const bucket of map.buckets) {
    const name = bucket === undefined ? undefined : map.itemNames.get(bucket.id);
    const separator = name?.indexOf("~") ?? -1;
    if (bucket === undefined || name === undefined || separator < 0) continue;
    const baseId = idsByName.get(name.slice(0, separator));
    if (baseId === undefined) continue;
    let shadows = shadowBuckets.get(baseId);
    if (shadows === undefined) shadowBuckets.set(baseId, (shadows = new Map()));
    shadows.set(classIdOf(name.slice(separator + 1)), bucket.id);
  }
  return shadowBuckets;
}

function writeDeviceClassTables(writer: ByteWriter, tables: DeviceClassTables): void {
  writeIntegerMap(writer, tables.itemClasses, "device class map");
  writeStringMap(writer, tables.classNames, "device class name");
  writer.u32(tables.shadowBuckets.size, "shadow bucket table count");
  for (const bucketId of sortedKeys(tables.shadowBuckets)) {
    writer.s32(bucketId, "shadow bucket table bucket id");
    writeIntegerMap(writer, tables.shadowBuckets.get(bucketId)!, `shadow buckets of ${bucketId}`);
  }
}

function writeIntegerMap(writer: ByteWriter, values: Map<number, number>, what: string): void {
  writer.u32(values.size, `${what} count`);
  for (const key of sortedKeys(values)) {
    writer.s32(key, `${what} key`);
    writer.s32(values.get(key)!, `${what} value`);
  }
}

function writeChooseArgs(writer: ByteWriter, sets: Map<number, ChooseArgSet>, maxBuckets: number): void {
  writer.u32(sets.size, "choose_args count");
  for (const setId of sortedKeys(sets)) {
    writer.s64(setId, "choose_args set id");
    // Ceph leaves out buckets with neither weight sets nor ids, and lists the rest by slot.
    const entries = [...sets.get(setId)!].filter(([, arg]) => !isEmptyChooseArg(arg));
    entries.sort(([left], [right]) => right - left);
    writer.u32(entries.length, `choose_args ${setId} bucket count`);
    for (const [bucketId, arg] of entries) writeChooseArg(writer, bucketId, arg, maxBuckets, setId);
  }
}

function writeChooseArg(
  writer: ByteWriter,
  bucketId: number,
  arg: ChooseArg,
  maxBuckets: number,
  setId: number,
) {
  const what = `choose_args ${setId} bucket ${bucketId}`;
  const slot = -1 - bucketId;
  if (!Number.isInteger(slot) || slot < 0 || slot >= maxBuckets) {
    throw new CrushEncodeError(`${what}: no such bucket slot (the map has ${maxBuckets})`);
  }
  writer.u32(slot, `${what} slot`);
  const weightSet = arg.weightSet ?? [];
  writer.u32(weightSet.length, `${what} weight set count`);
  for (const weights of weightSet) {
    writer.u32(weights.length, `${what} weight set size`);
    for (const weight of weights) writer.u32(weight, `${what} weight`);
  }
  const ids = arg.ids ?? new Int32Array(0);
  writer.u32(ids.length, `${what} id count`);
  for (const id of ids) writer.s32(id, `${what} id`);
}

function isEmptyChooseArg(arg: ChooseArg): boolean {
  return (arg.weightSet?.length ?? 0) === 0 && (arg.ids?.length ?? 0) === 0;
}

/** Keys in ascending numeric order, as Ceph's std::map<int, ...> iterates them. */
function sortedKeys(map: ReadonlyMap<number, unknown>): number[] {
  return [...map.keys()].sort((left, right) => left - right);
}
