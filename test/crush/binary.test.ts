// Binary CRUSH map codec against maps compiled by crushtool 16.2.15 (test/fixtures/crush-binary,
// see its README for the commands). CI has no crushtool, so the .bin files and their --dump
// JSON are committed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CrushEncodeError,
  CrushFormatError,
  decodeCrushBinary,
  encodeCrushBinary,
  isCrushBinary,
} from "../../src/crush/binary/index.ts";
import { addBucket, emptyMap, makeBucket } from "../../src/crush/builder.ts";
import { tunableProfile } from "../../src/crush/tunables.ts";
import {
  BUCKET_ALG_CODE,
  type CrushMap,
  RuleOp,
  type RuleStep,
  type Tunables,
} from "../../src/crush/types.ts";

const FIXTURE_DIRECTORY = join(import.meta.dirname, "../fixtures/crush-binary");
const FIXTURE_NAMES = ["legacy-straw2", "all-algs", "device-classes", "choose-args", "empty-and-sparse"];

interface Fixture {
  name: string;
  bytes: Uint8Array;
  text: string;
  dump: CrushtoolDump;
}

interface CrushtoolDump {
  devices: { id: number; name: string; class?: string }[];
  types: { type_id: number; name: string }[];
  buckets: {
    id: number;
    name: string;
    type_id: number;
    weight: number;
    alg: string;
    hash: string;
    items: { id: number; weight: number; pos: number }[];
  }[];
  rules: {
    rule_id: number;
    rule_name: string;
    ruleset: number;
    type: number;
    min_size: number;
    max_size: number;
    steps: Record<string, number | string>[];
  }[];
  tunables: Record<string, number | string>;
  choose_args: Record<string, { bucket_id: number; weight_set?: number[][]; ids?: number[] }[]>;
}

function loadFixture(name: string): Fixture {
  const path = (extension: string) => join(FIXTURE_DIRECTORY, `${name}.${extension}`);
  return {
    name,
    bytes: new Uint8Array(readFileSync(path("bin"))),
    text: readFileSync(path("txt"), "utf8"),
    dump: JSON.parse(readFileSync(path("json"), "utf8")) as CrushtoolDump,
  };
}

const FIXTURES = FIXTURE_NAMES.map(loadFixture);
const fixture = (name: string) => FIXTURES.find((candidate) => candidate.name === name)!;

/** Decodes, returning the error instead of throwing, and fails the test on any non-format error. */
function decodeOrFormatError(bytes: Uint8Array): CrushMap | CrushFormatError {
  try {
    return decodeCrushBinary(bytes, "fuzz.bin");
  } catch (error) {
    if (error instanceof CrushFormatError) return error;
    throw new Error(`decode threw something other than CrushFormatError: ${String(error)}`);
  }
}

const ALG_CODE_BY_DUMP_NAME: Record<string, number> = BUCKET_ALG_CODE;

/** A step as crushtool --dump prints it, back to (op, arg1, arg2). */
function stepFromDump(step: Record<string, number | string>, typeIds: Map<string, number>): RuleStep {
  const op = step.op as string | undefined;
  const typeOf = () => typeIds.get(step.type as string)!;
  switch (op) {
    case undefined:
      return { op: step.opcode as RuleStep["op"], arg1: step.arg1 as number, arg2: step.arg2 as number };
    case "take":
      return { op: RuleOp.take, arg1: step.item as number, arg2: 0 };
    case "emit":
      return { op: RuleOp.emit, arg1: 0, arg2: 0 };
    case "choose_firstn":
      return { op: RuleOp.chooseFirstn, arg1: step.num as number, arg2: typeOf() };
    case "choose_indep":
      return { op: RuleOp.chooseIndep, arg1: step.num as number, arg2: typeOf() };
    case "chooseleaf_firstn":
      return { op: RuleOp.chooseleafFirstn, arg1: step.num as number, arg2: typeOf() };
    case "chooseleaf_indep":
      return { op: RuleOp.chooseleafIndep, arg1: step.num as number, arg2: typeOf() };
    case "set_choose_tries":
      return { op: RuleOp.setChooseTries, arg1: step.num as number, arg2: 0 };
    case "set_chooseleaf_tries":
      return { op: RuleOp.setChooseleafTries, arg1: step.num as number, arg2: 0 };
    default:
      throw new Error(`unexpected step in dump: ${JSON.stringify(step)}`);
  }
}

const TUNABLE_DUMP_KEYS: ReadonlyArray<readonly [string, keyof Tunables]> = [
  ["choose_local_tries", "chooseLocalTries"],
  ["choose_local_fallback_tries", "chooseLocalFallbackTries"],
  ["choose_total_tries", "chooseTotalTries"],
  ["chooseleaf_descend_once", "chooseleafDescendOnce"],
  ["chooseleaf_vary_r", "chooseleafVaryR"],
  ["chooseleaf_stable", "chooseleafStable"],
  ["straw_calc_version", "strawCalcVersion"],
  ["allowed_bucket_algs", "allowedBucketAlgs"],
];

function expectDevicesMatch(map: CrushMap, dump: CrushtoolDump): void {
  // crushtool lists every id below max_devices, inventing "device<N>" for unnamed ones.
  expect(dump.devices.length).toBe(map.maxDevices);
  for (const device of dump.devices) {
    expect(map.itemNames.get(device.id) ?? `device${device.id}`).toBe(device.name);
    expect(map.deviceClasses.get(device.id)).toBe(device.class);
  }
}

function expectBucketsMatch(map: CrushMap, dump: CrushtoolDump): void {
  expect(map.buckets.filter((bucket) => bucket !== undefined)).toHaveLength(dump.buckets.length);
  for (const expected of dump.buckets) {
    const bucket = map.buckets[-1 - expected.id]!;
    expect(bucket, `bucket ${expected.id}`).toBeDefined();
    expect(bucket.id).toBe(expected.id);
    expect(map.itemNames.get(bucket.id)).toBe(expected.name);
    expect(bucket.type).toBe(expected.type_id);
    expect(BUCKET_ALG_CODE[bucket.alg]).toBe(ALG_CODE_BY_DUMP_NAME[expected.alg]);
    expect(bucket.hash === 0 ? "rjenkins1" : "unknown").toBe(expected.hash);
    expect(bucket.weight).toBe(expected.weight);
    expect([...bucket.items]).toEqual(expected.items.map((item) => item.id));
    expect([...bucket.itemWeights]).toEqual(expected.items.map((item) => item.weight));
  }
}

function expectRulesMatch(map: CrushMap, dump: CrushtoolDump): void {
  const typeIds = new Map([...map.typeNames].map(([id, name]) => [name, id]));
  expect(map.rules.filter((rule) => rule !== undefined)).toHaveLength(dump.rules.length);
  for (const expected of dump.rules) {
    const rule = map.rules[expected.rule_id]!;
    expect(rule, `rule ${expected.rule_id}`).toBeDefined();
    expect(map.ruleNames.get(rule.id)).toBe(expected.rule_name);
    expect([rule.ruleset, rule.type, rule.minSize, rule.maxSize]).toEqual([
      expected.ruleset,
      expected.type,
      expected.min_size,
      expected.max_size,
    ]);
    expect(rule.steps).toEqual(expected.steps.map((step) => stepFromDump(step, typeIds)));
  }
}

function expectTunablesMatch(map: CrushMap, dump: CrushtoolDump): void {
  for (const [dumpKey, key] of TUNABLE_DUMP_KEYS)
    expect(map.tunables[key], dumpKey).toBe(dump.tunables[dumpKey]);
}

function expectChooseArgsMatch(map: CrushMap, dump: CrushtoolDump): void {
  const expectedSets = Object.entries(dump.choose_args);
  expect(map.chooseArgs?.size ?? 0).toBe(expectedSets.length);
  for (const [setId, entries] of expectedSets) {
    const set = map.chooseArgs!.get(Number(setId))!;
    expect(set, `choose_args ${setId}`).toBeDefined();
    expect(set.size).toBe(entries.length);
    for (const entry of entries) {
      const arg = set.get(entry.bucket_id)!;
      // The dump prints weights as floats (weight / 0x10000).
      expect(arg.weightSet?.map((weights) => [...weights].map((weight) => weight / 0x10000))).toEqual(
        entry.weight_set,
      );
      expect(arg.ids === undefined ? undefined : [...arg.ids]).toEqual(entry.ids);
    }
  }
}

describe.each(FIXTURES)("fixture $name", (fixtureUnderTest) => {
  it("decodes to what crushtool --dump shows", () => {
    const map = decodeCrushBinary(fixtureUnderTest.bytes, `${fixtureUnderTest.name}.bin`);
    const dump = fixtureUnderTest.dump;
    expect([...map.typeNames]).toEqual(dump.types.map((type) => [type.type_id, type.name]));
    expectDevicesMatch(map, dump);
    expectBucketsMatch(map, dump);
    expectRulesMatch(map, dump);
    expectTunablesMatch(map, dump);
    expectChooseArgsMatch(map, dump);
  });

  it("re-encodes byte for byte", () => {
    const encoded = encodeCrushBinary(decodeCrushBinary(fixtureUnderTest.bytes));
    expect(Buffer.from(encoded).equals(Buffer.from(fixtureUnderTest.bytes))).toBe(true);
  });

  it("re-encodes byte for byte when derived bucket data must be rebuilt", () => {
    const map = decodeCrushBinary(fixtureUnderTest.bytes);
    map.buckets = map.buckets.map(
      (bucket) =>
        bucket && {
          id: bucket.id,
          type: bucket.type,
          alg: bucket.alg,
          hash: bucket.hash,
          weight: bucket.weight,
          items: bucket.items,
          itemWeights: bucket.itemWeights,
        },
    );
    delete map.deviceClassTables;
    expect(Buffer.from(encodeCrushBinary(map)).equals(Buffer.from(fixtureUnderTest.bytes))).toBe(true);
  });

  it("is recognised as binary, and its text source is not", () => {
    expect(isCrushBinary(fixtureUnderTest.bytes)).toBe(true);
    expect(isCrushBinary(new TextEncoder().encode(fixtureUnderTest.text))).toBe(false);
  });

  it("decodes only prefixes that end between tail groups; every other truncation is a CrushFormatError", () => {
    const bytes = fixtureUnderTest.bytes;
    const decodedLengths: number[] = [];
    for (let length = 0; length < bytes.length; length++) {
      const result = decodeOrFormatError(bytes.subarray(0, length));
      if (!(result instanceof CrushFormatError)) decodedLengths.push(length);
    }
    // Tunable groups are 12, 4, 1, 1, 4 and 1 bytes; then the class tables, then choose_args.
    const tailStart = decodedLengths[0];
    expect(tailStart).toBeGreaterThan(16);
    expect(decodedLengths.map((length) => length - tailStart)).toEqual([
      0,
      12,
      16,
      17,
      18,
      22,
      23,
      expect.any(Number),
    ]);
  });
});

describe("decoding specifics", () => {
  it("reads tree item weights from the leaf nodes and keeps node weights as stored", () => {
    const map = decodeCrushBinary(fixture("all-algs").bytes);
    const tree = map.buckets[4]!;
    expect(tree.alg).toBe("tree");
    expect(tree.nodeWeights).toHaveLength(16);
    expect([...tree.itemWeights]).toEqual([65536, 6553, 196608, 29818, 119209]);
    expect(tree.nodeWeights![8]).toBe(tree.weight);
    const uniform = map.buckets[2]!;
    expect([...uniform.itemWeights]).toEqual([98304, 98304, 98304]);
    const straw = map.buckets[5]!;
    expect(straw.straws).toHaveLength(3);
    expect(straw.straws![2]).toBe(0);
  });

  it("gives shadow buckets as ordinary buckets that class rules take", () => {
    const map = decodeCrushBinary(fixture("device-classes").bytes);
    expect([...map.deviceClasses]).toEqual([
      [0, "hdd"],
      [1, "ssd"],
      [2, "hdd"],
      [3, "hdd"],
    ]);
    const takeId = map.rules[0]!.steps[0].arg1;
    expect(map.itemNames.get(takeId)).toBe("default~hdd");
    const shadow = map.buckets[-1 - takeId]!;
    expect(shadow.id).toBe(takeId);
    expect(shadow.items.every((item) => map.itemNames.get(item)?.endsWith("~hdd"))).toBe(true);
    expect(map.deviceClassTables!.shadowBuckets.get(-1)!.get(0)).toBe(takeId);
  });

  it("truncates rule mask fields to u8 as Ceph does (rule id 300 -> ruleset 44)", () => {
    const map = decodeCrushBinary(fixture("empty-and-sparse").bytes);
    expect(map.rules).toHaveLength(301);
    expect(map.buckets).toHaveLength(32);
    expect(map.rules[300]!.ruleset).toBe(44);
    expect(map.rules[300]!.maxSize).toBe(44);
  });

  it("fills missing tunables with legacy values, field by field, as crushtool does", () => {
    // Verified with crushtool -i <prefix> --dump on the same cuts.
    const bytes = fixture("all-algs").bytes;
    const legacy = tunableProfile("legacy");
    const jewel = tunableProfile("jewel", 1);
    const cases: [number, Partial<Tunables>][] = [
      [39, {}],
      [27, { chooseLocalTries: 0, chooseLocalFallbackTries: 0, chooseTotalTries: 50 }],
      [
        23,
        { chooseLocalTries: 0, chooseLocalFallbackTries: 0, chooseTotalTries: 50, chooseleafDescendOnce: 1 },
      ],
      [22, { ...jewel, strawCalcVersion: 0, allowedBucketAlgs: 22, chooseleafStable: 0 }],
      [21, { ...jewel, allowedBucketAlgs: 22, chooseleafStable: 0 }],
      [17, { ...jewel, chooseleafStable: 0 }],
      [16, jewel],
      [4, jewel],
    ];
    for (const [cutBytes, expected] of cases) {
      const map = decodeCrushBinary(bytes.subarray(0, bytes.length - cutBytes));
      expect(map.tunables, `cut ${cutBytes}`).toEqual({ ...legacy, ...expected });
    }
    expect(() => decodeCrushBinary(bytes.subarray(0, bytes.length - 25))).toThrow(CrushFormatError);
  });

  it("names the file, the offset and the field in errors", () => {
    const bytes = fixture("all-algs").bytes.slice();
    // Bucket -3 (uniform, slot 2) starts with its algorithm code then its id.
    const start = Buffer.from(bytes).indexOf(Buffer.from([1, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff]));
    expect(start).toBeGreaterThan(0);
    new DataView(bytes.buffer).setUint32(start + 16, 1_000_000, true);
    const offset = start + 20;
    expect(() => decodeCrushBinary(bytes, "map.bin")).toThrow(
      `map.bin: at byte ${offset}: bucket -3 says 1000000 items but only ${bytes.length - offset} bytes remain`,
    );
  });

  it("rejects foreign input with a CrushFormatError", () => {
    const text = new TextEncoder().encode(fixture("all-algs").text);
    expect(() => decodeCrushBinary(text, "m.txt")).toThrow(/m.txt: at byte 0: not a binary CRUSH map/);
    expect(() => decodeCrushBinary(new Uint8Array(0))).toThrow(CrushFormatError);
    const padded = new Uint8Array([...fixture("legacy-straw2").bytes, 0]);
    expect(() => decodeCrushBinary(padded)).toThrow(/1 unexpected bytes after the end/);
  });

  it("rejects absurd counts without allocating for them", () => {
    const header = new Uint8Array(16);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0x00010000, true);
    view.setInt32(4, 0x7fffffff, true);
    expect(() => decodeCrushBinary(header)).toThrow(/2147483647 bucket/);
    view.setInt32(4, 0, true);
    view.setUint32(8, 0xffffffff, true);
    expect(() => decodeCrushBinary(header)).toThrow(/4294967295 rule slots/);
  });
});

describe("encoding maps not made by crushtool", () => {
  function builtMap(): CrushMap {
    const map = emptyMap(tunableProfile("jewel"));
    map.typeNames.set(0, "osd").set(1, "host");
    const host = makeBucket({ id: -1, type: 1, alg: "list", items: [0, 1], weights: [0x10000, 0x20000] });
    addBucket(map, host, "h");
    map.itemNames.set(0, "osd.0").set(1, "osd.1");
    map.deviceClasses.set(1, "ssd");
    map.rules.push({ id: 0, ruleset: 0, type: 1, minSize: 1, maxSize: 10, steps: [] });
    return map;
  }

  it("round-trips a map built with the builder", () => {
    const map = builtMap();
    const decoded = decodeCrushBinary(encodeCrushBinary(map));
    expect(decoded.buckets[0]).toEqual(map.buckets[0]);
    expect(decoded.rules).toEqual(map.rules);
    expect(decoded.tunables).toEqual(map.tunables);
    expect([...decoded.deviceClasses]).toEqual([[1, "ssd"]]);
    expect(decoded.maxDevices).toBe(2);
  });

  it("refuses what the format cannot hold", () => {
    const emptyName = builtMap();
    emptyName.itemNames.set(0, "");
    expect(() => encodeCrushBinary(emptyName)).toThrow(CrushEncodeError);
    const misplaced = builtMap();
    misplaced.buckets.unshift(undefined);
    expect(() => encodeCrushBinary(misplaced)).toThrow(/slot 1 holds bucket -1/);
    const bigTree = builtMap();
    const weights = new Array(128).fill(0x10000);
    const tree = makeBucket({ id: -2, type: 1, alg: "tree", items: weights.map((_, i) => i), weights });
    addBucket(bigTree, tree);
    expect(() => encodeCrushBinary(bigTree)).toThrow(/256 tree nodes/);
  });
});

describe("robustness (fast-check)", () => {
  const magic = [0x00, 0x00, 0x01, 0x00];

  it("random bytes give a map or a CrushFormatError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (random, withMagic) => {
        const bytes = withMagic ? new Uint8Array([...magic, ...random]) : random;
        decodeOrFormatError(bytes);
      }),
      { numRuns: 3000, seed: 1 },
    );
  });

  it("random small headers and counts give a map or a CrushFormatError", () => {
    // Small counts get past the size checks and exercise the structure walkers.
    const smallWord = fc.integer({ min: 0, max: 6 }).map((value) => [value, 0, 0, 0]);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(smallWord, fc.uint8Array({ maxLength: 8 })), { maxLength: 80 }),
        (parts) => {
          decodeOrFormatError(new Uint8Array([...magic, ...parts.flatMap((part) => [...part])]));
        },
      ),
      { numRuns: 3000, seed: 2 },
    );
  });

  it.each(FIXTURES)(
    "single-byte corruptions of $name give a map or a CrushFormatError",
    (fixtureUnderTest) => {
      const original = fixtureUnderTest.bytes;
      fc.assert(
        fc.property(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 }), (index, value) => {
          const corrupted = original.slice();
          corrupted[index] = value;
          decodeOrFormatError(corrupted);
        }),
        { numRuns: 1500, seed: 3 },
      );
    },
  );

  it.each(FIXTURES)(
    "every byte of $name set to 0xff gives a map or a CrushFormatError",
    (fixtureUnderTest) => {
      // 0xff turns any count it lands in into a huge one: the allocation guard must catch it.
      const original = fixtureUnderTest.bytes;
      for (let index = 0; index < original.length; index++) {
        const corrupted = original.slice();
        corrupted[index] = 0xff;
        decodeOrFormatError(corrupted);
      }
    },
  );
});
