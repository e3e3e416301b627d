// Mapper edges: missing rules, empty results, invalid takes, indep holes, short firstn results,
// short reweight vectors, choose_args weight sets, reuse, and the tracer's account of a mapping.
import { describe, expect, it } from "vitest";
import {
  addBucket,
  type ChooseArgSet,
  type CrushMap,
  defaultChooseArgs,
  defaultReweights,
  emptyMap,
  ITEM_NONE,
  Mapper,
  makeBucket,
  RecordingTracer,
  RuleOp,
  type RuleStep,
  type TraceEvent,
} from "../../src/crush/index.ts";
import { loadMap } from "../helpers/crush-maps.ts";

const racks = loadMap("racks");
const indep = loadMap("indep");
const exhaust = loadMap("exhaust");

function withRule(map: CrushMap, steps: RuleStep[], id = map.rules.length): number {
  map.rules[id] = { id, ruleset: id, type: 1, minSize: 1, maxSize: 10, steps };
  return id;
}

const take = (item: number): RuleStep => ({ op: RuleOp.take, arg1: item, arg2: 0 });
const emit: RuleStep = { op: RuleOp.emit, arg1: 0, arg2: 0 };

/** One straw2 root (-1) over `weights.length` devices; rule 0 picks devices directly (firstn 0). */
function flatMap(weights: number[]): CrushMap {
  const map = emptyMap();
  map.typeNames.set(0, "osd").set(1, "root");
  addBucket(
    map,
    makeBucket({ id: -1, type: 1, alg: "straw2", items: weights.map((_, i) => i), weights }),
    "root",
  );
  withRule(map, [take(-1), { op: RuleOp.chooseFirstn, arg1: 0, arg2: 0 }, emit], 0);
  return map;
}

describe("Mapper: empty results", () => {
  it("returns [] for a missing rule id, a negative id and a map without rules", () => {
    const mapper = new Mapper(racks);
    const reweights = defaultReweights(racks);
    expect(mapper.map(racks.rules.length, 1, 3, reweights)).toEqual([]);
    expect(mapper.map(999, 1, 3, reweights)).toEqual([]);
    expect(mapper.map(-1, 1, 3, reweights)).toEqual([]);
    const empty = emptyMap();
    expect(new Mapper(empty).map(0, 1, 3, [])).toEqual([]);
  });

  it("returns [] for a rule hole and for a rule without steps", () => {
    const map = loadMap("racks");
    map.rules[7] = undefined;
    const noSteps = withRule(map, [], 8);
    const mapper = new Mapper(map);
    expect(mapper.map(7, 1, 3, defaultReweights(map))).toEqual([]);
    expect(mapper.map(noSteps, 1, 3, defaultReweights(map))).toEqual([]);
  });

  it("returns [] for resultMax 0 or negative", () => {
    const mapper = new Mapper(racks);
    const reweights = defaultReweights(racks);
    for (const rule of [0, 1, 2, 3]) {
      expect(mapper.map(rule, 5, 0, reweights)).toEqual([]);
      expect(mapper.map(rule, 5, -2, reweights)).toEqual([]);
      expect(mapper.mapInto(rule, 5, 0, reweights, new Int32Array(4))).toBe(0);
    }
  });

  it("ignores a take of an invalid id (nothing to choose from -> [])", () => {
    const map = loadMap("racks");
    const missingBucket = -(map.buckets.length + 5);
    const rules = [
      withRule(map, [take(missingBucket), { op: RuleOp.chooseleafFirstn, arg1: 0, arg2: 1 }, emit]),
      withRule(map, [take(map.maxDevices + 3), emit]),
      withRule(map, [take(ITEM_NONE), { op: RuleOp.chooseFirstn, arg1: 0, arg2: 0 }, emit]),
    ];
    const mapper = new Mapper(map);
    for (const rule of rules) {
      for (let x = 0; x < 50; x++) expect(mapper.map(rule, x, 3, defaultReweights(map))).toEqual([]);
    }
    // A valid device can be taken and emitted as is.
    const takeDevice = withRule(map, [take(2), emit]);
    expect(new Mapper(map).map(takeDevice, 0, 3, defaultReweights(map))).toEqual([2]);
  });
});

describe("Mapper: indep and firstn result sizes", () => {
  it("indep returns exactly numRep positions, with ITEM_NONE holes when devices are out", () => {
    const mapper = new Mapper(indep, defaultChooseArgs(indep));
    const reweights = defaultReweights(indep);
    // Leave only 4 devices in: an indep rule cannot fill 6 positions.
    reweights.fill(0);
    for (const device of [0, 5, 9, 14]) reweights[device] = 0x10000;
    let holes = 0;
    for (let x = 0; x < 200; x++) {
      for (const rule of [0, 1, 2, 3, 4, 5]) {
        const result = mapper.map(rule, x, 6, reweights);
        expect(result).toHaveLength(6);
        for (const item of result) expect([ITEM_NONE, 0, 5, 9, 14]).toContain(item);
        holes += result.filter((item) => item === ITEM_NONE).length;
      }
    }
    expect(holes).toBeGreaterThan(0);
    expect(ITEM_NONE).toBe(2147483647);
    // Everything out: all holes, still numRep positions.
    expect(mapper.map(0, 3, 5, new Uint32Array(indep.maxDevices))).toEqual(new Array(5).fill(ITEM_NONE));
  });

  it("firstn can return fewer than asked (8 devices, 10 wanted; few tries)", () => {
    const mapper = new Mapper(exhaust, defaultChooseArgs(exhaust));
    const reweights = defaultReweights(exhaust);
    const lengths = new Set<number>();
    for (let x = 0; x < 256; x++) {
      const result = mapper.map(0, x, 10, reweights);
      expect(result.length).toBeLessThanOrEqual(8);
      expect(result).not.toContain(ITEM_NONE);
      expect(new Set(result).size).toBe(result.length);
      lengths.add(result.length);
    }
    expect(Math.max(...lengths)).toBeLessThan(10);
    // Rule 1 (set_choose_tries 3): crushtool reports short results; x 0 gives [7,5,4,2].
    expect(mapper.map(1, 0, 8, reweights)).toEqual([7, 5, 4, 2]);
    let short = 0;
    for (let x = 0; x < 256; x++) if (mapper.map(1, x, 8, reweights).length < 8) short++;
    expect(short).toBeGreaterThan(0);
  });

  it("reweights shorter than maxDevices mark the remaining devices out", () => {
    const mapper = new Mapper(racks, defaultChooseArgs(racks));
    const full = defaultReweights(racks);
    for (const length of [0, 5, 11, racks.maxDevices - 1]) {
      const short = full.slice(0, length);
      const padded = new Uint32Array(racks.maxDevices);
      padded.set(short);
      for (let x = 0; x < 200; x++) {
        for (const rule of [0, 2]) {
          const result = mapper.map(rule, x, 3, short);
          for (const item of result) expect(item).toBeLessThan(length);
          expect(result).toEqual(mapper.map(rule, x, 3, padded));
        }
        const positional = mapper.map(3, x, 4, short);
        expect(positional).toHaveLength(4);
        expect(positional).toEqual(mapper.map(3, x, 4, padded));
      }
    }
    // Plain arrays work as well as typed arrays.
    expect(mapper.map(0, 9, 3, Array.from(full))).toEqual(mapper.map(0, 9, 3, full));
  });
});

describe("Mapper: choose_args weight sets", () => {
  const weights = [0x10000, 0x20000, 0x18000, 0x10000, 0x30000];

  function withChooseArgs(weightSet: number[][], ids?: number[]): CrushMap {
    const map = flatMap(weights);
    const set: ChooseArgSet = new Map([
      [
        -1,
        {
          weightSet: weightSet.map((row) => Uint32Array.from(row)),
          ...(ids === undefined ? {} : { ids: Int32Array.from(ids) }),
        },
      ],
    ]);
    map.chooseArgs = new Map([[-1, set]]);
    return map;
  }

  it("defaultChooseArgs picks set -1 when there is no set 0, and set 0 when there is", () => {
    const map = withChooseArgs([[1, 1, 1, 1, 1]]);
    expect(defaultChooseArgs(map)).toBe(map.chooseArgs!.get(-1));
    const zero: ChooseArgSet = new Map();
    map.chooseArgs!.set(0, zero);
    expect(defaultChooseArgs(map)).toBe(zero);
    expect(defaultChooseArgs(flatMap(weights))).toBeUndefined();
  });

  it("a weight set changes straw2 picks; the map's own weights as weight set change nothing", () => {
    const reweights = new Uint32Array(weights.length).fill(0x10000);
    const skewed = withChooseArgs([[0x40000, 0x1000, 0x1000, 0x40000, 0x1000]]);
    const plain = new Mapper(skewed);
    const balanced = new Mapper(skewed, defaultChooseArgs(skewed));
    const identity = withChooseArgs([weights]);
    const identityMapper = new Mapper(identity, defaultChooseArgs(identity));
    let differ = 0;
    for (let x = 0; x < 500; x++) {
      const a = plain.map(0, x, 1, reweights);
      const b = balanced.map(0, x, 1, reweights);
      if (a[0] !== b[0]) differ++;
      expect(identityMapper.map(0, x, 3, reweights)).toEqual(plain.map(0, x, 3, reweights));
      // Without choose args the Mapper ignores map.chooseArgs entirely.
      expect(a).toEqual(new Mapper(flatMap(weights)).map(0, x, 1, reweights));
    }
    expect(differ).toBeGreaterThan(50);
  });

  it("a zero weight in a weight set removes the item for that position; later positions use the last set", () => {
    const reweights = new Uint32Array(weights.length).fill(0x10000);
    const w = 0x10000;
    const map = withChooseArgs([
      [0, w, w, w, w],
      [w, w, w, w, 0],
    ]);
    const mapper = new Mapper(map, defaultChooseArgs(map));
    const seenAt = [new Set<number>(), new Set<number>(), new Set<number>()];
    for (let x = 0; x < 500; x++) {
      const result = mapper.map(0, x, 3, reweights);
      expect(result).toHaveLength(3);
      for (const [position, item] of result.entries()) seenAt[position].add(item);
    }
    expect(seenAt[0].has(0)).toBe(false);
    expect(seenAt[1].has(4)).toBe(false);
    expect(seenAt[2].has(4)).toBe(false);
    expect(seenAt[0].has(4)).toBe(true);
    expect(seenAt[1].has(0)).toBe(true);
  });

  it("choose_args ids replace the ids fed to the hash", () => {
    const reweights = new Uint32Array(weights.length).fill(0x10000);
    const sameIds = withChooseArgs([weights], [0, 1, 2, 3, 4]);
    const otherIds = withChooseArgs([weights], [100, 101, 102, 103, 104]);
    const plain = new Mapper(flatMap(weights));
    const a = new Mapper(sameIds, defaultChooseArgs(sameIds));
    const b = new Mapper(otherIds, defaultChooseArgs(otherIds));
    let differ = 0;
    for (let x = 0; x < 300; x++) {
      expect(a.map(0, x, 2, reweights)).toEqual(plain.map(0, x, 2, reweights));
      const result = b.map(0, x, 2, reweights);
      for (const item of result) expect(item).toBeLessThan(weights.length); // items, not hash ids
      if (result[0] !== plain.map(0, x, 1, reweights)[0]) differ++;
    }
    expect(differ).toBeGreaterThan(0);
  });
});

describe("Mapper: reuse", () => {
  it("a Mapper reused for many calls gives what a fresh Mapper gives", () => {
    const shared = new Mapper(racks, defaultChooseArgs(racks));
    const full = defaultReweights(racks);
    const partial = full.slice();
    partial[4] = 0;
    partial[9] = 0x8000;
    const buffer = new Int32Array(16).fill(-12345);
    for (let x = 0; x < 200; x++) {
      for (const rule of [0, 1, 2, 3]) {
        // Vary resultMax up and down so the scratch vectors grow and are reused.
        for (const numRep of [1, 6, 3, 10, 2]) {
          const reweights = (x + numRep) % 2 === 0 ? full : partial;
          const fresh = new Mapper(racks, defaultChooseArgs(racks)).map(rule, x, numRep, reweights);
          expect(shared.map(rule, x, numRep, reweights)).toEqual(fresh);
          const length = shared.mapInto(rule, x, numRep, reweights, buffer);
          expect(Array.from(buffer.subarray(0, length))).toEqual(fresh);
        }
      }
    }
  });

  it("x is taken as u32 (negative x equals x >>> 0)", () => {
    const mapper = new Mapper(racks);
    const reweights = defaultReweights(racks);
    for (const x of [-1, -2, -123456]) {
      expect(mapper.map(0, x, 3, reweights)).toEqual(mapper.map(0, x >>> 0, 3, reweights));
    }
  });
});

describe("RecordingTracer", () => {
  const kinds = (events: TraceEvent[], kind: TraceEvent["kind"]) =>
    events.filter((event) => event.kind === kind);

  function check(map: CrushMap, rule: number, x: number, numRep: number, reweights: ArrayLike<number>) {
    const mapper = new Mapper(map, defaultChooseArgs(map));
    const tracer = new RecordingTracer();
    const result = mapper.map(rule, x, numRep, reweights, tracer);
    // Tracing does not change the answer.
    expect(result).toEqual(mapper.map(rule, x, numRep, reweights));
    const events = tracer.events;
    // One step event per rule step, in order.
    const steps = map.rules[rule]!.steps;
    expect(kinds(events, "step").map((event) => (event.kind === "step" ? event.index : -1))).toEqual(
      steps.map((_, index) => index),
    );
    for (const event of events) if (event.kind === "step") expect(event.step).toBe(steps[event.index]);
    // The last emit is the result; every device placed was chosen, after being drawn.
    const emits = kinds(events, "emit");
    expect(emits.length).toBe(steps.filter((step) => step.op === RuleOp.emit).length);
    const last = emits.at(-1);
    expect(last?.kind === "emit" ? last.result : undefined).toEqual(result);
    const taken = new Set(steps.filter((step) => step.op === RuleOp.take).map((step) => step.arg1));
    for (const device of result) {
      // Devices come from choose steps, except a device a take step names (emitted as is).
      if (device === ITEM_NONE || taken.has(device)) continue;
      const chosenAt = events.findIndex((event) => event.kind === "chosen" && event.item === device);
      expect(chosenAt, `device ${device} chosen`).toBeGreaterThanOrEqual(0);
      const drawnAt = events.findIndex((event) => event.kind === "draw" && event.item === device);
      expect(drawnAt, `device ${device} drawn`).toBeGreaterThanOrEqual(0);
      expect(drawnAt).toBeLessThan(chosenAt);
    }
    // Every chosen item was drawn from a bucket before.
    for (const [index, event] of events.entries()) {
      if (event.kind !== "chosen") continue;
      expect(events.slice(0, index).some((e) => e.kind === "draw" && e.item === event.item)).toBe(true);
    }
    return { result, events };
  }

  it("records steps, draws, chosen devices and an emit equal to the result (firstn)", () => {
    for (let x = 0; x < 50; x++) {
      for (const rule of [0, 1, 2]) check(racks, rule, x, 3, defaultReweights(racks));
    }
  });

  it("records rejections of out devices and indep holes", () => {
    const reweights = defaultReweights(indep);
    for (const device of [6, 7, 12]) reweights[device] = 0;
    let outRejects = 0;
    for (let x = 0; x < 50; x++) {
      for (const rule of [0, 1, 4]) {
        const { events } = check(indep, rule, x, 6, reweights);
        outRejects += events.filter((event) => event.kind === "reject" && event.reason === "out").length;
        for (const event of events) {
          if (event.kind === "reject" && event.reason === "out") expect([6, 7, 12]).toContain(event.item);
        }
      }
    }
    expect(outRejects).toBeGreaterThan(0);
  });

  it("records give-ups when firstn comes up short", () => {
    const reweights = defaultReweights(exhaust);
    const { result, events } = check(exhaust, 1, 0, 8, reweights);
    expect(result).toEqual([7, 5, 4, 2]);
    expect(kinds(events, "give-up").length).toBeGreaterThan(0);
  });

  it("records every emit of a multi-emit rule", () => {
    const map = loadMap("multi-emit");
    for (let x = 0; x < 30; x++) {
      for (let rule = 0; rule < map.rules.length; rule++) {
        if (map.rules[rule] !== undefined) check(map, rule, x, 4, defaultReweights(map));
      }
    }
  });
});
