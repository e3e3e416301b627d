// A durable orchestrator in process: results are kept in the journal and survive a restart on the
// same directory; resubmissions are answered from it; unfinished jobs run again after a restart;
// `jobs` and `retry` work; titanic answers plain MDP clients.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { CancelledError, type Client, connect } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let runs = 0;
const echo = defineSatellite({
  type: "echo",
  handle: async (payload: unknown) => {
    runs++;
    if ((payload as { fail?: boolean })?.fail === true)
      throw Object.assign(new Error("asked to fail"), { retryable: false });
    if ((payload as { slowMs?: number })?.slowMs !== undefined)
      await new Promise((done) => setTimeout(done, (payload as { slowMs: number }).slowMs));
    return payload;
  },
});

async function setup(journal: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "dsat-journal-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const [frontend, control] = await freeEndpoints(2);
  const config: OrchestratorConfig = {
    frontend,
    control,
    hierarchy: ["host"],
    types: { echo: { attemptsMax: 1 } },
    limits: { heartbeatMs: 200 },
    journal: { dir, recoveryMs: 300, ...journal },
    log: () => {},
  };
  let orchestrator: Orchestrator | null = null;
  const start = async () => {
    orchestrator = new Orchestrator(config);
    await orchestrator.start();
    return orchestrator;
  };
  cleanups.push(async () => {
    await orchestrator?.stop();
  });
  const satellite: SatelliteRuntime = await runSatellite(echo, {
    endpoint: frontend,
    id: "s1",
    location: [["host", "h1"]],
    heartbeatMs: 200,
    reconnectMaxMs: 500,
    log: () => {},
  });
  cleanups.push(() => satellite.stop());
  return { dir, frontend, control, start, config };
}

async function client(frontend: string): Promise<Client> {
  const c = await connect(frontend, { timeoutMs: 10_000 });
  cleanups.push(() => c.close());
  return c;
}

describe("durable orchestrator (journal)", () => {
  it("answers a resubmitted id from the journal, also after a restart, without running it again", async () => {
    const { frontend, start } = await setup();
    let orchestrator = await start();
    await until(() => orchestrator.status().satellites.length === 1, 5000, "registration");
    const c = await client(frontend);
    expect(await c.request("echo", { n: 1 }, { id: "job-1" })).toEqual({ n: 1 });
    const before = runs;
    expect(await c.request("echo", { n: 999 }, { id: "job-1" })).toEqual({ n: 1 });
    expect(runs).toBe(before);
    await orchestrator.stop();
    orchestrator = await start();
    expect(orchestrator.status().journal).toMatchObject({ finishedKept: 1 });
    expect(await c.request("echo", { n: 2 }, { id: "job-1" })).toEqual({ n: 1 });
    expect(runs).toBe(before);
    // The request may also be resent once the client notices the reconnect: still answered, never run.
    expect(orchestrator.counters.resubmissions.answered).toBeGreaterThanOrEqual(1);
  });

  it("runs unfinished jobs again after a restart, and the waiting client gets each result once", async () => {
    const { frontend, start } = await setup();
    let orchestrator = await start();
    await until(() => orchestrator.status().satellites.length === 1, 5000, "registration");
    const c = await client(frontend);
    const results = Array.from({ length: 20 }, (_, n) =>
      c.request("echo", { n, slowMs: 100 }, { id: `slow-${n}` }),
    );
    await until(() => orchestrator.status().jobs.inFlight === 20, 5000, "jobs accepted");
    await new Promise((done) => setTimeout(done, 50));
    await orchestrator.stop(); // as good as a crash for the jobs in flight: nothing finished them
    orchestrator = await start();
    expect(orchestrator.counters.recovered).toBeGreaterThan(0);
    const settled = await Promise.all(results);
    expect(settled).toEqual(Array.from({ length: 20 }, (_, n) => ({ n, slowMs: 100 })));
    await until(() => orchestrator.status().jobs.inFlight === 0, 5000, "jobs finished");
    const listed = orchestrator.listJobs({ state: "done" });
    expect(listed.jobs.filter((job) => job.id.startsWith("slow-"))).toHaveLength(20);
  });

  it("compacts the journal: the disk shrinks, kept results and retention survive a restart", async () => {
    const { frontend, start } = await setup({
      compactBytes: 64 * 1024,
      retentionMs: 60_000,
      finishedMax: 500,
    });
    let orchestrator = await start();
    await until(() => orchestrator.status().satellites.length === 1, 5000, "registration");
    const c = await client(frontend);
    const pad = "x".repeat(200);
    for (let round = 0; round < 4; round++)
      await Promise.all(
        Array.from({ length: 500 }, (_, n) => c.request("echo", { n, pad }, { id: `c-${round}-${n}` })),
      );
    // Only the last 500 results are kept (finishedMax); the maintenance tick (once a second)
    // compacts. A compaction may already have run during the load, so wait for the disk to shrink
    // below what 2,000 jobs wrote, not merely for a first compaction.
    const journalStatus = () =>
      orchestrator.status().journal as { sizeBytes: number; finishedKept: number; compactions: number };
    await until(
      () => journalStatus().compactions > 0 && journalStatus().sizeBytes < 2000 * 250,
      10_000,
      "a compaction that shrinks the journal",
    );
    expect(journalStatus().finishedKept).toBe(500);
    const before = runs;
    expect(await c.request("echo", { n: -1 }, { id: "c-3-499" })).toEqual({ n: 499, pad });
    await orchestrator.stop();
    orchestrator = await start();
    expect(orchestrator.status().journal).toMatchObject({ finishedKept: 500 });
    expect(await c.request("echo", { n: -1 }, { id: "c-3-7" })).toEqual({ n: 7, pad });
    expect(runs).toBe(before);
    // An id past finishedMax is not remembered: it runs as a new job.
    expect(await c.request("echo", { n: -2 }, { id: "c-0-7" })).toEqual({ n: -2 });
  });

  it("a cancel that arrives while the job's acceptance waits for its commit is not lost", async () => {
    const { frontend, start } = await setup({ commitWindowMs: 400 });
    const orchestrator = await start();
    await until(() => orchestrator.status().satellites.length === 1, 5000, "registration");
    const c = await client(frontend);
    const before = runs;
    const request = c.request("echo", { n: 1 }, { id: "cancel-early" });
    await until(() => orchestrator.status().jobs.inFlight === 1, 2000, "the job to be received");
    c.cancel("cancel-early"); // within the 400 ms commit window: the tracker does not have it yet
    await expect(request).rejects.toBeInstanceOf(CancelledError);
    expect(runs).toBe(before); // it never ran
    expect(orchestrator.listJobs({ id: "cancel-early" }).jobs[0]).toMatchObject({ state: "cancelled" });
  });

  it("dsat retry re-runs a failed job with its payload; jobs lists it", async () => {
    const { frontend, start } = await setup();
    const orchestrator = await start();
    await until(() => orchestrator.status().satellites.length === 1, 5000, "registration");
    const c = await client(frontend);
    await expect(c.request("echo", { fail: true }, { id: "bad-1" })).rejects.toThrow(/asked to fail/);
    expect(orchestrator.listJobs({ id: "bad-1" }).jobs[0]).toMatchObject({
      state: "failed",
      phase: "finished",
    });
    expect(orchestrator.retry("nope")).toMatchObject({ ok: false });
    const events: string[] = [];
    orchestrator.onEvent((topic) => events.push(topic));
    expect(orchestrator.retry("bad-1")).toEqual({ ok: true, id: "bad-1" });
    await until(() => events.includes("result.echo"), 5000, "the retried job's result");
    expect(orchestrator.listJobs({ id: "bad-1" }).jobs[0]).toMatchObject({ state: "failed", attempt: 1 });
  });

  it("titanic.request / reply / close for a plain MDP client", async () => {
    const { frontend, start } = await setup();
    const orchestrator = await start();
    await until(() => orchestrator.status().satellites.length === 1, 5000, "registration");
    const dealer = new Dealer({ linger: 0, receiveTimeout: 5000 });
    cleanups.push(() => dealer.close());
    dealer.connect(frontend);
    const call = async (service: string, ...body: Array<string | Buffer>) => {
      await dealer.send(["", "MDPC01", service, ...body]);
      const frames = await dealer.receive();
      return frames.slice(3).map((frame) => frame.toString());
    };
    const { encode } = await import("../../src/protocol/index.ts");
    const [code, uuid] = await call("titanic.request", "echo", encode({ hi: 1 }));
    expect(code).toBe("200");
    expect(uuid).toMatch(/^[0-9a-f]{32}$/);
    let reply: string[] = [];
    for (let i = 0; i < 50; i++) {
      reply = await call("titanic.reply", uuid);
      if (reply[0] !== "300") break;
      await new Promise((done) => setTimeout(done, 50));
    }
    expect(reply[0]).toBe("200");
    expect(await call("titanic.close", uuid)).toEqual(["200"]);
    expect(await call("titanic.reply", uuid)).toEqual(["400"]);
    expect((await call("titanic.request", "nosuchtype", "x"))[0]).toBe("500");
  });
});
