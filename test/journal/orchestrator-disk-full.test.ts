// Issue 12 item 12: a durable orchestrator whose journal disk fails under it, for real (a small
// tmpfs filled to ENOSPC; where mount is not allowed, the journal's directory swapped away so new
// segments cannot land). While the disk fails: new jobs are refused with a retryable error, a job
// that finished is not answered (its completed record is not on disk), and `journal.failed` is
// published. Once the disk is back the orchestrator resumes by itself (`journal.resumed`): the
// waiting reply goes out, new jobs are accepted, and after a restart the finished job is answered
// from the journal without running again.
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, DsatError } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { FailingDisks } from "../helpers/failing-disk.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

const disks = new FailingDisks("dsat-orch-disk-full-", "4m");
beforeAll(() => disks.setUp());
afterAll(() => disks.tearDown());

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const runs = new Map<string, number>();
const slowEcho = defineSatellite({
  type: "echo",
  handle: async (payload: unknown) => {
    const { id, slowMs } = payload as { id: string; slowMs?: number };
    runs.set(id, (runs.get(id) ?? 0) + 1);
    if (slowMs !== undefined) await new Promise((done) => setTimeout(done, slowMs));
    return payload;
  },
});

describe("a durable orchestrator on a failing disk", () => {
  it("refuses new jobs retryably, holds a finished job's reply until its record is on disk, and resumes by itself", async () => {
    const dir = path.join(disks.root, "journal");
    const [frontend, events] = await freeEndpoints(2);
    const config: OrchestratorConfig = {
      frontend,
      events,
      hierarchy: ["host"],
      types: { echo: { attemptsMax: 1 } },
      limits: { heartbeatMs: 200 },
      // Small segments: the directory-swap fallback fails at the next roll.
      journal: { dir, recoveryMs: 300, segmentBytesMax: 8192 },
      log: () => {},
    };
    let orchestrator = new Orchestrator(config);
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const satellite = await runSatellite(slowEcho, {
      endpoint: frontend,
      id: "s1",
      location: [["host", "h1"]],
      heartbeatMs: 200,
      log: () => {},
    });
    cleanups.push(() => satellite.stop());
    await until(() => orchestrator.status().satellites.length === 1, 10_000, "registration");
    const client: Client = await connect(frontend, { timeoutMs: 60_000, events });
    cleanups.push(() => client.close());
    const seen: string[] = [];
    const stream = client.events();
    void (async () => {
      for await (const event of stream) seen.push(event.topic);
    })().catch(() => {});
    // Padding: enough bytes that the directory-swap fallback rolls a segment soon.
    const pad = "x".repeat(2000);
    expect(await client.request("echo", { id: "before", pad })).toMatchObject({ id: "before" });

    const disk = disks.disk(dir);
    // Running while the disk fails: it finishes, but its completed record cannot land.
    const held = client.request("echo", { id: "held", slowMs: 400, pad }, { id: "held" });
    let answered = false;
    void held.then(() => {
      answered = true;
    });
    await until(() => runs.get("held") === 1, 10_000, "the held job running");
    disk.fail();
    // New jobs, until the failure is noticed: then refused with OVERLOADED (retryable, docs/protocol.md).
    // A job accepted as the disk fails waits with the rest (its accepted record is kept in memory).
    let refusal: DsatError | null = null;
    const accepted: Array<Promise<unknown>> = [];
    for (let n = 0; refusal === null && n < 200; n++) {
      const request = client.request("echo", { id: `probe-${n}`, pad }, { id: `probe-${n}` });
      const outcome = await Promise.race([
        request.then(
          () => "answered",
          (error: unknown) => error,
        ),
        new Promise((done) => setTimeout(() => done("waiting"), 100)),
      ]);
      if (outcome instanceof DsatError) refusal = outcome;
      else if (outcome instanceof Error) throw outcome;
      else accepted.push(request);
    }
    expect(refusal).not.toBeNull();
    expect((refusal as unknown as DsatError).code).toBe("DSAT_ERR_OVERLOADED");
    expect((refusal as unknown as DsatError).retryable).toBe(true);
    expect(orchestrator.status().journal).toMatchObject({ error: expect.any(String) });
    await until(() => runs.get("held") === 1 && seen.includes("journal.failed"), 10_000, "journal.failed");
    // Finished on the satellite, but not answered: its completed record is not on disk.
    await new Promise((done) => setTimeout(done, 1500));
    expect(answered).toBe(false);

    disk.heal();
    expect(await held).toMatchObject({ id: "held" });
    await Promise.all(accepted);
    await until(() => seen.includes("journal.resumed"), 10_000, "journal.resumed");
    expect(orchestrator.status().journal).not.toHaveProperty("error");
    expect(await client.request("echo", { id: "after", pad })).toMatchObject({ id: "after" });

    // What was answered is on disk: after a restart the held job is answered, not run again.
    await orchestrator.stop();
    orchestrator = new Orchestrator(config);
    await orchestrator.start();
    expect(await client.request("echo", { id: "held" }, { id: "held" })).toMatchObject({ id: "held" });
    expect(runs.get("held")).toBe(1);
  }, 60_000);
});
