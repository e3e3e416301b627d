// crushtool 16.2's compiler (`crushtool -c`): text map -> CrushMap, matching crushtool's
// ids, weights and tunables. Statements are checked in crushtool's order and the first problem
// is reported as a CrushSyntaxError at its line:column; nothing else is ever thrown.
import { addBucket, makeBucket } from "../builder.ts";
import { TUNABLE_TEXT_NAMES, tunableProfile } from "../tunables.ts";
import {
  BUCKET_ALG_CODE,
  type BucketAlgName,
  type ChooseArg,
  type ChooseArgSet,
  type CrushMap,
  type Rule,
  RuleOp,
  type RuleOpCode,
  type RuleStep,
  RuleType,
  type Tunables,
  WEIGHT_ONE,
} from "../types.ts";
import { type CompileState, growBucketTable } from "./compile-state.ts";
import { CrushSyntaxError } from "./errors.ts";
import { textToExactInteger, textToInt32, textToWeight } from "./numbers.ts";
import {
  type BucketNode,
  type ChooseArgsNode,
  type DeviceNode,
  parseStatements,
  positionedError,
  type RuleNode,
  type StatementNode,
  type StepNode,
  type Token,
  type TunableNode,
  type TypeNode,
} from "./parser.ts";
import { populateShadowTrees } from "./shadow.ts";
import { type JoinedSource, joinSource } from "./source.ts";

export { CrushSyntaxError };

/** crushtool's limits on explicit item weights (CRUSH_MAX_DEVICE_WEIGHT / _BUCKET_WEIGHT). */
const DEVICE_WEIGHT_MAX = 100 * WEIGHT_ONE;
const BUCKET_WEIGHT_MAX = 65535 * WEIGHT_ONE;
/** Ceph refuses to grow the rule table past this many slots (CRUSH_MAX_RULES). */
const RULE_SLOTS_MAX = 256;
/**
 * Our own bounds, tighter than crushtool's (which wraps ids to 32 bits or tries to allocate
 * gigabytes): no real map comes near them, and they keep arrays indexed by id small.
 */
const DEVICE_ID_MAX = 1 << 24;
const BUCKET_ID_MAGNITUDE_MAX = 1 << 20;
const RULE_ID_MAX = 65535;
const POSITION_MAX = 65535;

const TUNABLE_KEYS: ReadonlyMap<string, keyof Tunables> = new Map(TUNABLE_TEXT_NAMES);
/** Tunables Ceph keeps in a u8 (the rest are u32, read back as int). */
const BYTE_TUNABLES: ReadonlySet<keyof Tunables> = new Set([
  "chooseleafVaryR",
  "chooseleafStable",
  "strawCalcVersion",
]);

const SET_STEP_OPS: ReadonlyMap<string, RuleOpCode> = new Map([
  ["set_choose_tries", RuleOp.setChooseTries],
  ["set_choose_local_tries", RuleOp.setChooseLocalTries],
  ["set_choose_local_fallback_tries", RuleOp.setChooseLocalFallbackTries],
  ["set_chooseleaf_tries", RuleOp.setChooseleafTries],
  ["set_chooseleaf_vary_r", RuleOp.setChooseleafVaryR],
  ["set_chooseleaf_stable", RuleOp.setChooseleafStable],
]);

/** Compiles crushtool text. Throws only CrushSyntaxError. */
export function compileCrushText(source: string, fileName = "<input>"): CrushMap {
  const joined = joinSource(typeof source === "string" ? source : String(source));
  try {
    const statements = parseStatements(joined, fileName);
    return compileStatements(statements, joined, fileName);
  } catch (error) {
    if (error instanceof CrushSyntaxError) throw error;
    // A bug of ours, not of the input: still report it in the one promised shape.
    const reason = `internal compiler error: ${error instanceof Error ? error.message : String(error)}`;
    throw new CrushSyntaxError(fileName, 1, 1, reason, { cause: error });
  }
}

function emptyCompiledMap(): CrushMap {
  return {
    buckets: [],
    rules: [],
    maxDevices: 0,
    // crushtool starts from legacy tunables so a text file compiles the same forever.
    tunables: tunableProfile("legacy"),
    typeNames: new Map(),
    itemNames: new Map(),
    ruleNames: new Map(),
    deviceClasses: new Map(),
  };
}

function compileStatements(statements: StatementNode[], source: JoinedSource, fileName: string): CrushMap {
  const state: CompileState = {
    map: emptyCompiledMap(),
    source,
    fileName,
    itemIds: new Map(),
    usedIds: new Set(),
    bucketWeights: new Map(),
    typeIds: new Map(),
    classIds: new Map(),
    requestedShadowIds: new Map(),
    ruleIds: new Map(),
    ruleSlots: 0,
    bucketSlots: 0,
    sawRule: false,
  };
  const ordered = reorderBuckets(state, statements);
  reserveFirstBucketIds(state, ordered);
  for (const statement of ordered) compileStatement(state, statement);
  finishClassTables(state);
  padBucketTable(state);
  return state.map;
}

function compileStatement(state: CompileState, statement: StatementNode): void {
  switch (statement.kind) {
    case "tunable":
      compileTunable(state, statement);
      return;
    case "device":
      compileDevice(state, statement);
      return;
    case "type":
      compileType(state, statement);
      return;
    case "bucket":
      compileBucket(state, statement);
      return;
    case "rule":
      compileRule(state, statement);
      return;
    case "choose_args":
      compileChooseArgs(state, statement);
      return;
  }
}

export function errorAt(state: CompileState, token: Token, reason: string): CrushSyntaxError {
  return positionedError(state.source, state.fileName, token.offset, reason);
}

/**
 * crushtool lets a bucket name a bucket defined later by swapping the two buckets' places
 * before compiling: for each pair i < j (in file order) where i contains j, the buckets at
 * i's and j's original places trade places. It is a single pass, so deeper forward chains
 * can still fail with "not defined", exactly as in crushtool; two buckets containing each
 * other are an error.
 */
function reorderBuckets(state: CompileState, statements: StatementNode[]): StatementNode[] {
  const ordered = [...statements];
  const buckets = statements.filter((statement): statement is BucketNode => statement.kind === "bucket");
  const placeByName = new Map<string, number>();
  const itemNamesByName = new Map<string, Set<string>>();
  statements.forEach((statement, index) => {
    if (statement.kind !== "bucket") return;
    placeByName.set(statement.name.text, index);
    const names = itemNamesByName.get(statement.name.text) ?? new Set<string>();
    for (const item of statement.items) names.add(item.name.text);
    itemNamesByName.set(statement.name.text, names);
  });
  for (let i = 0; i < buckets.length; i++) {
    for (let j = i + 1; j < buckets.length; j++) {
      const first = buckets[i].name.text;
      const second = buckets[j].name.text;
      if (!itemNamesByName.get(first)?.has(second)) continue;
      if (itemNamesByName.get(second)?.has(first)) {
        throw errorAt(state, buckets[i].name, `buckets '${first}' and '${second}' contain each other`);
      }
      const firstPlace = placeByName.get(first)!;
      const secondPlace = placeByName.get(second)!;
      [ordered[firstPlace], ordered[secondPlace]] = [ordered[secondPlace], ordered[firstPlace]];
    }
  }
  return ordered;
}

/** crushtool reserves the id on each bucket's first line before assigning any missing ids. */
function reserveFirstBucketIds(state: CompileState, statements: StatementNode[]): void {
  for (const statement of statements) {
    if (statement.kind === "bucket" && statement.ids.length > 0) {
      state.usedIds.add(textToInt32(statement.ids[0].id.text));
    }
  }
}

function compileTunable(state: CompileState, statement: TunableNode): void {
  const key = TUNABLE_KEYS.get(statement.name.text);
  if (key === undefined) {
    const known = TUNABLE_TEXT_NAMES.map(([name]) => name).join(", ");
    throw errorAt(state, statement.name, `unknown tunable '${statement.name.text}' (known: ${known})`);
  }
  // Ceph stores these as u32 or u8, so `choose_total_tries 4294967295` and `-1` agree.
  const value = textToInt32(statement.value.text);
  state.map.tunables[key] = BYTE_TUNABLES.has(key) ? value & 0xff : value >>> 0;
}

function compileDevice(state: CompileState, statement: DeviceNode): void {
  if (textToExactInteger(statement.id.text) >= DEVICE_ID_MAX) {
    throw errorAt(
      state,
      statement.id,
      `device id ${statement.id.text} is too large (limit ${DEVICE_ID_MAX - 1})`,
    );
  }
  const id = textToInt32(statement.id.text);
  const name = statement.name.text;
  if (state.itemIds.has(name)) throw errorAt(state, statement.name, `item '${name}' is defined twice`);
  state.map.itemNames.set(id, name);
  state.itemIds.set(name, id);
  state.usedIds.add(id);
  if (id >= state.map.maxDevices) state.map.maxDevices = id + 1;
  if (statement.className !== undefined) {
    classIdFor(state, statement.className.text);
    state.map.deviceClasses.set(id, statement.className.text);
  }
}

/** Ceph numbers classes in order of first mention: devices, then bucket `id ... class` lines. */
function classIdFor(state: CompileState, className: string): number {
  let id = state.classIds.get(className);
  if (id === undefined) {
    id = state.classIds.size === 0 ? 0 : Math.max(...state.classIds.values()) + 1;
    state.classIds.set(className, id);
  }
  return id;
}

function compileType(state: CompileState, statement: TypeNode): void {
  // Redefinitions overwrite silently in crushtool; so they do here.
  const id = textToInt32(statement.id.text);
  state.typeIds.set(statement.name.text, id);
  state.map.typeNames.set(id, statement.name.text);
}

interface BucketHeader {
  id: number | undefined;
  type: number;
  alg: BucketAlgName;
  hash: number;
  /** `id -N class C` lines: class id -> requested shadow bucket id. */
  shadowIds: Map<number, number>;
}

function compileBucket(state: CompileState, statement: BucketNode): void {
  if (state.sawRule) throw errorAt(state, statement.typeName, "buckets must be defined before rules");
  const header = compileBucketHeader(state, statement);
  const { items, weights } = compileBucketItems(state, statement, header.alg);
  const id = header.id ?? firstUnusedBucketId(state);
  if (state.map.buckets[-1 - id] !== undefined) {
    throw errorAt(state, statement.ids[0]?.id ?? statement.name, `duplicate bucket id ${id}`);
  }
  const bucket = makeBucket(
    { id, type: header.type, alg: header.alg, hash: header.hash, items, weights },
    state.map.tunables.strawCalcVersion,
  );
  addBucket(state.map, bucket, statement.name.text);
  growBucketTable(state, id);
  state.itemIds.set(statement.name.text, id);
  state.usedIds.add(id);
  state.bucketWeights.set(id, bucket.weight);
  if (header.shadowIds.size > 0) state.requestedShadowIds.set(id, header.shadowIds);
}

function compileBucketHeader(state: CompileState, statement: BucketNode): BucketHeader {
  const type = state.typeIds.get(statement.typeName.text);
  if (type === undefined) {
    throw errorAt(state, statement.typeName, `bucket type '${statement.typeName.text}' is not defined`);
  }
  const name = statement.name.text;
  if (state.itemIds.has(name))
    throw errorAt(state, statement.name, `bucket or device '${name}' is already defined`);
  let id: number | undefined;
  const shadowIds = new Map<number, number>();
  for (const line of statement.ids) {
    if (textToExactInteger(line.id.text) < -BUCKET_ID_MAGNITUDE_MAX) {
      throw errorAt(
        state,
        line.id,
        `bucket id ${line.id.text} is too small (limit -${BUCKET_ID_MAGNITUDE_MAX})`,
      );
    }
    const value = textToInt32(line.id.text);
    if (line.className === undefined) {
      id = value;
      continue;
    }
    const classId = classIdFor(state, line.className.text);
    if (shadowIds.has(classId)) {
      throw errorAt(
        state,
        line.className,
        `duplicate device class ${line.className.text} for bucket ${name}`,
      );
    }
    shadowIds.set(classId, value);
  }
  const alg = statement.alg.text;
  if (!Object.hasOwn(BUCKET_ALG_CODE, alg)) {
    throw errorAt(
      state,
      statement.alg,
      `unknown bucket alg '${alg}' (expected uniform, list, tree, straw or straw2)`,
    );
  }
  const lastHash = statement.hashes.at(-1);
  const hash = lastHash === undefined || lastHash.text === "rjenkins1" ? 0 : textToInt32(lastHash.text);
  // `id -0` reads as 0, which crushtool takes as "no id given".
  return { id: id === 0 ? undefined : id, type, alg: alg as BucketAlgName, hash, shadowIds };
}

function firstUnusedBucketId(state: CompileState): number {
  let id = -1;
  while (state.usedIds.has(id)) id--;
  return id;
}

interface CompiledItems {
  items: number[];
  weights: number[];
}

function compileBucketItems(state: CompileState, statement: BucketNode, alg: BucketAlgName): CompiledItems {
  const explicitPositions = new Set<number>();
  for (const item of statement.items) {
    if (item.position === undefined) continue;
    // crushtool sizes the bucket by the largest pos; bound it before allocating.
    if (textToExactInteger(item.position.text) > POSITION_MAX) {
      throw errorAt(state, item.position, `pos ${item.position.text} is too large (limit ${POSITION_MAX})`);
    }
    const position = textToInt32(item.position.text);
    if (explicitPositions.has(position)) {
      throw errorAt(
        state,
        item.position,
        `item '${item.name.text}' in bucket '${statement.name.text}' has explicit pos ${position}, which is occupied`,
      );
    }
    explicitPositions.add(position);
  }
  const size = Math.max(statement.items.length, ...explicitPositions);
  const items = new Array<number>(size).fill(0);
  const weights = new Array<number>(size).fill(0);
  let nextPosition = 0;
  let bucketWeight = 0;
  let uniformWeight: number | undefined;
  for (const item of statement.items) {
    const itemId = state.itemIds.get(item.name.text);
    if (itemId === undefined) {
      throw errorAt(
        state,
        item.name,
        `item '${item.name.text}' in bucket '${statement.name.text}' is not defined`,
      );
    }
    const weight = itemWeight(state, item.weight, itemId);
    if (alg === "uniform") {
      uniformWeight ??= weight;
      if (weight !== uniformWeight) {
        throw errorAt(
          state,
          item.weight ?? item.name,
          `item '${item.name.text}' in uniform bucket '${statement.name.text}' has weight ${formatWeight(weight)} but previous item(s) have weight ${formatWeight(uniformWeight)}; uniform bucket items must all have identical weights`,
        );
      }
    }
    let position = item.position === undefined ? -1 : textToInt32(item.position.text);
    if (position >= size) {
      throw errorAt(
        state,
        item.position ?? item.name,
        `item '${item.name.text}' in bucket '${statement.name.text}' has pos ${position} >= size ${size}`,
      );
    }
    if (position < 0) {
      while (explicitPositions.has(nextPosition)) nextPosition++;
      position = nextPosition++;
    }
    items[position] = itemId;
    weights[position] = weight;
    if (bucketWeight + weight > 0xffffffff) {
      throw errorAt(
        state,
        item.weight ?? item.name,
        `bucket '${statement.name.text}' weight overflows 32 bits; lower the item weights`,
      );
    }
    bucketWeight += weight;
  }
  return { items, weights };
}

function formatWeight(weight: number): string {
  return `${weight / WEIGHT_ONE}`;
}

/** An item's 16.16 weight: explicit, else 1.0 for a device and its own weight for a bucket. */
function itemWeight(state: CompileState, weightToken: Token | undefined, itemId: number): number {
  if (weightToken === undefined) return state.bucketWeights.get(itemId) ?? WEIGHT_ONE;
  const weight = textToWeight(weightToken.text);
  if (itemId >= 0 && weight > DEVICE_WEIGHT_MAX)
    throw errorAt(state, weightToken, "device weight limited to 100");
  if (itemId < 0 && weight > BUCKET_WEIGHT_MAX) {
    throw errorAt(state, weightToken, "bucket weight limited to 65535 to prevent overflow");
  }
  return weight;
}

function compileRule(state: CompileState, statement: RuleNode): void {
  if (!state.sawRule) {
    state.sawRule = true;
    // crushtool builds the device-class shadow trees when it meets the first rule.
    populateShadowTrees(state);
  }
  const name = statement.name?.text;
  if (name !== undefined && state.ruleIds.has(name)) {
    throw errorAt(state, statement.name!, `rule name '${name}' already defined`);
  }
  if (textToExactInteger(statement.id.text) > RULE_ID_MAX) {
    throw errorAt(state, statement.id, `rule id ${statement.id.text} is too large (limit ${RULE_ID_MAX})`);
  }
  const id = textToInt32(statement.id.text);
  if (state.map.rules[id] !== undefined) throw errorAt(state, statement.id, `rule ${id} already exists`);
  if (id >= state.ruleSlots) {
    if (state.ruleSlots + 1 > RULE_SLOTS_MAX) {
      throw errorAt(
        state,
        statement.id,
        `unable to add rule id ${id} for rule '${name ?? ""}': the rule table is full`,
      );
    }
    state.ruleSlots = id + 1;
  }
  const steps = statement.steps.map((step) => compileStep(state, step, name ?? ""));
  const rule: Rule = {
    id,
    // The mask fields are bytes in Ceph 16.
    ruleset: id & 0xff,
    type: statement.type.text === "erasure" ? RuleType.erasure : RuleType.replicated,
    minSize: textToInt32(statement.minSize.text) & 0xff,
    maxSize: textToInt32(statement.maxSize.text) & 0xff,
    steps,
  };
  while (state.map.rules.length < id) state.map.rules.push(undefined);
  state.map.rules[id] = rule;
  if (name !== undefined) {
    state.map.ruleNames.set(id, name);
    state.ruleIds.set(name, id);
  }
}

function compileStep(state: CompileState, step: StepNode, ruleName: string): RuleStep {
  switch (step.kind) {
    case "take":
      return { op: RuleOp.take, arg1: compileTakeItem(state, step, ruleName), arg2: 0 };
    case "set":
      return { op: SET_STEP_OPS.get(step.keyword.text)!, arg1: textToInt32(step.value.text), arg2: 0 };
    case "choose": {
      const type = state.typeIds.get(step.typeName.text);
      if (type === undefined) {
        throw errorAt(state, step.typeName, `in rule '${ruleName}' type '${step.typeName.text}' not defined`);
      }
      const leaf = step.keyword.text === "chooseleaf";
      const firstn = step.mode.text === "firstn";
      const op = leaf
        ? firstn
          ? RuleOp.chooseleafFirstn
          : RuleOp.chooseleafIndep
        : firstn
          ? RuleOp.chooseFirstn
          : RuleOp.chooseIndep;
      return { op, arg1: textToInt32(step.count.text), arg2: type };
    }
    case "emit":
      return { op: RuleOp.emit, arg1: 0, arg2: 0 };
  }
}

function compileTakeItem(
  state: CompileState,
  step: Extract<StepNode, { kind: "take" }>,
  ruleName: string,
): number {
  const itemId = state.itemIds.get(step.item.text);
  if (itemId === undefined)
    throw errorAt(state, step.item, `in rule '${ruleName}' item '${step.item.text}' not defined`);
  if (step.className === undefined) return itemId;
  const className = step.className.text;
  const classId = state.classIds.get(className);
  if (classId === undefined)
    throw errorAt(state, step.className, `device class '${className}' is not defined`);
  const shadows = state.map.deviceClassTables?.shadowBuckets.get(itemId);
  if (shadows === undefined) {
    throw errorAt(
      state,
      step.item,
      `in rule '${ruleName}' step take ${step.item.text} has no class information`,
    );
  }
  const shadowId = shadows.get(classId);
  if (shadowId === undefined) {
    throw errorAt(
      state,
      step.className,
      `in rule '${ruleName}' step take ${step.item.text} no matching bucket for class ${className}`,
    );
  }
  return shadowId;
}

function compileChooseArgs(state: CompileState, statement: ChooseArgsNode): void {
  const setId = textToInt32(statement.setId.text);
  const sets = (state.map.chooseArgs ??= new Map());
  if (sets.has(setId)) throw errorAt(state, statement.setId, `choose_args ${setId} duplicated`);
  const set: ChooseArgSet = new Map();
  for (const arg of statement.args) {
    const bucketId = textToInt32(arg.bucketId.text);
    const bucket = state.map.buckets[-1 - bucketId];
    if (bucket === undefined)
      throw errorAt(state, arg.bucketId, `choose_args bucket ${bucketId} does not exist`);
    const checkSize = (count: number, token: Token, what: string): void => {
      if (count !== bucket.items.length) {
        throw errorAt(
          state,
          token,
          `bucket ${bucketId} needs exactly ${bucket.items.length} ${what} but got ${count}`,
        );
      }
    };
    const previous = set.get(bucketId);
    let weightSet = previous?.weightSet;
    let ids = previous?.ids;
    if (arg.weightSet !== undefined && arg.weightSet.length > 0) {
      for (const row of arg.weightSet) checkSize(row.length, row[0] ?? arg.bucketId, "weights");
      weightSet = arg.weightSet.map((row) => Uint32Array.from(row, (token) => textToWeight(token.text)));
    }
    if (arg.ids !== undefined) {
      checkSize(arg.ids.length, arg.ids[0] ?? arg.bucketId, "ids");
      if (arg.ids.length > 0) ids = Int32Array.from(arg.ids, (token) => textToInt32(token.text));
    }
    const chooseArg: ChooseArg = { ...(weightSet ? { weightSet } : {}), ...(ids ? { ids } : {}) };
    set.set(bucketId, chooseArg);
  }
  sets.set(setId, set);
}

function padBucketTable(state: CompileState): void {
  while (state.map.buckets.length < state.bucketSlots) state.map.buckets.push(undefined);
}

/** Class tables for maps that mention classes; shadow trees were filled in by the first rule. */
function finishClassTables(state: CompileState): void {
  if (state.classIds.size === 0) return;
  const tables = (state.map.deviceClassTables ??= {
    classNames: new Map(),
    itemClasses: new Map(),
    shadowBuckets: new Map(),
  });
  for (const [name, id] of state.classIds) tables.classNames.set(id, name);
  for (const [device, className] of state.map.deviceClasses)
    tables.itemClasses.set(device, state.classIds.get(className)!);
}
