// compareMappings (what moves between two maps / reweight vectors) and explainMapping (one mapping
// decision by decision) against the Mapper they both wrap.
import { describe, expect, it } from "vitest";
import {
  type CompareOptions,
  type CrushMap,
  compareMappings,
  defaultChooseArgs,
  defaultReweights,
  explainMapping,
  formatComparison,
  formatExplanation,
  hash2,
  ITEM_NONE,
  Mapper,
} from "../../src/crush/index.ts";
import { loadMap } from "../helpers/crush-maps.ts";

const racks = loadMap("racks");
const indep = loadMap("indep");

function options(map: CrushMap, rule: number, numRep: number, reweightsB?: Uint32Array): CompareOptions {
  const reweightsA = defaultReweights(map);
  return {
    ruleA: rule,
    ruleB: rule,
    numRep,
    minX: 0,
    maxX: 1023,
    reweightsA,
    reweightsB: reweightsB ?? reweightsA,
  };
}

function out(map: CrushMap, device: number): Uint32Array {
  const reweights = defaultReweights(map);
  reweights[device] = 0;
  return reweights;
}

function resultsA(map: CrushMap, rule: number, numRep: number): number[][] {
  const mapper = new Mapper(map, defaultChooseArgs(map));
  const reweights = defaultReweights(map);
  const results: number[][] = [];
  for (let x = 0; x <= 1023; x++) results.push(mapper.map(rule, x, numRep, reweights));
  return results;
}

describe("compareMappings", () => {
  it("a map against itself changes nothing", () => {
    for (const [map, rule, numRep] of [
      [racks, 0, 3],
      [racks, 2, 4],
      [racks, 3, 6],
      [indep, 0, 6],
    ] as const) {
      const result = compareMappings(map, map, options(map, rule, numRep));
      expect(result.inputs).toBe(1024);
      expect(result.inputsChanged).toBe(0);
      expect(result.replicasMoved).toBe(0);
      expect(result.movements).toEqual([]);
      expect(result.before).toEqual(result.after);
      expect(result.replicas).toBeGreaterThan(0);
      expect(formatComparison(result, String)).toMatch(
        /^inputs changed: 0\/1024 \(0\.00%\)\n.*\nno data moves\n$/,
      );
    }
  });

  it("a device out in B moves exactly the inputs that used it, all from that device (firstn)", () => {
    for (const rule of [0, 1, 2]) {
      const a = resultsA(racks, rule, 3);
      for (const device of [0, 4, 9, 13]) {
        const result = compareMappings(racks, racks, options(racks, rule, 3, out(racks, device)));
        const using = a.filter((items) => items.includes(device)).length;
        expect(result.positional).toBe(false);
        expect(using).toBeGreaterThan(0);
        expect(result.inputsChanged).toBe(using);
        expect(result.replicasMoved).toBe(using);
        expect(result.movements.length).toBeGreaterThan(0);
        for (const movement of result.movements) {
          expect(movement.from).toBe(device);
          expect(movement.to).not.toBe(device);
        }
        expect(result.movements.reduce((sum, movement) => sum + movement.count, 0)).toBe(using);
        expect(result.after.get(device) ?? 0).toBe(0);
        expect(result.before.get(device)).toBe(using);
      }
    }
  });

  it("indep rules compare positions", () => {
    for (const [map, rule] of [
      [racks, 3],
      [indep, 0],
      [indep, 1],
      [indep, 2],
    ] as const) {
      const a = resultsA(map, rule, 6);
      for (const device of [0, 4, 9, 13]) {
        const result = compareMappings(map, map, options(map, rule, 6, out(map, device)));
        expect(result.positional).toBe(true);
        expect(result.inputsChanged).toBe(a.filter((items) => items.includes(device)).length);
        // Every position that held the device moved away from it.
        const positions = a.reduce((sum, items) => sum + items.filter((item) => item === device).length, 0);
        const fromDevice = result.movements.filter((movement) => movement.from === device);
        expect(fromDevice.reduce((sum, movement) => sum + movement.count, 0)).toBe(positions);
        expect(result.replicasMoved).toBeGreaterThanOrEqual(positions);
        // Positional movements never name the same device on both sides.
        for (const movement of result.movements) expect(movement.from).not.toBe(movement.to);
      }
    }
    // choose indep host, then choose indep 1 osd: hosts do not depend on devices, so only the
    // device's own positions change.
    for (const device of [0, 4, 9, 13]) {
      const result = compareMappings(indep, indep, options(indep, 1, 6, out(indep, device)));
      for (const movement of result.movements) expect(movement.from).toBe(device);
    }
    expect(
      formatComparison(compareMappings(indep, indep, options(indep, 0, 6, out(indep, 4))), String),
    ).toContain("[positions compared: indep rule]");
  });

  it("positional comparison counts a position by position change", () => {
    const reweightsB = out(indep, 4);
    const result = compareMappings(indep, indep, options(indep, 0, 6, reweightsB));
    const mapper = new Mapper(indep);
    const reweightsA = defaultReweights(indep);
    let changedPositions = 0;
    for (let x = 0; x <= 1023; x++) {
      const a = mapper.map(0, x, 6, reweightsA);
      const b = mapper.map(0, x, 6, reweightsB);
      expect(a).toHaveLength(6);
      expect(b).toHaveLength(6);
      for (let i = 0; i < 6; i++) if (a[i] !== b[i]) changedPositions++;
    }
    expect(result.movements.reduce((sum, movement) => sum + movement.count, 0)).toBe(changedPositions);
  });

  it("throws for a missing rule", () => {
    expect(() => compareMappings(racks, racks, { ...options(racks, 0, 3), ruleA: 42 })).toThrow(RangeError);
    expect(() => compareMappings(racks, racks, { ...options(racks, 0, 3), ruleB: 42 })).toThrow(RangeError);
  });
});

describe("explainMapping", () => {
  const xs = Array.from({ length: 50 }, (_, i) => hash2(i, 0xc0ffee));

  for (const [name, map, rules, numRep] of [
    ["racks", racks, [0, 1, 2, 3], 3],
    ["indep", indep, [0, 1, 2, 3, 4, 5], 6],
  ] as const) {
    it(`${name}: the explained result equals Mapper.map for 50 random x`, () => {
      const mapper = new Mapper(map, defaultChooseArgs(map));
      const reweights = defaultReweights(map);
      reweights[4] = 0;
      reweights[7] = 0x8000;
      for (const rule of rules) {
        for (const x of xs) {
          const explanation = explainMapping(map, rule, x, numRep, reweights);
          const expected = mapper.map(rule, x, numRep, reweights);
          expect(explanation.result).toEqual(expected);
          expect(explanation).toMatchObject({ ruleId: rule, x, numRep });
          expect(explanation.events.length).toBeGreaterThan(0);
          const text = formatExplanation(map, explanation);
          expect(text.endsWith("\n")).toBe(true);
          const lines = text.trimEnd().split("\n");
          expect(lines.at(-1)).toBe(`result [${expected.join(",")}]`);
          expect(lines[0]).toBe(`rule ${rule} (${map.ruleNames.get(rule)}) x ${x} num_rep ${numRep}`);
          expect(lines.some((line) => /^step \d+: take /.test(line))).toBe(true);
          if (expected.includes(ITEM_NONE)) expect(text).toContain("NONE");
        }
      }
    });
  }

  it("throws for a missing rule", () => {
    expect(() => explainMapping(racks, 42, 0, 3, defaultReweights(racks))).toThrow(RangeError);
  });
});
