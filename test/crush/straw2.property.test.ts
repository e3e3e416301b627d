// straw2's defining property (crush.md §3): each item draws independently, so adding, reweighting
// or marking out one device moves data only to or from that device. Plus chooseleaf's failure
// domain guarantee on a two-level hierarchy.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addBucket,
  type CrushMap,
  emptyMap,
  Mapper,
  makeBucket,
  makeRule,
  RuleOp,
} from "../../src/crush/index.ts";

const X_COUNT = 500;
const RUNS = { numRuns: 100 };
const IN = 0x10000;

const weightArb = fc.integer({ min: 0x1000, max: 0x40000 });
const weightsArb = fc.array(weightArb, { minLength: 2, maxLength: 12 });

/** One straw2 root (id -1) over devices 0..n-1, and rule 0: take root / choose firstn 0 type 0 / emit. */
function flatMap(weights: readonly number[]): CrushMap {
  const map = emptyMap();
  map.typeNames.set(0, "osd").set(1, "root");
  const items = weights.map((_, device) => device);
  addBucket(map, makeBucket({ id: -1, type: 1, alg: "straw2", items, weights }), "root");
  for (const device of items) map.itemNames.set(device, `osd.${device}`);
  map.rules[0] = makeRule(0, [
    [RuleOp.take, -1, 0],
    [RuleOp.chooseFirstn, 0, 0],
    [RuleOp.emit, 0, 0],
  ]);
  map.ruleNames.set(0, "flat");
  return map;
}

function mapAll(map: CrushMap, numRep: number, reweights: ArrayLike<number>): number[][] {
  const mapper = new Mapper(map);
  const results: number[][] = [];
  for (let x = 0; x < X_COUNT; x++) results.push(mapper.map(0, x, numRep, reweights));
  return results;
}

const allIn = (devices: number) => new Uint32Array(devices).fill(IN);
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((item, index) => item === b[index]);

describe("straw2: data moves only to or from the changed device", () => {
  it("adding a device: every changed input now maps to (contains) the new device", () => {
    let movedTotal = 0;
    fc.assert(
      fc.property(weightsArb, weightArb, (weights, added) => {
        const before = flatMap(weights);
        const after = flatMap([...weights, added]);
        const newDevice = weights.length;
        for (const numRep of [1, 3]) {
          const a = mapAll(before, numRep, allIn(weights.length));
          const b = mapAll(after, numRep, allIn(weights.length + 1));
          const bad: string[] = [];
          for (let x = 0; x < X_COUNT; x++) {
            // firstn may come up short when skewed weights exhaust the retries; one replica never does.
            if (a[x].length > Math.min(numRep, weights.length) || (numRep === 1 && a[x].length !== 1))
              bad.push(`x ${x}: bad length [${a[x]}]`);
            if (same(a[x], b[x])) continue;
            movedTotal++;
            if (numRep === 1 ? b[x][0] !== newDevice : !b[x].includes(newDevice))
              bad.push(`x ${x} numRep ${numRep}: [${a[x]}] -> [${b[x]}] without device ${newDevice}`);
          }
          expect(bad).toEqual([]);
        }
      }),
      RUNS,
    );
    expect(movedTotal).toBeGreaterThan(0); // the property was not vacuous
  });

  it("raising a device's weight moves 1-replica inputs only to it; lowering only from it", () => {
    fc.assert(
      fc.property(
        weightsArb.chain((weights) =>
          fc.tuple(fc.constant(weights), fc.nat({ max: weights.length - 1 }), weightArb),
        ),
        ([weights, device, newWeight]) => {
          const changed = [...weights];
          changed[device] = newWeight;
          const a = mapAll(flatMap(weights), 1, allIn(weights.length));
          const b = mapAll(flatMap(changed), 1, allIn(weights.length));
          let moved = 0;
          const bad: string[] = [];
          for (let x = 0; x < X_COUNT; x++) {
            if (a[x][0] === b[x][0]) continue;
            moved++;
            const ok = newWeight > weights[device] ? b[x][0] === device : a[x][0] === device;
            if (!ok) bad.push(`x ${x}: ${a[x][0]} -> ${b[x][0]} (device ${device} reweighted)`);
          }
          expect(bad).toEqual([]);
          if (newWeight === weights[device]) expect(moved).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it("marking a device out (reweight 0) moves only the inputs that used it, and none map to it", () => {
    fc.assert(
      fc.property(
        weightsArb.chain((weights) => fc.tuple(fc.constant(weights), fc.nat({ max: weights.length - 1 }))),
        ([weights, device]) => {
          const map = flatMap(weights);
          const reweights = allIn(weights.length);
          reweights[device] = 0;
          for (const numRep of [1, 3]) {
            const a = mapAll(map, numRep, allIn(weights.length));
            const b = mapAll(map, numRep, reweights);
            const bad: string[] = [];
            for (let x = 0; x < X_COUNT; x++) {
              if (b[x].includes(device) || (!a[x].includes(device) && !same(a[x], b[x])))
                bad.push(`x ${x} numRep ${numRep}: [${a[x]}] -> [${b[x]}] (device ${device} out)`);
            }
            expect(bad).toEqual([]);
          }
        },
      ),
      RUNS,
    );
  });
});

/** root (-1) > hosts (-2, -3, ...) > devices; rule 0: take root / chooseleaf firstn 0 type host / emit. */
function hostMap(hosts: readonly (readonly number[])[]): { map: CrushMap; hostOf: Map<number, number> } {
  const map = emptyMap();
  map.typeNames.set(0, "osd").set(1, "host").set(2, "root");
  const hostOf = new Map<number, number>();
  const hostIds: number[] = [];
  const hostWeights: number[] = [];
  let device = 0;
  hosts.forEach((deviceWeights, index) => {
    const id = -2 - index;
    const items = deviceWeights.map(() => device++);
    for (const item of items) hostOf.set(item, id);
    const bucket = makeBucket({ id, type: 1, alg: "straw2", items, weights: deviceWeights });
    addBucket(map, bucket, `host${index}`);
    hostIds.push(id);
    hostWeights.push(bucket.weight);
  });
  addBucket(
    map,
    makeBucket({ id: -1, type: 2, alg: "straw2", items: hostIds, weights: hostWeights }),
    "root",
  );
  map.rules[0] = makeRule(0, [
    [RuleOp.take, -1, 0],
    [RuleOp.chooseleafFirstn, 0, 1],
    [RuleOp.emit, 0, 0],
  ]);
  return { map, hostOf };
}

describe("chooseleaf firstn type host", () => {
  it("never places two replicas under one host when there are enough hosts", () => {
    const hostsArb = fc.array(fc.array(weightArb, { minLength: 1, maxLength: 4 }), {
      minLength: 2,
      maxLength: 6,
    });
    fc.assert(
      fc.property(
        hostsArb.chain((hosts) => fc.tuple(fc.constant(hosts), fc.integer({ min: 1, max: hosts.length }))),
        ([hosts, numRep]) => {
          const { map, hostOf } = hostMap(hosts);
          const mapper = new Mapper(map);
          const reweights = allIn(map.maxDevices);
          const bad: string[] = [];
          for (let x = 0; x < X_COUNT; x++) {
            const result = mapper.map(0, x, numRep, reweights);
            const used = new Set(result.map((item) => hostOf.get(item)));
            if (
              result.length === 0 ||
              result.length > numRep ||
              used.has(undefined) ||
              used.size !== result.length
            )
              bad.push(`x ${x}: [${result}]`);
          }
          expect(bad).toEqual([]);
        },
      ),
      RUNS,
    );
  });
});
