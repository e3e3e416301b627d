// Placement near the data for jobs that do not come as a plain request (docs/locality.md), real
// sockets in process, with a journal on disk: a published (intake) job and a dsat client's Titanic
// job each run on the host holding their input's replica, and a job that failed there runs there
// again when `dsat retry` starts it, before and after an orchestrator restart (its completed
// record, read back from disk, keeps the inputs). The handler records every run, so no event
// subscription has to join first.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, JobFailedError } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import {
  defineSatellite,
  NonRetryableError,
  runSatellite,
  type SatelliteRuntime,
} from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";

const HOSTS = ["r1h1", "r1h2", "r2h1", "r2h2"];
/** r1h1's storage name: replicas named by it are local there through the map. */
const HOSTNAMES = { "store-a": "r1h1" };

interface Ran {
  satellite: string;
  local: string[][];
  inputs: string[][];
}

/** Every run of every job, by job id, in order (the satellites run in this process). */
const runs = new Map<string, Ran[]>();

const scan = defineSatellite({
  type: "scan",
  concurrency: 8,
  handle: (payload: unknown, context): Ran => {
    const ran = {
      satellite: context.satelliteId,
      local: context.localReplicas ?? [],
      inputs: context.inputs ?? [],
    };
    const before = runs.get(context.id) ?? [];
    runs.set(context.id, [...before, ran]);
    if ((payload as { failOnce?: boolean } | null)?.failOnce === true && before.length === 0)
      throw new NonRetryableError(`failed once on ${context.satelliteId}`);
    return ran;
  },
});

let dir: string;
let config: OrchestratorConfig;
let orchestrator: Orchestrator;
const satellites: SatelliteRuntime[] = [];
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dsat-locality-origins-"));
  const [frontend, intake] = await freeEndpoints(2);
  config = {
    frontend,
    intake,
    hierarchy: ["rack", "host"],
    types: { scan: { replicas: 2, failureDomain: "rack" } },
    limits: { heartbeatMs: 500 },
    locality: { hostnames: HOSTNAMES },
    journal: { dir: join(dir, "journal"), recoveryMs: 300 },
    log: () => {},
  };
  orchestrator = new Orchestrator(config);
  await orchestrator.start();
  for (const host of HOSTS)
    satellites.push(
      await runSatellite(scan, {
        endpoint: frontend,
        id: `scan@${host}`,
        location: [
          ["rack", host.slice(0, 2)],
          ["host", host],
        ],
        heartbeatMs: 500,
        reconnectMaxMs: 300,
        hostnames: HOSTNAMES,
        log: () => {},
      }),
    );
  await until(() => orchestrator.status().satellites.length === HOSTS.length, 10_000, "satellites register");
  client = await connect(frontend, { publish: intake, timeoutMs: 10_000 });
}, 30_000);

afterAll(async () => {
  await client?.close();
  for (const runtime of satellites) await runtime.stop();
  await orchestrator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An input with one replica, on `host` (by its storage name where it has one). */
function input(host: string, name: string): string[] {
  const storage = Object.entries(HOSTNAMES).find(([, each]) => each === host)?.[0] ?? host;
  return [`disco://${storage}/data/${name}`];
}

function expectRanNear(ran: Ran | undefined, host: string, inputs: string[][]): void {
  expect(ran?.satellite).toBe(`scan@${host}`);
  expect(ran?.inputs).toEqual(inputs);
  expect(ran?.local).toEqual(inputs); // the handler sees its replica local
}

describe("placement near the data, published, Titanic and retried jobs", () => {
  it("runs published jobs (intake, with their inputs) on their replica's host", async () => {
    // PUB/SUB joins are slow: publish a probe (no inputs) until one runs, then the jobs.
    const probeRan = () => [...runs.keys()].some((id) => id.startsWith("probe-"));
    for (let i = 0; i < 50 && !probeRan(); i++) {
      client.publish("scan", null, { id: `probe-${i}` });
      await sleep(100);
    }
    expect(probeRan()).toBe(true);
    const jobs = HOSTS.flatMap((host, h) =>
      [0, 1, 2].map((n) => ({ id: `pub-${h}-${n}`, host, inputs: [input(host, `pub-${h}-${n}`)] })),
    );
    for (const job of jobs) client.publish("scan", job.id, { id: job.id, key: job.id, inputs: job.inputs });
    await until(() => jobs.every((job) => runs.has(job.id)), 10_000, "the published jobs run");
    for (const job of jobs) expectRanNear(runs.get(job.id)?.[0], job.host, job.inputs);
  }, 30_000);

  it("runs a dsat client's Titanic jobs (inputs in the inner request) on their replica's host", async () => {
    for (const host of HOSTS) {
      const inputs = [input(host, `tsp-${host}`)];
      const uuid = await client.titanic.request("scan", host, { key: `tsp-${host}`, inputs });
      expect(uuid).toMatch(/^[0-9a-f]{32}$/);
      let reply = await client.titanic.reply<Ran>(uuid);
      const end = Date.now() + 10_000;
      while (reply.status === "pending" && Date.now() < end) {
        await sleep(20);
        reply = await client.titanic.reply<Ran>(uuid);
      }
      expect(reply.status).toBe("ok");
      expectRanNear(reply.status === "ok" ? reply.result : undefined, host, inputs);
      expectRanNear(runs.get(uuid)?.[0], host, inputs);
      await client.titanic.close(uuid);
      await expect(client.titanic.reply(uuid)).rejects.toMatchObject({ code: "DSAT_ERR_NOT_FOUND" });
    }
    // Refusals come back as RejectedError with the orchestrator's reason.
    await expect(client.titanic.request("no-such-type", 1)).rejects.toThrow(/unknown service "no-such-type"/);
  }, 30_000);

  it("runs a failed job near its data again on dsat retry, also after a restart", async () => {
    const failed = [
      { id: "f-now", host: "r2h2", inputs: [input("r2h2", "f-now")] },
      { id: "f-restart", host: "r1h1", inputs: [input("r1h1", "f-restart")] },
    ];
    for (const job of failed) {
      await expect(
        client.request("scan", { failOnce: true }, { id: job.id, key: job.id, inputs: job.inputs }),
      ).rejects.toBeInstanceOf(JobFailedError);
      expectRanNear(runs.get(job.id)?.[0], job.host, job.inputs);
    }
    // From the completed record in memory...
    expect(orchestrator.retry("f-now")).toEqual({ ok: true, id: "f-now" });
    await until(() => runs.get("f-now")?.length === 2, 10_000, "the retry of f-now runs");
    expectRanNear(runs.get("f-now")?.[1], "r2h2", failed[0].inputs);
    // ... and from the one read back from disk by a new orchestrator.
    await orchestrator.stop();
    orchestrator = new Orchestrator(config);
    await orchestrator.start();
    await until(
      () => orchestrator.status().satellites.length === HOSTS.length,
      10_000,
      "satellites register again",
    );
    expect(orchestrator.retry("f-restart")).toEqual({ ok: true, id: "f-restart" });
    await until(() => runs.get("f-restart")?.length === 2, 10_000, "the retry of f-restart runs");
    expectRanNear(runs.get("f-restart")?.[1], "r1h1", failed[1].inputs);
  }, 40_000);
});
