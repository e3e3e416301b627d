// The crushtool text format against crushtool 16.2.15's own outputs, stored as fixtures by
// test/fixtures/crush-text/generate.sh (CI has no crushtool).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CrushSyntaxError,
  compileCrushText,
  decompileCrushMap,
  formatFixedPoint,
  textToWeight,
} from "../../src/crush/text/index.ts";
import { tunableProfile } from "../../src/crush/tunables.ts";
import { fixtureNames } from "../helpers/crush-maps.ts";
import { normalizeCrushtoolDump, toCrushtoolDump } from "./text-dump.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/crush-text");
const MAPS = join(FIXTURES, "maps");
const INVALID = join(FIXTURES, "invalid");

const mapNames = fixtureNames(MAPS, ".txt", ".decompiled.txt");
const read = (directory: string, file: string): string => readFileSync(join(directory, file), "utf8");

describe("compileCrushText matches crushtool -c (compared through --dump)", () => {
  it.each(mapNames)("%s", (name) => {
    const map = compileCrushText(read(MAPS, `${name}.txt`), `${name}.txt`);
    const reference = normalizeCrushtoolDump(JSON.parse(read(MAPS, `${name}.dump.json`)));
    expect(toCrushtoolDump(map)).toEqual(reference);
  });
});

describe("decompileCrushMap matches crushtool -d byte for byte", () => {
  it.each(mapNames)("%s", (name) => {
    const map = compileCrushText(read(MAPS, `${name}.txt`), `${name}.txt`);
    expect(decompileCrushMap(map)).toBe(read(MAPS, `${name}.decompiled.txt`));
  });

  // odd-values decompiles to `tunable choose_total_tries -1`, which crushtool cannot read back either.
  it.each(mapNames.filter((name) => name !== "odd-values"))(
    "%s: the decompiled text compiles back to the same text",
    (name) => {
      const decompiled = read(MAPS, `${name}.decompiled.txt`);
      expect(decompileCrushMap(compileCrushText(decompiled))).toBe(decompiled);
    },
  );
});

describe("compiler details crushtool has", () => {
  const header = "device 0 osd.0\ndevice 1 osd.1\ntype 0 osd\ntype 1 host\n";

  it("starts from legacy (argonaut) tunables", () => {
    const map = compileCrushText(`${header}host h { alg straw2 item osd.0 }\n`);
    expect(map.tunables).toEqual(tunableProfile("legacy"));
  });

  it("parses weights as float32 times 65536, truncated, wrapping like a C cast", () => {
    expect(textToWeight("1.819")).toBe(119209);
    expect(textToWeight("0.455")).toBe(29818);
    expect(textToWeight("0.1")).toBe(6553);
    expect(textToWeight("-1")).toBe(0xffff0000);
    expect(textToWeight("1e30")).toBe(0);
  });

  it("prints %.3f with round-half-to-even on exact ties", () => {
    expect(formatFixedPoint(4096)).toBe("0.062"); // 0.0625
    expect(formatFixedPoint(12288)).toBe("0.188"); // 0.1875
    expect(formatFixedPoint(-53248)).toBe("-0.812"); // -0.8125
    expect(formatFixedPoint(0xffff0000)).toBe("-1.000");
  });

  it("accepts glued keywords and numbers as crushtool's scanner does", () => {
    const map = compileCrushText(
      `${header}host h{id-3 alg straw2 item osd.0 weight1.5 pos1 item osd.1 pos0}`,
    );
    const bucket = map.buckets[2]!;
    expect(bucket.id).toBe(-3);
    expect([...bucket.items]).toEqual([1, 0]);
    expect([...bucket.itemWeights]).toEqual([0x10000, 0x18000]);
  });

  it("gives a missing id the first id not reserved by any bucket's first line", () => {
    const map = compileCrushText(
      `${header}host a { alg straw2 item osd.0 }\nhost b { id -1 alg straw2 item osd.1 }\nhost c { alg straw2 }\n`,
    );
    expect(map.itemNames.get(-2)).toBe("a");
    expect(map.itemNames.get(-1)).toBe("b");
    expect(map.itemNames.get(-3)).toBe("c");
  });

  it("uses a bucket's own weight when its parent gives none", () => {
    const map = compileCrushText(
      `${header}type 2 root\nroot r { id -1 alg straw2 item h }\nhost h { id -2 alg straw2 item osd.0 weight 2.5 }\n`,
    );
    expect(map.buckets[0]!.itemWeights[0]).toBe(0x28000);
  });

  it("compiles `step take X class C` to the shadow bucket", () => {
    const map = compileCrushText(read(MAPS, "classes.txt"));
    const take = map.rules[0]!.steps[0];
    expect(map.itemNames.get(take.arg1)).toBe("a~hdd");
  });
});

/** [fixture, line:column, fragment of the message] */
const ERROR_CASES: ReadonlyArray<readonly [string, string, string]> = [
  ["bucket-after-rule", "7:1", "buckets must be defined before rules"],
  ["bucket-body", "7:2", "expected 'hash', 'item' or '}' in bucket body, found 'foo'"],
  ["choose-args-bucket", "6:29", "bucket -5 does not exist"],
  ["cycle", "6:26", "item 'c' in bucket 'b' is not defined"],
  ["device-weight", "5:39", "device weight limited to 100"],
  ["duplicate-bucket-id", "6:13", "duplicate bucket id -1"],
  ["duplicate-name", "5:6", "'osd.1' is already defined"],
  ["duplicate-rule-id", "7:13", "rule 0 already exists"],
  ["empty-rule", "6:53", "expected 'step' in rule, found '}'"],
  ["forward-swap", "16:8", "item 'h1' in bucket 'r' is not defined"],
  ["missing-min-size", "6:31", "expected 'min_size' in rule, found 'max_size'"],
  ["mutual", "5:6", "buckets 'a' and 'b' contain each other"],
  ["negative-tunable", "1:28", "expected a non-negative integer in tunable, found '-1'"],
  ["pos-occupied", "5:51", "explicit pos 0, which is occupied"],
  ["rule-unknown-bucket", "11:12", "item 'nowhere' not defined"],
  ["self-reference", "5:26", "item 'h' in bucket 'h' is not defined"],
  ["uniform-weights", "5:60", "uniform bucket items must all have identical weights"],
  ["unknown-alg", "5:14", "unknown bucket alg 'straw3'"],
  ["unknown-class", "6:71", "device class 'ssd' is not defined"],
  ["unknown-item", "5:26", "item 'osd.9' in bucket 'h' is not defined"],
  ["unknown-step-type", "6:95", "type 'rack' not defined"],
  ["unknown-tunable", "2:9", "unknown tunable 'frobnicate'"],
  ["unknown-type", "5:1", "bucket type 'rack' is not defined"],
];

describe("errors name file:line:column", () => {
  it("covers every invalid fixture", () => {
    expect(ERROR_CASES.map(([name]) => name).sort()).toEqual(fixtureNames(INVALID, ".txt", ".crushtool.txt"));
  });

  it.each(ERROR_CASES)("%s", (name, position, fragment) => {
    // crushtool rejects the same input (its exit status is recorded beside the fixture).
    expect(read(INVALID, `${name}.crushtool.txt`)).not.toMatch(/^exit 0/);
    let caught: unknown;
    try {
      compileCrushText(read(INVALID, `${name}.txt`), `${name}.txt`);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CrushSyntaxError);
    const error = caught as CrushSyntaxError;
    expect(`${error.line}:${error.column}`).toBe(position);
    expect(error.file).toBe(`${name}.txt`);
    expect(error.message).toBe(`${name}.txt:${position}: ${error.reason}`);
    expect(error.reason).toContain(fragment);
  });
});

describe("only CrushSyntaxError ever escapes", () => {
  const compileOrSyntaxError = (text: string): void => {
    try {
      compileCrushText(text);
    } catch (error) {
      if (!(error instanceof CrushSyntaxError)) throw error;
      expect(error.reason).not.toMatch(/^internal compiler error/);
    }
  };
  const WORDS = [
    ...[
      "tunable",
      "device",
      "type",
      "rule",
      "step",
      "take",
      "choose",
      "chooseleaf",
      "firstn",
      "indep",
      "emit",
    ],
    ...[
      "id",
      "ruleset",
      "class",
      "alg",
      "hash",
      "item",
      "weight",
      "pos",
      "min_size",
      "max_size",
      "replicated",
    ],
    ...["erasure", "straw2", "straw", "list", "tree", "uniform", "rjenkins1", "choose_args", "bucket_id"],
    ...[
      "weight_set",
      "ids",
      "set_choose_tries",
      "set_chooseleaf_vary_r",
      "choose_total_tries",
      "straw_calc_version",
    ],
    ...[
      "{",
      "}",
      "[",
      "]",
      "#",
      "\n",
      "osd",
      "host",
      "root",
      "osd.0",
      "h",
      "-1",
      "-2",
      "0",
      "1",
      "3",
      "1.5",
      "-0.5",
    ],
    ...["1e3", "4294967295", "99999999999999999999", "ssd", "default"],
  ];

  it("for random strings", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), compileOrSyntaxError), { numRuns: 300 });
  });

  it("for random token soups", () => {
    const soup = fc.array(fc.constantFrom(...WORDS), { maxLength: 80 }).map((words) => words.join(" "));
    fc.assert(fc.property(soup, compileOrSyntaxError), { numRuns: 500 });
  });

  it.each(mapNames)("for every truncation of %s", (name) => {
    const text = read(MAPS, `${name}.txt`);
    for (let length = 0; length <= text.length; length++) compileOrSyntaxError(text.slice(0, length));
  });
});
