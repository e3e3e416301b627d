// Decoding Ceph 16's binary CRUSH map (docs/crush-binary-format.md).
//
// Contract: for any input, either a CrushMap or a CrushFormatError naming the byte offset;
// nothing else is thrown. Every count read from the input is checked against the bytes left
// before anything is allocated for it, and every loop is bounded by such a count, so a corrupt
// file can neither exhaust memory nor spin. Derived bucket data (list sums, tree node weights,
// straw lengths) is taken from the file as is: Ceph maps with it, even when it disagrees with
// what the weights would give today.
import {
  BUCKET_ALG_BY_CODE,
  type Bucket,
  type BucketAlgName,
  type ChooseArg,
  type ChooseArgSet,
  type CrushMap,
  type DeviceClassTables,
  type Rule,
  RuleOp,
  type RuleOpCode,
  type RuleStep,
  type Tunables,
} from "../types.ts";
import { CrushFormatError } from "./errors.ts";
import { CRUSH_MAGIC, legacyTunables } from "./layout.ts";
import { ByteReader } from "./reader.ts";
import { TUNABLE_TAIL_GROUPS, tailFieldLabel } from "./tail.ts";

export { CrushFormatError };

const KNOWN_RULE_OPS: ReadonlySet<number> = new Set(Object.values(RuleOp));

/** Bytes every item costs after the item id itself, per algorithm (weights, sums, straws). */
const ITEM_EXTRA_BYTES: Readonly<Record<BucketAlgName, number>> = {
  uniform: 0,
  list: 8,
  tree: 0,
  straw: 8,
  straw2: 4,
};

/** Bytes of per-algorithm data that do not depend on the item count. */
const BUCKET_FIXED_BYTES: Readonly<Record<BucketAlgName, number>> = {
  uniform: 4,
  list: 0,
  tree: 1,
  straw: 0,
  straw2: 0,
};

interface Header {
  maxBuckets: number;
  maxRules: number;
  maxDevices: number;
}

/** Decodes a map as `crushtool -c` or `ceph osd getcrushmap` writes it. */
export function decodeCrushBinary(bytes: Uint8Array, fileName?: string): CrushMap {
  if (!(bytes instanceof Uint8Array)) throw new CrushFormatError("input is not a byte array", 0, fileName);
  const reader = new ByteReader(bytes, fileName);
  const header = readHeader(reader);
  const buckets = readBuckets(reader, header.maxBuckets);
  const rules = readRules(reader, header.maxRules);
  const typeNames = readNameMap(reader, "type names");
  const itemNames = readNameMap(reader, "item names");
  const ruleNames = readNameMap(reader, "rule names");
  const tunables = readTunables(reader);
  const deviceClassTables = reader.atEnd() ? undefined : readDeviceClassTables(reader);
  const chooseArgs = reader.atEnd() ? undefined : readChooseArgs(reader, buckets);
  if (!reader.atEnd()) {
    throw reader.error(`${reader.remaining} unexpected bytes after the end of the map`);
  }
  const map: CrushMap = {
    buckets,
    rules,
    maxDevices: header.maxDevices,
    tunables,
    typeNames,
    itemNames,
    ruleNames,
    deviceClasses: deviceClassesOf(deviceClassTables),
  };
  if (deviceClassTables !== undefined && !isEmptyTables(deviceClassTables)) {
    map.deviceClassTables = deviceClassTables;
  }
  if (chooseArgs !== undefined && chooseArgs.size > 0) map.chooseArgs = chooseArgs;
  return map;
}

function readHeader(reader: ByteReader): Header {
  const magic = reader.u32("magic number");
  if (magic !== CRUSH_MAGIC) {
    throw reader.error(`not a binary CRUSH map: magic is 0x${hex(magic)}, expected 0x${hex(CRUSH_MAGIC)}`, 0);
  }
  const maxBuckets = reader.s32("max_buckets");
  if (maxBuckets < 0) throw reader.error(`max_buckets is negative (${maxBuckets})`, reader.offset - 4);
  const maxRules = reader.u32("max_rules");
  const maxDevices = reader.s32("max_devices");
  if (maxDevices < 0) throw reader.error(`max_devices is negative (${maxDevices})`, reader.offset - 4);
  // Each bucket slot and each rule slot costs at least one u32 (its "empty" marker).
  reader.needEntries(maxBuckets + maxRules, 4, `header says ${maxBuckets} bucket and ${maxRules} rule slots`);
  return { maxBuckets, maxRules, maxDevices };
}

function readBuckets(reader: ByteReader, maxBuckets: number): (Bucket | undefined)[] {
  const buckets: (Bucket | undefined)[] = new Array(maxBuckets).fill(undefined);
  for (let slot = 0; slot < maxBuckets; slot++) buckets[slot] = readBucketSlot(reader, slot);
  return buckets;
}

function readBucketSlot(reader: ByteReader, slot: number): Bucket | undefined {
  const slotOffset = reader.offset;
  const algCode = reader.u32(`bucket slot ${slot} algorithm`);
  if (algCode === 0) return undefined;
  const alg = BUCKET_ALG_BY_CODE.get(algCode);
  if (alg === undefined)
    throw reader.error(`bucket slot ${slot} has unknown algorithm ${algCode}`, slotOffset);
  const id = reader.s32(`bucket slot ${slot} id`);
  // The mapper finds bucket `id` at slot -1-id; a file that disagrees cannot be mapped.
  if (id !== -1 - slot) throw reader.error(`bucket slot ${slot} holds id ${id}, expected ${-1 - slot}`);
  const type = reader.u16(`bucket ${id} type`);
  const innerAlgOffset = reader.offset;
  const innerAlg = reader.u8(`bucket ${id} algorithm`);
  if (innerAlg !== algCode) {
    throw reader.error(
      `bucket ${id} says algorithm ${innerAlg} but its slot says ${algCode}`,
      innerAlgOffset,
    );
  }
  const hash = reader.u8(`bucket ${id} hash`);
  const weight = reader.u32(`bucket ${id} weight`);
  const size = reader.u32(`bucket ${id} size`);
  const bytesPerItem = 4 + ITEM_EXTRA_BYTES[alg];
  const minimumBytes = size * bytesPerItem + BUCKET_FIXED_BYTES[alg];
  if (minimumBytes > reader.remaining) {
    throw reader.error(`bucket ${id} says ${size} items but only ${reader.remaining} bytes remain`);
  }
  const items = reader.s32Array(size, `bucket ${id} items`);
  const common = { id, type, alg, hash, weight, items };
  return { ...common, ...readBucketWeights(reader, id, alg, size) };
}

type BucketWeights = Pick<Bucket, "itemWeights" | "sumWeights" | "nodeWeights" | "straws">;

function readBucketWeights(reader: ByteReader, id: number, alg: BucketAlgName, size: number): BucketWeights {
  switch (alg) {
    case "uniform":
      // One weight shared by every item; expanded so callers never special-case uniform.
      return { itemWeights: new Uint32Array(size).fill(reader.u32(`bucket ${id} item weight`)) };
    case "list": {
      const pairs = readWeightPairs(reader, size, `bucket ${id} item weights and sums`);
      return { itemWeights: pairs.first, sumWeights: pairs.second };
    }
    case "tree":
      return readTreeWeights(reader, id, size);
    case "straw": {
      const pairs = readWeightPairs(reader, size, `bucket ${id} item weights and straws`);
      return { itemWeights: pairs.first, straws: pairs.second };
    }
    case "straw2":
      return { itemWeights: reader.u32Array(size, `bucket ${id} item weights`) };
  }
}

/** list and straw store (weight, derived) pairs item by item. */
function readWeightPairs(reader: ByteReader, size: number, what: string) {
  const interleaved = reader.u32Array(size * 2, what);
  const first = new Uint32Array(size);
  const second = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    first[i] = interleaved[2 * i];
    second[i] = interleaved[2 * i + 1];
  }
  return { first, second };
}

function readTreeWeights(reader: ByteReader, id: number, size: number): BucketWeights {
  const countOffset = reader.offset;
  const nodeCount = reader.u8(`bucket ${id} tree node count`);
  // Item i is the leaf at node 2i+1, so the last item needs node 2*size-1.
  if (size > 0 && nodeCount < 2 * size) {
    throw reader.error(`tree bucket ${id} has ${size} items but only ${nodeCount} nodes`, countOffset);
  }
  const nodeWeights = reader.u32Array(nodeCount, `bucket ${id} tree node weights`);
  const itemWeights = new Uint32Array(size);
  for (let i = 0; i < size; i++) itemWeights[i] = nodeWeights[2 * i + 1];
  return { itemWeights, nodeWeights };
}

function readRules(reader: ByteReader, maxRules: number): (Rule | undefined)[] {
  const rules: (Rule | undefined)[] = new Array(maxRules).fill(undefined);
  for (let slot = 0; slot < maxRules; slot++) rules[slot] = readRuleSlot(reader, slot);
  return rules;
}

function readRuleSlot(reader: ByteReader, slot: number): Rule | undefined {
  const flagOffset = reader.offset;
  const present = reader.u32(`rule ${slot} presence flag`);
  if (present === 0) return undefined;
  if (present !== 1)
    throw reader.error(`rule ${slot} presence flag is ${present}, expected 0 or 1`, flagOffset);
  const length = reader.u32(`rule ${slot} step count`);
  if (length * 12 + 4 > reader.remaining) {
    throw reader.error(`rule ${slot} says ${length} steps but only ${reader.remaining} bytes remain`);
  }
  const ruleset = reader.u8(`rule ${slot} ruleset`);
  const type = reader.u8(`rule ${slot} type`);
  const minSize = reader.u8(`rule ${slot} min_size`);
  const maxSize = reader.u8(`rule ${slot} max_size`);
  const steps: RuleStep[] = [];
  for (let index = 0; index < length; index++) steps.push(readRuleStep(reader, slot, index));
  return { id: slot, ruleset, type, minSize, maxSize, steps };
}

function readRuleStep(reader: ByteReader, slot: number, index: number): RuleStep {
  const opOffset = reader.offset;
  const op = reader.u32(`rule ${slot} step ${index} op`);
  // Ceph 16 knows no other opcodes; anything else means corruption or a newer Ceph (msr steps).
  if (!KNOWN_RULE_OPS.has(op))
    throw reader.error(`rule ${slot} step ${index} has unknown op ${op}`, opOffset);
  const arg1 = reader.s32(`rule ${slot} step ${index} arg1`);
  const arg2 = reader.s32(`rule ${slot} step ${index} arg2`);
  return { op: op as RuleOpCode, arg1, arg2 };
}

/**
 * type, item and rule names: u32 count, then (s32 key, u32 length, bytes). A length of 0 is
 * Ceph's marker for an old encoder bug that wrote 64-bit keys: the real length follows.
 */
function readNameMap(reader: ByteReader, what: string): Map<number, string> {
  return readStringMap(reader, what, true);
}

function readStringMap(reader: ByteReader, what: string, tolerateWideKeys: boolean): Map<number, string> {
  const count = reader.u32(`${what} count`);
  reader.needEntries(count, 8, `${what} says ${count} entries`);
  const names = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    const key = reader.s32(`${what} key`);
    let length = reader.u32(`${what} length for ${key}`);
    if (length === 0 && tolerateWideKeys) length = reader.u32(`${what} length for ${key}`);
    if (length > reader.remaining) {
      throw reader.error(`${what}: name of ${key} says ${length} bytes but only ${reader.remaining} remain`);
    }
    names.set(key, reader.utf8(length, `${what} name of ${key}`));
  }
  return names;
}

function readTunables(reader: ByteReader): Tunables {
  const tunables = legacyTunables();
  for (const group of TUNABLE_TAIL_GROUPS) {
    if (reader.atEnd()) break;
    for (const field of group) {
      const what = `tunable ${tailFieldLabel(field.key)}`;
      tunables[field.key] = field.widthBytes === 4 ? reader.u32(what) : reader.u8(what);
    }
  }
  return tunables;
}

function readDeviceClassTables(reader: ByteReader): DeviceClassTables {
  const itemClasses = readIntegerMap(reader, "device class map");
  const classNames = readStringMap(reader, "device class names", false);
  const count = reader.u32("shadow bucket table count");
  // Each entry is at least an s32 bucket id and a u32 inner count.
  reader.needEntries(count, 8, `shadow bucket table says ${count} entries`);
  const shadowBuckets = new Map<number, Map<number, number>>();
  for (let i = 0; i < count; i++) {
    const bucketId = reader.s32("shadow bucket table bucket id");
    shadowBuckets.set(bucketId, readIntegerMap(reader, `shadow buckets of ${bucketId}`));
  }
  return { classNames, itemClasses, shadowBuckets };
}

/** u32 count, then (s32 key, s32 value) pairs. */
function readIntegerMap(reader: ByteReader, what: string): Map<number, number> {
  const count = reader.u32(`${what} count`);
  reader.needEntries(count, 8, `${what} says ${count} entries`);
  const values = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const key = reader.s32(`${what} key`);
    values.set(key, reader.s32(`${what} value for ${key}`));
  }
  return values;
}

function readChooseArgs(
  reader: ByteReader,
  buckets: readonly (Bucket | undefined)[],
): Map<number, ChooseArgSet> {
  const count = reader.u32("choose_args count");
  // Each set is at least an s64 id and a u32 bucket count.
  reader.needEntries(count, 12, `choose_args says ${count} sets`);
  const sets = new Map<number, ChooseArgSet>();
  for (let i = 0; i < count; i++) {
    const setId = reader.s64("choose_args set id");
    sets.set(setId, readChooseArgSet(reader, setId, buckets));
  }
  return sets;
}

function readChooseArgSet(reader: ByteReader, setId: number, buckets: readonly (Bucket | undefined)[]) {
  const count = reader.u32(`choose_args ${setId} bucket count`);
  // Each entry is at least a u32 slot, a u32 position count and a u32 id count.
  reader.needEntries(count, 12, `choose_args ${setId} says ${count} buckets`);
  const set: ChooseArgSet = new Map();
  for (let i = 0; i < count; i++) {
    const slotOffset = reader.offset;
    const slot = reader.u32(`choose_args ${setId} bucket slot`);
    if (slot >= buckets.length) {
      throw reader.error(
        `choose_args ${setId} names bucket slot ${slot} but the map has ${buckets.length}`,
        slotOffset,
      );
    }
    set.set(-1 - slot, readChooseArg(reader, `choose_args ${setId} bucket ${-1 - slot}`, buckets[slot]));
  }
  return set;
}

function readChooseArg(reader: ByteReader, what: string, bucket: Bucket | undefined): ChooseArg {
  const positions = reader.u32(`${what} weight set count`);
  reader.needEntries(positions, 4, `${what} says ${positions} weight sets`);
  const weightSet: Uint32Array[] = [];
  for (let position = 0; position < positions; position++) {
    const size = reader.u32(`${what} weight set ${position} size`);
    reader.needEntries(size, 4, `${what} weight set ${position} says ${size} weights`);
    weightSet.push(reader.u32Array(size, `${what} weight set ${position}`));
  }
  const idsOffset = reader.offset;
  const idCount = reader.u32(`${what} id count`);
  reader.needEntries(idCount, 4, `${what} says ${idCount} ids`);
  // Replacement ids stand in for the bucket's items one for one (Ceph asserts the same).
  if (idCount > 0 && idCount !== bucket?.items.length) {
    throw reader.error(
      `${what} has ${idCount} ids but the bucket has ${bucket?.items.length ?? 0} items`,
      idsOffset,
    );
  }
  const ids = reader.s32Array(idCount, `${what} ids`);
  const arg: { ids?: Int32Array; weightSet?: Uint32Array[] } = {};
  if (positions > 0) arg.weightSet = weightSet;
  if (idCount > 0) arg.ids = ids;
  return arg;
}

/** Device id -> class name, from the class tables (entries for shadow buckets are skipped). */
function deviceClassesOf(tables: DeviceClassTables | undefined): Map<number, string> {
  const classes = new Map<number, string>();
  if (tables === undefined) return classes;
  for (const [item, classId] of tables.itemClasses) {
    const className = tables.classNames.get(classId);
    if (item >= 0 && className !== undefined) classes.set(item, className);
  }
  return classes;
}

function isEmptyTables(tables: DeviceClassTables): boolean {
  return tables.classNames.size === 0 && tables.itemClasses.size === 0 && tables.shadowBuckets.size === 0;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, "0");
}
