// dsat simulate: the same seed gives the same bytes, a rack lost at load reroutes its jobs and loses
// none, and bad scenarios get one clear error naming the file, the path and what was expected.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkAgainst,
  formatComparison,
  loadScenario,
  parseScenario,
  type Scenario,
  ScenarioError,
  simulate,
} from "../../src/simulate/index.ts";
import { loadTopology, satelliteInstances } from "../../src/topology/index.ts";
import { ROOT, runDsat } from "../cli/helpers.ts";

const demo = loadTopology(join(ROOT, "topologies/demo.json"));
const dir = mkdtempSync(join(tmpdir(), "dsat-simulate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small scenario on the demo topology: echo under load, rack2 killed mid-run. */
function rackLoss(overrides: Partial<Scenario> = {}): Scenario {
  return parseScenario(
    {
      description: "rack2 lost under load",
      durationMs: 6000,
      drainMs: 20000,
      intervalMs: 1000,
      load: {
        echo: { rate: 400, clients: 3, keys: { distribution: "zipf", count: 500 } },
        wordcount: { arrival: "bursts", burst: { size: 20, everyMs: 500 } },
      },
      // Long enough that rack2's satellites hold jobs when they die.
      service: {
        echo: { time: { distribution: "lognormal", medianMs: 60, sigma: 0.3 } },
        wordcount: { time: { distribution: "uniform", minMs: 50, maxMs: 150 } },
      },
      events: [{ atMs: 3000, action: "kill", target: { domain: "rack2" } }],
      ...overrides,
    },
    "inline.json",
  );
}

describe("simulate", () => {
  it("gives byte-identical results for the same seed, and different ones for another", () => {
    const once = JSON.stringify(simulate(demo, rackLoss(), 7));
    const twice = JSON.stringify(simulate(demo, rackLoss(), 7));
    expect(twice).toBe(once);
    expect(JSON.stringify(simulate(demo, rackLoss(), 8))).not.toBe(once);
  });

  it("reroutes the jobs of a rack lost under load and loses none", () => {
    const result = simulate(demo, rackLoss(), 1);
    const echo = result.types.echo;
    const wordcount = result.types.wordcount;
    expect(echo.submitted).toBeGreaterThan(2000);
    expect(wordcount.submitted).toBeGreaterThan(200);
    for (const type of [echo, wordcount]) {
      expect(type.lost).toBe(0);
      expect(type.failed).toBe(0);
      expect(type.completed).toBe(type.submitted);
    }
    // Jobs running on rack2 when it died were retried elsewhere.
    expect(echo.reroutes + wordcount.reroutes).toBeGreaterThan(0);
    expect(echo.attemptsLost + wordcount.attemptsLost).toBeGreaterThan(0);
    // echo@r2h1, echo@r2h2, wordcount@r2h1 and measure@r2h2.
    expect(result.satelliteEvents["satellite.lost"]).toBe(4);
    // After the loss, rack2 serves nothing: its share is what it did in the first 3 s.
    const share = result.domains.rack;
    expect(share.rack2.share).toBeLessThan(share.rack1.share);
    expect(share.rack2.share).toBeLessThan(share.rack3.share);
    // Without the kill: no reroutes at all.
    const calm = simulate(demo, rackLoss({ events: [] }), 1);
    expect(calm.types.echo.reroutes + calm.types.wordcount.reroutes).toBe(0);
  });

  it("finds the jobs a hanging satellite holds and runs them elsewhere", () => {
    const hang = simulate(
      demo,
      rackLoss({
        events: [
          { atMs: 2000, action: "hang", target: { satellite: "echo@r1h1" } },
          { atMs: 5000, action: "restore", target: { satellite: "echo@r1h1" } },
        ],
      }),
      3,
    );
    expect(hang.types.echo.lost).toBe(0);
    expect(hang.types.echo.failed).toBe(0);
    expect(hang.types.echo.retries).toBeGreaterThan(0);
    // The unlucky jobs waited for the satellite to be declared lost (heartbeatMs 500 x 3 in demo).
    expect(hang.types.echo.latencyMs.max).toBeGreaterThan(1000);
  });

  it("counts keyed jobs that move when a host is added", () => {
    const scenario = rackLoss({
      events: [
        { atMs: 3000, action: "add-host", host: "r3h3", location: { rack: "rack3" }, types: ["echo"] },
      ],
    });
    const result = simulate(demo, scenario, 1);
    expect(result.types.echo.keyMoves).toBeGreaterThan(0);
    expect(result.satellites.find((s) => s.id === "echo@r3h3")?.jobs).toBeGreaterThan(0);
    expect(result.types.echo.lost).toBe(0);
  });

  it("loses a partitioned host's satellites, takes them back after heal, and drains without losing jobs", () => {
    const result = simulate(
      demo,
      rackLoss({
        events: [
          { atMs: 1000, action: "partition", target: { host: "r1h1" } },
          { atMs: 3000, action: "heal", target: { host: "r1h1" } },
          { atMs: 3500, action: "drain", target: { satellite: "echo@r3h1" } },
        ],
      }),
      5,
    );
    for (const type of Object.values(result.types)) {
      expect(type.lost).toBe(0);
      expect(type.failed).toBe(0);
    }
    // echo@r1h1 and wordcount@r1h1 lost in the partition, then registered again (12 at the start).
    expect(result.satelliteEvents["satellite.lost"]).toBeGreaterThanOrEqual(2);
    expect(result.satelliteEvents["satellite.registered"]).toBe(14);
    expect(result.satelliteEvents["satellite.draining"]).toBe(1);
    expect(result.types.echo.reroutes).toBeGreaterThan(0);
  });

  it("gives a satellite its own service time", () => {
    const slow = simulate(
      demo,
      rackLoss({
        events: [],
        satellites: [{ target: { satellite: "echo@r1h1" }, time: { distribution: "constant", ms: 2000 } }],
      }),
      1,
    );
    const echo = slow.satellites.find((s) => s.id === "echo@r1h1");
    expect(echo?.jobs).toBeGreaterThan(0);
    expect((echo?.busyMs ?? 0) / (echo?.jobs ?? 1)).toBe(2000);
    expect(slow.types.echo.latencyMs.max).toBeGreaterThan(2000);
  });

  it("compares two policies on the same scenario and seed", () => {
    const hang: Scenario["events"] = [{ atMs: 1000, action: "hang", target: { satellite: "echo@r1h1" } }];
    const patient = simulate(demo, rackLoss({ events: hang }), 4);
    const eager = simulate(
      demo,
      rackLoss({ events: hang, orchestrator: { tracker: { ackTimeoutMs: 50 } } }),
      4,
    );
    expect(eager.types.echo.timeouts).toBeGreaterThan(patient.types.echo.timeouts);
    const text = formatComparison(patient, eager);
    expect(text).toMatch(/^timeouts +\d+ +\d+ +\+\d+$/m);
    expect(text).toMatch(/^echo +A +B +B - A$/m);
  });

  it("uses no wall clock and no unseeded randomness", () => {
    const folder = join(ROOT, "src/simulate");
    for (const file of readdirSync(folder)) {
      // Code only: comments may say what the code does not do.
      const text = readFileSync(join(folder, file), "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
      expect(text, file).not.toMatch(
        /Date\.now|Math\.random|performance\.now|setTimeout|setInterval|new Date\(/,
      );
    }
  });
});

describe("scenario errors", () => {
  const problem = (json: unknown): string => {
    try {
      parseScenario(json, "s.json");
    } catch (error) {
      expect(error).toBeInstanceOf(ScenarioError);
      return (error as Error).message;
    }
    throw new Error("expected a ScenarioError");
  };
  const base = { description: "q", durationMs: 1000, load: { echo: { rate: 1 } } };

  it("names the file, the JSON path and what was expected", () => {
    expect(problem({ ...base, durationMs: "10s" })).toBe(
      's.json: /durationMs: expected a positive number of ms (how long jobs arrive), found string "10s"',
    );
    expect(problem({ durationMs: 1000, load: {} })).toBe(
      "s.json: /description: expected a non-empty string: the question this scenario answers, found nothing",
    );
    expect(problem({ ...base, load: { echo: { rate: 1, colour: "red" } } })).toMatch(
      /^s\.json: \/load\/echo\/colour: expected one of the keys arrival, rate, .*found an unknown key$/,
    );
    expect(problem({ ...base, service: { echo: { time: { distribution: "gamma" } } } })).toMatch(
      /^s\.json: \/service\/echo\/time: expected a distribution: .*found an object$/,
    );
    expect(problem({ ...base, events: [{ atMs: 5, action: "explode" }] })).toMatch(
      /^s\.json: \/events\/0\/action: expected one of "kill", "hang", .*found string "explode"$/,
    );
    expect(problem({ ...base, events: [{ atMs: 5, action: "kill" }] })).toMatch(
      /^s\.json: \/events\/0\/target: expected one of \{"satellite": ID\}, .*found nothing$/,
    );
    expect(problem({ ...base, durationMs: 3_600_000, load: { echo: { rate: 1e6 } } })).toBe(
      "s.json: /load/echo/rate: expected at most 50,000,000 jobs in a run, found up to 3,600,000,000",
    );
    expect(problem({ ...base, intervalMs: 0.001 })).toMatch(
      /^s\.json: \/intervalMs: expected at most 100,000 intervals over the run/,
    );
    expect(problem({ ...base, load: { echo: { arrival: "poisson" } } })).toBe(
      "s.json: /load/echo/rate: expected jobs per second for poisson arrivals, found nothing",
    );
  });

  it("checks names against the topology", () => {
    const run = (json: unknown) => () => simulate(demo, parseScenario(json, "s.json"), 1);
    expect(run({ ...base, load: { nope: { rate: 1 } } })).toThrow(
      's.json: /load/nope: expected a type of the topology (echo, wordcount, measure, store), found "nope"',
    );
    expect(run({ ...base, events: [{ atMs: 1, action: "kill", target: { domain: "rack9" } }] })).toThrow(
      's.json: /events/0/target/domain: expected a bucket of the topology\'s hierarchy, found "rack9"',
    );
    expect(
      run({ ...base, events: [{ atMs: 1, action: "add-host", host: "r1h1", location: { rack: "rack1" } }] }),
    ).toThrow('s.json: /events/0/host: expected a new host name, found "r1h1", already a host');
    expect(
      run({ ...base, events: [{ atMs: 1, action: "hang", target: { satellite: "echo@r9h9" } }] }),
    ).toThrow(
      's.json: /events/0/target/satellite: expected a satellite of the topology (TYPE@HOST or TYPE@HOST#N, e.g. echo@r1h1, echo@r1h2, echo@r2h1), found "echo@r9h9"',
    );
    // A satellite of a host added earlier in the run is fine.
    expect(
      run({
        ...base,
        durationMs: 100,
        drainMs: 100,
        events: [
          { atMs: 10, action: "add-host", host: "r4h1", location: { rack: "rack4" }, types: ["echo"] },
          { atMs: 20, action: "kill", target: { satellite: "echo@r4h1" } },
        ],
      }),
    ).not.toThrow();
  });

  it.each(
    readdirSync(join(ROOT, "scenarios")).filter((name) => name.endsWith(".json") && !name.includes("schema")),
  )("accepts the example scenarios/%s on the topology its description names", (name) => {
    const scenario = loadScenario(join(ROOT, "scenarios", name));
    const topology = /Run with (topologies\/[\w.-]+\.json)/.exec(scenario.description)?.[1];
    expect(topology, "the description says which topology to run with").toBeDefined();
    const loaded = loadTopology(join(ROOT, topology as string));
    const ids = satelliteInstances(loaded).map((instance) => instance.id);
    expect(() => checkAgainst(scenario, loaded, ids)).not.toThrow();
  });

  it("gives the line and column of bad JSON", () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, '{\n  "description": "x",\n  "durationMs": 10,,\n}\n');
    expect(() => loadScenario(file)).toThrow(/broken\.json: \/: not valid JSON at line 3, column 20/);
  });
});

describe("dsat simulate", () => {
  it("runs an example scenario and writes the same JSON it prints", async () => {
    const out = join(dir, "out");
    const args = ["simulate", "topologies/demo.json", "scenarios/hanging-satellite.json", "--seed", "2"];
    const run = await runDsat([...args, "--json", "--out", out], 60_000);
    expect(run.stderr.toString()).toMatch(/jobs simulated in .* s wall/);
    expect(run.code).toBe(0);
    const written = readFileSync(join(out, "hanging-satellite.seed2.json"), "utf8");
    expect(run.stdout.toString()).toBe(written);
    const result = JSON.parse(written);
    expect(result.seed).toBe(2);
    expect(result.types.echo.lost).toBe(0);
    expect(result.types.echo.submitted).toBeGreaterThan(20_000);
    expect(result.events.map((e: { action: string }) => e.action)).toEqual(["hang", "restore"]);
    const table = await runDsat(args, 60_000);
    expect(table.code).toBe(0);
    expect(table.stdout.toString()).toMatch(/^type +submitted +done +failed +lost/m);
  });

  it("reports a bad scenario in one line, exit 1", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ description: "q", durationMs: 1000, load: { echo: { rate: -1 } } }));
    const run = await runDsat(["simulate", "topologies/demo.json", file], 30_000);
    expect(run.code).toBe(1);
    expect(run.stderr.toString()).toBe(
      `dsat: ${file}: /load/echo/rate: expected jobs per second, at least 0, found number -1\n`,
    );
  });
});
