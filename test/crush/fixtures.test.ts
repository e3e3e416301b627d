// Every crushtool reference case (test/fixtures/crush/cases.json), run through runCrushTest on the
// map loaded both from crushtool's text and from crushtool's compiled binary: stdout and stderr must
// equal crushtool 16.2's byte for byte. Also --tree, -d and -c outputs for every map.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CrushMap,
  type CrushTestOptions,
  compileCrushText,
  decodeCrushBinary,
  decompileCrushMap,
  encodeCrushBinary,
  formatTree,
  runCrushTest,
} from "../../src/crush/index.ts";
import { CRUSH_FIXTURES, fixtureNames, loadCases } from "../helpers/crush-maps.ts";

const ROOT = CRUSH_FIXTURES;
const TREE_ORDER = join(ROOT, "tree-order");

const cases = loadCases();
const mapNames = fixtureNames(join(ROOT, "maps"), ".txt");
const treeOrderNames = fixtureNames(TREE_ORDER, ".tree");

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const readBytes = (path: string) => new Uint8Array(readFileSync(join(ROOT, path)));

/** crushtool --test arguments (as generate.sh passes them) -> CrushTestOptions. */
function parseCrushtoolArgs(args: readonly string[]): CrushTestOptions {
  const options: CrushTestOptions = {};
  const weights: [number, number][] = [];
  const integer = (index: number): number => {
    const text = args[index];
    if (text === undefined || !/^-?\d+$/.test(text)) throw new Error(`bad integer after ${args[index - 1]}`);
    return Number(text);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    switch (arg) {
      case "--test":
        break;
      case "--rule":
        options.rule = integer(++i);
        break;
      case "--num-rep":
        options.numRep = integer(++i);
        break;
      case "--min-x":
        options.minX = integer(++i);
        break;
      case "--max-x":
        options.maxX = integer(++i);
        break;
      case "--x": // crushtool: --min-x X --max-x X (the last of the three wins)
        options.minX = integer(++i);
        options.maxX = options.minX;
        break;
      case "--pool-id":
        options.poolId = integer(++i);
        break;
      case "--weight": {
        const device = integer(++i);
        const weight = Number(args[++i]);
        if (!Number.isFinite(weight)) throw new Error(`bad weight for device ${device}`);
        weights.push([device, weight]);
        break;
      }
      case "--show-mappings":
        options.showMappings = true;
        break;
      case "--show-bad-mappings":
        options.showBadMappings = true;
        break;
      case "--show-statistics":
        options.showStatistics = true;
        break;
      case "--show-utilization":
        options.showUtilization = true;
        break;
      case "--show-utilization-all":
        options.showUtilizationAll = true;
        break;
      case "--show-choose-tries":
        options.showChooseTries = true;
        break;
      default:
        throw new Error(`unsupported crushtool argument ${arg}`);
    }
  }
  if (weights.length > 0) options.weights = weights;
  return options;
}

// Maps are loaded once per name and source (runCrushTest does not modify them).
const textMaps = new Map<string, CrushMap>();
const binaryMaps = new Map<string, CrushMap>();
function textMap(name: string): CrushMap {
  let map = textMaps.get(name);
  if (map === undefined) textMaps.set(name, (map = compileCrushText(read(`maps/${name}.txt`))));
  return map;
}
function binaryMap(name: string): CrushMap {
  let map = binaryMaps.get(name);
  if (map === undefined) binaryMaps.set(name, (map = decodeCrushBinary(readBytes(`bin/${name}.bin`))));
  return map;
}

/** `CRUSH rule R x X [...]` lines compared equal, over all cases and both map sources. */
let mappingLinesChecked = 0;
/** Lines of any kind compared equal. */
let linesChecked = 0;
let casesRun = 0;

function countMappingLines(stdout: string): number {
  let count = 0;
  for (const line of stdout.split("\n")) if (line.startsWith("CRUSH rule ")) count++;
  return count;
}

describe("crushtool argument parsing", () => {
  it("parses every flag generate.sh uses", () => {
    expect(
      parseCrushtoolArgs([
        "--test",
        "--show-mappings",
        "--rule",
        "3",
        "--num-rep",
        "6",
        "--min-x",
        "0",
        "--max-x",
        "1023",
        "--weight",
        "4",
        "0",
        "--weight",
        "15",
        "0.3",
        "--pool-id",
        "7",
        "--show-bad-mappings",
        "--show-statistics",
        "--show-utilization",
        "--show-utilization-all",
        "--show-choose-tries",
      ]),
    ).toEqual({
      rule: 3,
      numRep: 6,
      minX: 0,
      maxX: 1023,
      poolId: 7,
      weights: [
        [4, 0],
        [15, 0.3],
      ],
      showMappings: true,
      showBadMappings: true,
      showStatistics: true,
      showUtilization: true,
      showUtilizationAll: true,
      showChooseTries: true,
    });
    expect(() => parseCrushtoolArgs(["--frobnicate"])).toThrow(/unsupported/);
  });

  it("every case in cases.json uses only supported arguments", () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
    for (const testCase of cases) expect(() => parseCrushtoolArgs(testCase.args)).not.toThrow();
  });
});

describe("crushtool --test reference cases", () => {
  it.each(cases.map((testCase) => [testCase.name, testCase] as const))("%s", (_name, testCase) => {
    const options = parseCrushtoolArgs(testCase.args);
    const expectedStdout = read(testCase.output);
    const expectedStderr = testCase.stderr === undefined ? "" : read(testCase.stderr);
    expect(expectedStdout.length).toBeGreaterThan(0);
    for (const [source, map] of [
      ["text", textMap(testCase.map)],
      ["binary", binaryMap(testCase.map)],
    ] as const) {
      const { stdout, stderr } = runCrushTest(map, options);
      // Compare as strings (a diff on failure), then assert the byte-for-byte equality.
      expect(stdout, `${testCase.name} (${source}) stdout`).toBe(expectedStdout);
      expect(stderr, `${testCase.name} (${source}) stderr`).toBe(expectedStderr);
      expect(Buffer.from(stdout, "utf8").equals(readFileSync(join(ROOT, testCase.output)))).toBe(true);
      mappingLinesChecked += countMappingLines(stdout);
      linesChecked += stdout.split("\n").length - 1 + (stderr === "" ? 0 : stderr.split("\n").length - 1);
    }
    casesRun++;
  });
});

describe("crushtool --tree, -d and -c", () => {
  it.each(mapNames)(
    "%s: formatTree of the text map and of the binary map equals crushtool --tree",
    (name) => {
      const expected = read(`tree/${name}.txt`);
      expect(formatTree(textMap(name))).toBe(expected);
      expect(formatTree(binaryMap(name))).toBe(expected);
    },
  );

  it.each(mapNames)("%s: decompileCrushMap(decodeCrushBinary(bin)) equals crushtool -d", (name) => {
    expect(decompileCrushMap(decodeCrushBinary(readBytes(`bin/${name}.bin`)))).toBe(
      read(`decompiled/${name}.txt`),
    );
  });

  it.each(mapNames)("%s: encodeCrushBinary(compileCrushText(txt)) equals crushtool -c", (name) => {
    const encoded = Buffer.from(encodeCrushBinary(compileCrushText(read(`maps/${name}.txt`))));
    const expected = readFileSync(join(ROOT, `bin/${name}.bin`));
    expect(encoded.length).toBe(expected.length);
    expect(encoded.equals(expected)).toBe(true);
  });

  it.each(treeOrderNames)("tree-order/%s: formatTree (text and binary) equals crushtool --tree", (name) => {
    const expected = readFileSync(join(TREE_ORDER, `${name}.tree`), "utf8");
    expect(formatTree(compileCrushText(readFileSync(join(TREE_ORDER, `${name}.txt`), "utf8")))).toBe(
      expected,
    );
    expect(formatTree(decodeCrushBinary(new Uint8Array(readFileSync(join(TREE_ORDER, `${name}.bin`)))))).toBe(
      expected,
    );
  });

  it("found every map and tree-order case", () => {
    expect(mapNames.length).toBeGreaterThanOrEqual(12);
    expect(treeOrderNames.length).toBeGreaterThanOrEqual(6);
    expect(treeOrderNames).toContain("weight-sets");
    for (const testCase of cases) expect(mapNames).toContain(testCase.map);
  });
});

describe("coverage guard", () => {
  it("the reference outputs hold more than 50,000 mapping lines in total", () => {
    let total = 0;
    for (const testCase of cases) total += countMappingLines(read(testCase.output));
    // Each is checked twice (text and binary map).
    expect(total).toBeGreaterThan(50_000);
  });

  // Runs after the cases above (tests in a file run in order): guards against a suite that
  // silently compares nothing. (Under a -t filter that runs only some cases, this one fails.)
  it("ran every case and compared more than 50,000 mapping lines against crushtool", () => {
    expect(casesRun).toBe(cases.length);
    expect(mappingLinesChecked).toBeGreaterThan(50_000);
    expect(linesChecked).toBeGreaterThanOrEqual(mappingLinesChecked);
  });
});
