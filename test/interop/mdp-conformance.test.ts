// Issue 12, part E: 7/MDP conformance with plain Python peers (test/interop/*.py, written from the
// RFC). Each peer's heartbeat period is honoured; a worker silent while it works (as 7/MDP's
// reference workers are) is governed by its job's run timeout, not declared dead; a burst from
// an asynchronous plain client is queued, not refused; kill -9 of a worker under load loses no job.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { countLines, PythonPeers, waitForLine } from "../helpers/python.ts";
import { sleep, until } from "../helpers/wait.ts";

const WORKER_PY = fileURLToPath(new URL("./mdp_worker.py", import.meta.url));
const BURST_PY = fileURLToPath(new URL("./mdp_burst.py", import.meta.url));
const CLIENT_PY = fileURLToPath(new URL("./mdp_client.py", import.meta.url));

const peers = new PythonPeers();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  peers.killAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function orchestrator(config: Partial<OrchestratorConfig>): Promise<Orchestrator> {
  const [frontend] = await freeEndpoints(1);
  const made = new Orchestrator({
    frontend,
    hierarchy: ["host"],
    types: { echo: {} },
    log: () => {},
    ...config,
  });
  await made.start();
  cleanups.push(() => made.stop());
  return made;
}

async function worker(on: Orchestrator, flags: string[]) {
  const before = on.registry.size;
  const child = peers.spawn(WORKER_PY, [...flags, on.config.frontend[0], "echo"]);
  const reconnects = countLines(child, /^reconnected$/);
  const requests = countLines(child, /^request \d+$/);
  await waitForLine(child, /^ready$/);
  await until(() => on.registry.size > before, 10_000, "the worker to register");
  return { child, reconnects, requests };
}

describe("7/MDP heartbeats", () => {
  it("a worker keeping its own (slower) heartbeat period is not dropped by a faster orchestrator", async () => {
    // The orchestrator beats every 100 ms; the worker every 600 ms, as plainHeartbeatMs says it
    // may. Judged on the orchestrator's own period it would be lost after 300 ms of silence.
    const on = await orchestrator({ limits: { heartbeatMs: 100, plainHeartbeatMs: 600 } });
    const peer = await worker(on, ["--heartbeat-ms", "600"]);
    await sleep(2500);
    expect(peer.reconnects()).toBe(0);
    expect(on.counters.satellitesLost).toBe(0);
    expect(on.status().satellites[0]).toMatchObject({ heartbeatMs: 600, protocol: "MDP/0.1" });
  });

  it("a worker silent while it works runs a job longer than its liveness window once", async () => {
    const on = await orchestrator({
      limits: { heartbeatMs: 100, plainHeartbeatMs: 300 }, // silent 900 ms = lost, unless busy
      tracker: { ackTimeoutMs: 300, stallTimeoutMs: 300, runTimeoutMs: 20_000 },
    });
    const peer = await worker(on, ["--heartbeat-ms", "300", "--quiet-while-busy", "--delay-ms", "2000"]);
    const result = await peers.run(
      CLIENT_PY,
      ["--timeout-ms", "10000", on.config.frontend[0], "echo", "long"],
      15_000,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(["long"]);
    expect(peer.requests()).toBe(1); // ran once: no stall, no loss, no retry
    expect(peer.reconnects()).toBe(0);
    expect(on.counters.satellitesLost).toBe(0);
    expect(on.status().stats.echo).toMatchObject({ retries: 0, stalls: 0, timeouts: 0 });
  }, 30_000);
});

describe("plain clients under load", () => {
  it("a burst of 12,000 requests from one asynchronous client is queued and served, none refused", async () => {
    const on = await orchestrator({ limits: { heartbeatMs: 200, plainHeartbeatMs: 500 } });
    for (let n = 0; n < 3; n++) await worker(on, ["--heartbeat-ms", "500"]);
    const result = await peers.run(
      BURST_PY,
      ["--count", "12000", "--timeout-ms", "60000", on.config.frontend[0], "echo", "hello"],
      70_000,
    );
    const summary = JSON.parse(result.stdout) as {
      replies: number;
      ok: number;
      errors: Record<string, number>;
    };
    expect(summary).toMatchObject({ replies: 12_000, ok: 12_000, errors: {} });
  }, 90_000);
});

describe("kill -9 of a worker under load", () => {
  for (const run of [1, 2, 3])
    it(`loses no job (run ${run} of 3): what ran or waited there is placed again`, async () => {
      const on = await orchestrator({
        limits: { heartbeatMs: 200, plainHeartbeatMs: 500 },
        tracker: { stallTimeoutMs: 10_000, runTimeoutMs: 20_000 },
      });
      const workers = [];
      for (let n = 0; n < 3; n++)
        workers.push(await worker(on, ["--heartbeat-ms", "500", "--quiet-while-busy", "--delay-ms", "2"]));
      const client = await connect(on.config.frontend[0], { timeoutMs: 60_000 });
      cleanups.push(() => client.close());
      let answered = 0;
      const requests = Array.from({ length: 3000 }, (_, n) =>
        client.request("echo", n).then((value) => {
          answered++;
          return value;
        }),
      );
      await until(() => answered >= 500, 30_000, "500 answers");
      const victim = workers[run % 3].child;
      process.kill(victim.pid as number, "SIGKILL");
      const results = await Promise.allSettled(requests);
      const failed = results.filter((result) => result.status === "rejected");
      expect(failed.map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
      expect(results.map((result) => (result as PromiseFulfilledResult<unknown>).value)).toEqual(
        Array.from({ length: 3000 }, (_, n) => n),
      );
    }, 90_000);
});
