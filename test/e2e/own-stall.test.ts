// Issue 12, item 5: after a stall of the orchestrator's own loop (here SIGSTOP for 2 s, as a long
// GC or a slow disk would do), peers get a fresh liveness window: no satellite is declared lost,
// no running job is taken for stalled, retried or poisoned.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, controlRequest } from "../../src/client/index.ts";
import { Cluster, root } from "./harness.ts";

const cluster = new Cluster();
let client: Client;

beforeAll(async () => {
  await cluster.write({
    orchestrator: {
      heartbeatMs: 200, // a liveness window of 600 ms, well under the 2 s stall
      tracker: { ackTimeoutMs: 1000, stallTimeoutMs: 800, poisonCrashThreshold: 2 },
    },
    hierarchy: ["rack", "host"],
    hosts: { h1: { rack: "r1" }, h2: { rack: "r2" } },
    types: {
      progressing: {
        module: join(root, "test/e2e/satellites/progressing.ts"),
        replicas: 2,
        timeoutMs: 30_000,
      },
    },
  });
  cluster.start("orchestrator", ["orchestrator"]);
  await cluster.waitForOrchestrator();
  for (const host of ["h1", "h2"])
    cluster.start(`progressing@${host}`, ["satellite", "test/e2e/satellites/progressing.ts", "--host", host]);
  await cluster.waitForSatellites(2);
  client = await connect(cluster.endpoints.frontend, { timeoutMs: 30_000 });
}, 150_000);

afterAll(async () => {
  await client?.close();
  cluster.stop();
});

describe("the orchestrator's own stall", () => {
  it("SIGSTOP for 2 s mid-job: no satellite lost, every job runs once and succeeds", async () => {
    const orchestrator = cluster.processes.get("orchestrator");
    const pid = orchestrator?.pid as number;
    const jobs = ["a", "b", "c", "d"].map((tag) => client.request("progressing", { ms: 3000, tag }));
    await new Promise((resolve) => setTimeout(resolve, 700)); // the jobs are running
    process.kill(pid, "SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.kill(pid, "SIGCONT");
    const results = await Promise.all(jobs);
    expect(results.map((result) => (result as { tag: string }).tag)).toEqual(["a", "b", "c", "d"]);
    const started = readdirSync(cluster.dir).filter((name) => name.startsWith("started-"));
    expect(started.sort()).toEqual(["started-a-1", "started-b-1", "started-c-1", "started-d-1"]);
    const status = (await controlRequest(cluster.endpoints.control, "status")) as {
      counters: { satellitesLost: number; ownStalls: number };
      stats: { progressing: { retries: number; stalls: number; poison: number } };
    };
    expect(status.counters.satellitesLost).toBe(0);
    expect(status.counters.ownStalls).toBeGreaterThanOrEqual(1);
    expect(status.stats.progressing).toMatchObject({ retries: 0, stalls: 0, poison: 0 });
  }, 60_000);
});
