// Issue 12, item 8: a job's result goes only to the client that submitted it (the same session,
// which a client derives from its CURVE key or is given). Naming someone else's job id gets
// DSAT_ERR_NOT_FOUND, live or finished; their cancel is ignored.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, NotFoundError } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

/** Jobs whose payload is a key here wait for it to resolve instead of 400 ms. */
const gates = new Map<unknown, Promise<void>>();

const slow = defineSatellite({
  type: "slow",
  concurrency: 8,
  handle: async (payload: unknown) => {
    await (gates.get(payload) ?? new Promise((resolve) => setTimeout(resolve, 400)));
    return { echoed: payload };
  },
});

describe("results belong to their client", () => {
  const dir = mkdtempSync(join(tmpdir(), "dsat-ownership-"));
  let orchestrator: Orchestrator;
  let frontend: string;
  let runtime: SatelliteRuntime;
  const clients: Client[] = [];
  const client = async (session?: string) => {
    const made = await connect(frontend, {
      timeoutMs: 10_000,
      ...(session !== undefined ? { session } : {}),
    });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    [frontend] = await freeEndpoints(1);
    orchestrator = new Orchestrator({
      frontend,
      hierarchy: ["host"],
      types: { slow: {} },
      limits: { heartbeatMs: 200 },
      journal: { dir: join(dir, "journal"), fsync: false, recoveryMs: 0 },
      log: () => {},
    });
    await orchestrator.start();
    runtime = await runSatellite(slow, {
      endpoint: frontend,
      id: "slow@h1",
      location: [["host", "h1"]],
      heartbeatMs: 200,
      log: () => {},
    });
    await until(() => orchestrator.registry.size === 1, 5000, "the satellite to register");
  });

  afterAll(async () => {
    for (const made of clients) await made.close();
    await runtime?.stop();
    await orchestrator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("another client naming a live job's id gets NOT_FOUND; the owner gets the result", async () => {
    const alice = await client();
    const mallory = await client();
    const mine = alice.request("slow", "alice's secret", { id: "job-live-1" });
    await until(() => orchestrator.status().jobs.inFlight === 1, 5000, "the job to be live");
    await expect(mallory.request("slow", "anything", { id: "job-live-1" })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(mine).resolves.toEqual({ echoed: "alice's secret" });
    expect(orchestrator.status().counters.security.foreignJobRefused).toBeGreaterThanOrEqual(1);
  });

  it("another client naming a finished job's id gets NOT_FOUND; the same session gets the result", async () => {
    const session = "alice-session-0123456789";
    const alice = await client(session);
    await expect(alice.request("slow", "kept", { id: "job-done-1" })).resolves.toEqual({ echoed: "kept" });
    const mallory = await client();
    await expect(mallory.request("slow", "x", { id: "job-done-1" })).rejects.toBeInstanceOf(NotFoundError);
    // Alice again, after a restart of hers: same session, the stored result, no second run.
    const aliceAgain = await client(session);
    await expect(aliceAgain.request("slow", "ignored", { id: "job-done-1" })).resolves.toEqual({
      echoed: "kept",
    });
    expect(orchestrator.status().counters.resubmissions.answered).toBeGreaterThanOrEqual(1);
  });

  it("another client cannot cancel a job", async () => {
    let release = () => {};
    gates.set("keep going", new Promise<void>((resolve) => (release = resolve)));
    const alice = await client();
    const mallory = await client();
    const mine = alice.request("slow", "keep going", { id: "job-cancel-1" });
    await until(() => orchestrator.status().jobs.inFlight === 1, 5000, "the job to be live");
    mallory.cancel("job-cancel-1");
    // A later request on mallory's connection is answered: the cancel before it has been handled,
    // while the job was still running (held by its gate).
    expect(await mallory.request("mmi.service", "slow")).toBe("200");
    expect(orchestrator.status().jobs.inFlight).toBe(1);
    release();
    await expect(mine).resolves.toEqual({ echoed: "keep going" });
  });
});
