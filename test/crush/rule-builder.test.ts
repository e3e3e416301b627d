// crushha's rule vocabulary resolved against a real map: the builder and the JSON form give
// exactly the Ceph steps (and mappings) of the equivalent crushtool rule; errors name the JSON path.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CrushMap,
  compileCrushText,
  defaultChooseArgs,
  defaultReweights,
  describeStep,
  Mapper,
  RuleBuilder,
  RuleOp,
  type RuleSpec,
  RuleSpecError,
  type RuleStepSpec,
  RuleType,
  resolveRule,
  rule,
} from "../../src/crush/index.ts";
import { CRUSH_FIXTURES, fixtureNames, loadMap } from "../helpers/crush-maps.ts";

const racks = loadMap("racks");

function ruleIdByName(map: CrushMap, name: string): number {
  for (const [id, ruleName] of map.ruleNames) if (ruleName === name) return id;
  throw new Error(`no rule ${name}`);
}

/** rep_rack_then_host in racks.txt: take default / choose firstn 0 type rack / chooseleaf firstn 1 type host / emit. */
const REFERENCE_ID = ruleIdByName(racks, "rep_rack_then_host");
const JSON_STEPS: RuleStepSpec[] = [
  { op: "use", bucket: "default" },
  { op: "select", type: "rack", count: 0 },
  { op: "take", count: 1, type: "host" },
  { op: "emit" },
];

function expectSameMappings(map: CrushMap, resolvedSteps: RuleSpec, referenceId: number): void {
  const copy: CrushMap = { ...map, rules: [...map.rules] };
  const id = copy.rules.length;
  copy.rules[id] = resolveRule(resolvedSteps, copy, id);
  const mapper = new Mapper(copy, defaultChooseArgs(copy));
  const reweights = defaultReweights(copy);
  const partial = reweights.slice();
  partial[4] = 0;
  partial[15] = 0x4ccc;
  const mismatches: number[] = [];
  for (let x = 0; x <= 1023; x++) {
    for (const numRep of [3, 4]) {
      for (const weights of [reweights, partial]) {
        const expected = mapper.map(referenceId, x, numRep, weights);
        const actual = mapper.map(id, x, numRep, weights);
        if (expected.join() !== actual.join()) mismatches.push(x);
      }
    }
  }
  expect(mismatches).toEqual([]);
}

describe("rule builder", () => {
  it("builds the crushha step list", () => {
    const builder = rule().use("default").select("rack", 0).take(1, "host").emit();
    expect(builder).toBeInstanceOf(RuleBuilder);
    expect(builder.build().steps).toEqual([
      { op: "use", bucket: "default" },
      { op: "select", type: "rack", count: 0, mode: "firstn" },
      { op: "take", count: 1, type: "host", mode: "firstn" },
      { op: "emit" },
    ]);
    expect(builder.build({ name: "r", minSize: 2 })).toMatchObject({ name: "r", minSize: 2 });
  });

  it("use/select/take/emit resolves to the steps of racks' rep_rack_then_host", () => {
    const spec = rule().use("default").select("rack", 0).take(1, "host").emit().build();
    const resolved = resolveRule(spec, racks, 9);
    const reference = racks.rules[REFERENCE_ID]!;
    expect(resolved.steps).toEqual(reference.steps);
    expect(resolved.steps.map((step) => describeStep(step, racks))).toEqual([
      "take default",
      "choose firstn 0 type rack",
      "chooseleaf firstn 1 type host",
      "emit",
    ]);
    expect(resolved).toMatchObject({ id: 9, ruleset: 9, type: RuleType.replicated, minSize: 1, maxSize: 10 });
  });

  it("maps x 0..1023 exactly like rep_rack_then_host", () => {
    expectSameMappings(
      racks,
      rule().use("default").select("rack", 0).take(1, "host").emit().build(),
      REFERENCE_ID,
    );
  });

  it("the JSON form resolves to the same steps and mappings", () => {
    const fromJson = JSON.parse(JSON.stringify({ steps: JSON_STEPS })) as RuleSpec;
    expect(resolveRule(fromJson, racks, 4).steps).toEqual(racks.rules[REFERENCE_ID]!.steps);
    expectSameMappings(racks, fromJson, REFERENCE_ID);
  });

  it("take without a failure domain and the other racks rules resolve to their Ceph steps", () => {
    const cases: [RuleSpec, string][] = [
      [rule().use("default").take(0, "host").emit().build(), "rep_host"],
      [rule().use("default").take(0, "rack").emit().build(), "rep_rack"],
      [rule().use("default").take(0, "host", "indep").emit().build({ type: "erasure" }), "ec_host"],
    ];
    for (const [spec, name] of cases) {
      expect(resolveRule(spec, racks, 0).steps).toEqual(racks.rules[ruleIdByName(racks, name)]!.steps);
    }
    expect(resolveRule(cases[2][0], racks, 0).type).toBe(RuleType.erasure);
    // take(n) with no failure domain picks devices directly: choose firstn n type <type 0>.
    expect(resolveRule(rule().use("default").take(2).emit().build(), racks, 0).steps[1]).toEqual({
      op: RuleOp.chooseFirstn,
      arg1: 2,
      arg2: 0,
    });
    // choose with leaf, and set_* steps.
    const steps = resolveRule(
      {
        steps: [
          { op: "set", name: "chooseleaf_tries", value: 5 },
          { op: "use", bucket: "default" },
          { op: "choose", type: "host", count: 0, mode: "indep", leaf: true },
          { op: "emit" },
        ],
      },
      racks,
      0,
    ).steps;
    expect(steps.map((step) => describeStep(step, racks))).toEqual([
      "set_chooseleaf_tries 5",
      "take default",
      "chooseleaf indep 0 type host",
      "emit",
    ]);
  });
});

describe("resolveRule errors", () => {
  const errorOf = (spec: unknown, path?: string): RuleSpecError => {
    try {
      resolveRule(spec as RuleSpec, racks, 0, path);
    } catch (error) {
      expect(error).toBeInstanceOf(RuleSpecError);
      return error as RuleSpecError;
    }
    throw new Error("resolveRule did not throw");
  };
  const withStep = (index: number, step: unknown) => {
    const steps: unknown[] = [...JSON_STEPS];
    steps[index] = step;
    return { steps };
  };

  it("unknown bucket type", () => {
    const error = errorOf(withStep(1, { op: "select", type: "rak", count: 0 }));
    expect(error.message.startsWith('rule/steps/1/type: unknown bucket type "rak"')).toBe(true);
    expect(error.path).toBe("rule/steps/1/type");
    expect(error.name).toBe("RuleSpecError");
    expect(() => rule().use("default").select("rak", 0).emit()).not.toThrow(); // resolved later
  });

  it("unknown bucket", () => {
    const error = errorOf(withStep(0, { op: "use", bucket: "nowhere" }));
    expect(error.message.startsWith('rule/steps/0/bucket: unknown bucket "nowhere"')).toBe(true);
  });

  it("non-integer count", () => {
    expect(errorOf(withStep(2, { op: "take", count: 1.5, type: "host" })).message).toMatch(
      /^rule\/steps\/2\/count: expected an integer/,
    );
    expect(errorOf(withStep(1, { op: "select", type: "rack", count: "2" })).message).toMatch(
      /^rule\/steps\/1\/count: /,
    );
  });

  it("missing emit, empty steps", () => {
    expect(errorOf({ steps: JSON_STEPS.slice(0, 3) }).message).toMatch(/^rule\/steps: expected an emit step/);
    expect(errorOf({ steps: [] }).message).toMatch(/^rule\/steps: /);
    expect(errorOf({}).message).toMatch(/^rule\/steps: /);
  });

  it("unknown op, bad mode, unknown set name", () => {
    expect(errorOf(withStep(2, { op: "pick", count: 1 })).message).toMatch(/^rule\/steps\/2\/op: .*"pick"/);
    expect(errorOf(withStep(1, { op: "select", type: "rack", count: 0, mode: "random" })).message).toMatch(
      /^rule\/steps\/1\/mode: /,
    );
    expect(errorOf(withStep(0, { op: "set", name: "choose_everything", value: 1 })).message).toMatch(
      /^rule\/steps\/0\/name: /,
    );
    expect(errorOf(withStep(0, { op: "set", name: "choose_tries", value: 0.5 })).message).toMatch(
      /^rule\/steps\/0\/value: /,
    );
    expect(errorOf(withStep(0, null)).message).toMatch(/^rule\/steps\/0: /);
  });

  it("prefixes errors with the caller's path", () => {
    const error = errorOf(withStep(1, { op: "select", type: "rak", count: 0 }), "/types/echo/rule");
    expect(error.message.startsWith('/types/echo/rule/steps/1/type: unknown bucket type "rak"')).toBe(true);
  });
});

describe("describeStep", () => {
  // crushtool -d prints every rule step as "\tstep <text>"; describeStep must render the same text.
  const names = fixtureNames(join(CRUSH_FIXTURES, "decompiled"), ".txt");

  it.each(names)("%s: renders every rule step as crushtool -d does", (name) => {
    const text = readFileSync(join(CRUSH_FIXTURES, "decompiled", `${name}.txt`), "utf8");
    const expected = text
      .split("\n")
      .filter((line) => line.startsWith("\tstep "))
      .map((line) => line.slice("\tstep ".length));
    const map = compileCrushText(text);
    const actual = map.rules.flatMap((r) =>
      r === undefined ? [] : r.steps.map((step) => describeStep(step, map)),
    );
    expect(actual.length).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });

  it("falls back to numbers for unnamed types and items", () => {
    const map: CrushMap = { ...racks, typeNames: new Map(), itemNames: new Map() };
    expect(describeStep({ op: RuleOp.take, arg1: -7, arg2: 0 }, map)).toBe("take -7");
    expect(describeStep({ op: RuleOp.chooseIndep, arg1: 3, arg2: 2 }, map)).toBe("choose indep 3 type 2");
    expect(describeStep({ op: RuleOp.noop, arg1: 0, arg2: 0 }, map)).toBe("noop");
  });
});
