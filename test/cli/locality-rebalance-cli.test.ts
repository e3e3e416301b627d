// `dsat locality` (docs/locality.md) and `dsat rebalance` (docs/operations.md, "Rebalance") as real
// child processes: where a job with inputs would run, and which keys move when the fleet changes,
// from the declared satellites and (--live) from a running orchestrator's registry.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { hashKey } from "../../src/crush/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import {
  declaredSatellites,
  loadTopology,
  orchestratorConfig,
  satelliteInstances,
  type TypeRebalance,
  typePlacement,
} from "../../src/topology/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { ROOT, runDsat } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "dsat-locality-cli-"));
const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const HOSTS = {
  h11: { rack: "r1" },
  h12: { rack: "r1" },
  h21: { rack: "r2" },
  h22: { rack: "r2" },
  h31: { rack: "r3" },
  h32: { rack: "r3" },
};

function topologyFile(name: string, orchestrator: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      orchestrator,
      hierarchy: ["rack", "host"],
      hosts: HOSTS,
      locality: { hostnames: { "nas-1": "h22" } },
      types: { scan: { module: join(ROOT, "satellites/echo.ts"), replicas: 2, failureDomain: "rack" } },
    }),
  );
  return file;
}

const text = (buffer: Buffer) => buffer.toString("utf8");
const KEYS = Array.from({ length: 400 }, (_, i) => `user-${i}`);

describe("dsat locality", () => {
  const file = topologyFile("offline", { frontend: "tcp://127.0.0.1:1" });

  it("puts a replica's host first (through the hostname map), then another rack's replica host", async () => {
    const run = await runDsat([
      "locality",
      "--topology",
      file,
      "--type",
      "scan",
      "disco://nas-1/d/1,h31:/d/1",
    ]);
    expect(text(run.stderr)).toBe("");
    expect(run.code).toBe(0);
    const lines = text(run.stdout).split("\n");
    const rows = lines.filter((line) => /^\d /.test(line)).map((line) => line.split(/\s+/).slice(1, 3));
    expect(rows).toHaveLength(2); // replicas: 2, one per rack
    expect(rows.map(([satellite]) => satellite).sort()).toEqual(["scan@h22", "scan@h31"]);
    expect(rows.every(([, nearness]) => nearness === "local")).toBe(true);
  });

  it("with a replica's host down, the next replica host; with both down, their racks", async () => {
    const oneDown = await runDsat([
      "locality",
      "--topology",
      file,
      "--type",
      "scan",
      "--json",
      "--down",
      "h22",
      "disco://nas-1/d/1,h31:/d/1",
    ]);
    const one = JSON.parse(text(oneDown.stdout)) as {
      candidates: Array<{ satellite: string; nearness: string }>;
    };
    expect(one.candidates[0]).toMatchObject({ satellite: "scan@h31", nearness: "local" });
    expect(one.candidates[1]).toMatchObject({ satellite: "scan@h21", nearness: "rack" });
    const bothDown = await runDsat([
      "locality",
      "--topology",
      file,
      "--type",
      "scan",
      "--json",
      "--down",
      "h22",
      "--down",
      "h31",
      "nas-1:/d",
    ]);
    const both = JSON.parse(text(bothDown.stdout)) as {
      candidates: Array<{ satellite: string; nearness: string }>;
    };
    expect(both.candidates[0]).toMatchObject({ satellite: "scan@h21", nearness: "rack" });
  });

  it("refuses an unknown type or target in one line (exit 1)", async () => {
    const type = await runDsat(["locality", "--topology", file, "--type", "nope", "h11:/x"]);
    expect(type.code).toBe(1);
    expect(text(type.stderr)).toMatch(/locality: no satellite serves nope/);
    const down = await runDsat(["locality", "--topology", file, "--type", "scan", "--down", "h99", "h11:/x"]);
    expect(down.code).toBe(1);
    expect(text(down.stderr)).toMatch(/--down h99: names no satellite/);
  });
});

describe("dsat rebalance", () => {
  const file = topologyFile("rebalance", { frontend: "tcp://127.0.0.1:1" });
  const keysFile = join(dir, "keys.txt");
  writeFileSync(keysFile, `${KEYS.join("\n")}\n`);

  it("--dry-run --drain h11: exactly the keys whose first satellite was on h11 move, none of the others", async () => {
    const run = await runDsat([
      "rebalance",
      file,
      "--dry-run",
      "--drain",
      "h11",
      "--keys",
      keysFile,
      "--json",
    ]);
    expect(text(run.stderr)).toBe("");
    expect(run.code).toBe(0);
    const [plan] = JSON.parse(text(run.stdout)) as TypeRebalance[];
    // What the orchestrator's placement says, computed here apart.
    const topology = loadTopology(file);
    const placement = typePlacement(topology, "scan", satelliteInstances(topology));
    const expected = KEYS.filter((key) => placement.candidates(hashKey(key) | 0, false)[0] === "scan@h11");
    expect(expected.length).toBeGreaterThan(20);
    expect(plan.moves.map((move) => move.key)).toEqual(expected);
    // CRUSH retries a drained (out) device within its failure domain first: most go to h12.
    for (const move of plan.moves) {
      expect(move.from).toBe("scan@h11");
      expect(move.to).not.toBe("scan@h11");
    }
    expect(plan.flows[0]).toMatchObject({ from: "scan@h11", to: "scan@h12" });
    // The sample: about one sixth of all keys had h11 first.
    expect(plan.sampleFirstMoved / plan.sample.inputs).toBeGreaterThan(0.1);
    expect(plan.sampleFirstMoved / plan.sample.inputs).toBeLessThan(0.25);
  });

  it("--max-moves lists that many and counts the rest; applying needs a control endpoint and refuses --weight", async () => {
    const run = await runDsat([
      "rebalance",
      file,
      "--dry-run",
      "--drain",
      "h11",
      "--keys",
      keysFile,
      "--max-moves",
      "3",
    ]);
    const out = text(run.stdout);
    expect(out.match(/^ {2}user-\d+: scan@h11 -> /gm)).toHaveLength(3);
    expect(out).toMatch(/more moves past --max-moves 3/);
    const apply = await runDsat(["rebalance", file, "--drain", "h11", "--samples", "10"]);
    expect(apply.code).toBe(1);
    expect(text(apply.stderr)).toMatch(/applying a rebalance\) needs \/orchestrator\/control/);
    const weight = await runDsat(["rebalance", file, "--weight", "scan@h11=2", "--samples", "10"]);
    expect(weight.code).toBe(1);
    expect(text(weight.stderr)).toMatch(/--weight: only with --dry-run/);
    const bad = await runDsat(["rebalance", file, "--dry-run", "--weight", "scan@h11"]);
    expect(bad.code).toBe(1);
    expect(text(bad.stderr)).toMatch(/--weight scan@h11: expected TARGET=NUMBER/);
  });

  it("--live: from the registry (a drained host included); undraining it moves its keys back", async () => {
    const [frontend, control] = await freeEndpoints(2);
    const live = topologyFile("live", { frontend, control });
    const topology = loadTopology(live);
    const orchestrator = new Orchestrator({ ...orchestratorConfig(topology), log: () => {} });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const satellites: SatelliteRuntime[] = [];
    for (const declared of declaredSatellites(topology)) {
      const satellite = await runSatellite(defineSatellite({ type: "scan", handle: () => null }), {
        endpoint: frontend,
        id: declared.id,
        location: declared.location.split(",").map((pair) => pair.split("=") as [string, string]),
        log: () => {},
      });
      satellites.push(satellite);
      cleanups.push(() => satellite.stop());
    }
    await until(() => orchestrator.status().satellites.length === 6, 10_000, "satellites register");
    orchestrator.drain("h11");
    const now = await runDsat(["rebalance", live, "--live", "--dry-run", "--keys", keysFile, "--json"]);
    expect(text(now.stderr)).toBe("");
    expect((JSON.parse(text(now.stdout)) as TypeRebalance[])[0].moves).toEqual([]);
    const back = await runDsat([
      "rebalance",
      live,
      "--live",
      "--dry-run",
      "--undrain",
      "h11",
      "--keys",
      keysFile,
      "--json",
    ]);
    const moves = (JSON.parse(text(back.stdout)) as TypeRebalance[])[0].moves;
    expect(moves.length).toBeGreaterThan(20);
    expect(moves.every((move) => move.to === "scan@h11")).toBe(true);
  }, 60_000);

  it("rebalance dry-run equals what is applied: the queued jobs of the keys that move, and only those", async () => {
    const [frontend, control] = await freeEndpoints(2);
    const live = topologyFile("apply", { frontend, control });
    const topology = loadTopology(live);
    const orchestrator = new Orchestrator({ ...orchestratorConfig(topology), log: () => {} });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    // Every satellite holds its one job until the end, so the others queue.
    let release = () => {};
    const gate = new Promise<void>((done) => (release = done));
    cleanups.push(() => release());
    const ran: string[] = [];
    for (const declared of declaredSatellites(topology)) {
      const satellite = await runSatellite(
        defineSatellite({
          type: "scan",
          handle: async () => {
            ran.push(declared.id);
            await gate;
            return null;
          },
        }),
        {
          endpoint: frontend,
          id: declared.id,
          location: declared.location.split(",").map((pair) => pair.split("=") as [string, string]),
          log: () => {},
        },
      );
      cleanups.push(() => satellite.stop());
    }
    await until(() => orchestrator.status().satellites.length === 6, 10_000, "satellites register");
    // Scores pinned: a loaded satellite's score would otherwise move keys between the two runs.
    for (const rack of ["r1", "r2", "r3"]) orchestrator.lockScore(rack, 100);
    orchestrator.drain("h11");
    const client = await connect(frontend, { timeoutMs: 60_000 });
    cleanups.push(() => client.close());
    const jobs = Promise.allSettled(
      KEYS.slice(0, 80).map((key, i) => client.request("scan", i, { key, id: `job-${key}` })),
    );
    await until(() => orchestrator.status().jobs.inFlight === 80, 10_000, "80 jobs held");
    await until(() => ran.length === 5, 10_000, "one job running on each undrained satellite");
    const held = orchestrator.listJobs({ state: "live" }, { limit: 1000, after: null }).jobs;
    const queuedKeys = new Set(held.filter((job) => job.satellite === null).map((job) => job.key));
    expect(queuedKeys.size).toBe(75);

    // No --key: the keys of the jobs the orchestrator holds.
    const dry = await runDsat(["rebalance", live, "--live", "--dry-run", "--undrain", "h11", "--json"]);
    expect(text(dry.stderr)).toBe("");
    const [plan] = JSON.parse(text(dry.stdout)) as TypeRebalance[];
    expect(plan.keys).toBe(80);
    const expected = plan.moves
      .filter((move) => queuedKeys.has(move.key))
      .map(({ key, from, to }) => ({ key, from, to }));
    expect(expected.length).toBeGreaterThan(3);
    // Some key that moves belongs to a running job: it stays.
    expect(plan.moves.length).toBeGreaterThan(expected.length);

    const applied = await runDsat(["rebalance", live, "--undrain", "h11", "--json"]);
    expect(text(applied.stderr)).toBe("");
    expect(applied.code).toBe(0);
    const answer = JSON.parse(text(applied.stdout)) as {
      applied: { changes: string[]; moves: Array<{ id: string; key: string; from: string; to: string }> };
    };
    expect(answer.applied.changes).toEqual(["undrain h11: scan@h11"]);
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    expect(answer.applied.moves.map(({ key, from, to }) => ({ key, from, to })).sort(byKey)).toEqual(
      expected.sort(byKey),
    );
    for (const move of answer.applied.moves) expect(move.id).toBe(`job-${move.key}`);
    // Nothing left to move: a second apply moves nothing.
    const again = await runDsat(["rebalance", live, "--samples", "10"]);
    expect(text(again.stdout)).toMatch(/moved 0 queued jobs/);
    release();
    const results = await jobs;
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    const runOnH11 = ran.filter((id) => id === "scan@h11").length;
    expect(runOnH11).toBeGreaterThanOrEqual(expected.length);
  }, 60_000);
});
