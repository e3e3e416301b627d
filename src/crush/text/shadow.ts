// Device-class shadow trees, built the way crushtool does when it meets the first rule
// (CrushWrapper::populate_classes): for every root bucket, in increasing id order, and every
// class, in class id order, a copy "<bucket>~<class>" of the subtree that keeps only that
// class's devices. Children are copied before their parent, so new ids are handed out
// depth first; ids written as `id -N class C` are reused. Like crushtool, a failure (a uniform
// bucket cannot take a non-zero weight, a requested id is taken) silently stops the whole
// pass, leaving the copies made so far: crushtool ignores that error too, and a later
// `step take X class C` then reports the missing shadow bucket.
import { addBucket, makeBucket } from "../builder.ts";
import type { Bucket, DeviceClassTables } from "../types.ts";
import { type CompileState, growBucketTable } from "./compile-state.ts";

class ShadowTreeAbort extends Error {}

interface ShadowPass {
  readonly state: CompileState;
  readonly tables: DeviceClassTables;
  readonly requestedIds: ReadonlySet<number>;
  readonly idsByName: Map<string, number>;
}

export function populateShadowTrees(state: CompileState): void {
  const tables = (state.map.deviceClassTables ??= {
    classNames: new Map(),
    itemClasses: new Map(),
    shadowBuckets: new Map(),
  });
  const requestedIds = new Set<number>();
  for (const shadows of state.requestedShadowIds.values())
    for (const id of shadows.values()) requestedIds.add(id);
  const pass: ShadowPass = { state, tables, requestedIds, idsByName: new Map() };
  const classIds = [...state.classIds.values()].sort((left, right) => left - right);
  try {
    for (const root of rootBucketIds(state)) {
      for (const classId of classIds) cloneForClass(pass, root, classId);
    }
  } catch (error) {
    if (!(error instanceof ShadowTreeAbort)) throw error;
  }
}

/** Buckets no other bucket contains, most negative id first (Ceph keeps them in a std::set). */
function rootBucketIds(state: CompileState): number[] {
  const contained = new Set<number>();
  for (const bucket of state.map.buckets) if (bucket) for (const item of bucket.items) contained.add(item);
  return state.map.buckets
    .filter((bucket): bucket is Bucket => bucket !== undefined && !contained.has(bucket.id))
    .map((bucket) => bucket.id)
    .sort((left, right) => left - right);
}

function className(pass: ShadowPass, classId: number): string {
  for (const [name, id] of pass.state.classIds) if (id === classId) return name;
  throw new ShadowTreeAbort();
}

/** Returns the id of `originalId`'s shadow bucket for the class, creating it if needed. */
function cloneForClass(pass: ShadowPass, originalId: number, classId: number): number {
  const { map } = pass.state;
  const copyName = `${map.itemNames.get(originalId)}~${className(pass, classId)}`;
  const existing = pass.idsByName.get(copyName);
  if (existing !== undefined) return existing;
  const original = map.buckets[-1 - originalId]!;
  const items: number[] = [];
  const weights: number[] = [];
  let total = 0;
  const add = (item: number, weight: number): void => {
    // An empty uniform bucket has item weight 0 and refuses any other weight.
    if (original.alg === "uniform" && weight !== 0) throw new ShadowTreeAbort();
    if (total + weight > 0xffffffff) throw new ShadowTreeAbort();
    total += weight;
    items.push(item);
    weights.push(weight);
  };
  original.items.forEach((item, index) => {
    if (item >= 0) {
      if (deviceHasClass(pass, item, classId)) {
        add(item, original.itemWeights[index]);
      }
      return;
    }
    const childCopy = cloneForClass(pass, item, classId);
    add(childCopy, map.buckets[-1 - childCopy]!.weight);
  });
  const id = pass.state.requestedShadowIds.get(originalId)?.get(classId) ?? newShadowId(pass);
  if (map.buckets[-1 - id] !== undefined) throw new ShadowTreeAbort();
  const bucket = makeBucket(
    { id, type: original.type, alg: original.alg, hash: original.hash, items, weights },
    map.tunables.strawCalcVersion,
  );
  addBucket(map, bucket, copyName);
  growBucketTable(pass.state, id);
  pass.idsByName.set(copyName, id);
  pass.tables.itemClasses.set(id, classId);
  let shadows = pass.tables.shadowBuckets.get(originalId);
  if (shadows === undefined) pass.tables.shadowBuckets.set(originalId, (shadows = new Map()));
  shadows.set(classId, id);
  return id;
}

function deviceHasClass(pass: ShadowPass, device: number, classId: number): boolean {
  const name = pass.state.map.deviceClasses.get(device);
  return name !== undefined && pass.state.classIds.get(name) === classId;
}

/** The first id that is neither a bucket nor a shadow id requested in the text. */
function newShadowId(pass: ShadowPass): number {
  let id = -1;
  while (pass.state.map.buckets[-1 - id] !== undefined || pass.requestedIds.has(id)) id--;
  return id;
}
