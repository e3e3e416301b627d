// Job batches to a dsat satellite close at 64 entries or 256 KiB of payload, whichever comes first,
// as reply batches do: 64 large jobs must not leave as one 64 MiB message (the satellite would hold
// them all at once, and a slow one would queue that much in libzmq).
import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { WorkerCommand } from "../../src/protocol/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { RawWorker } from "../helpers/raw-worker.ts";
import { until } from "../helpers/wait.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const JOB_BYTES = 100 * 1024;
const JOBS = 64;

describe("job batches to a satellite", () => {
  it(`${JOBS} jobs of ${JOB_BYTES / 1024} KiB leave in batches of at most 256 KiB plus one job`, async () => {
    const [frontend] = await freeEndpoints(1);
    const orchestrator = new Orchestrator({
      frontend,
      hierarchy: ["host"],
      types: { big: {} },
      limits: { heartbeatMs: 200 },
      tracker: { ackTimeoutMs: 20_000, stallTimeoutMs: 20_000, runTimeoutMs: 30_000 },
      log: () => {},
    });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const worker = new RawWorker(frontend);
    const batches: number[] = [];
    const reading = (async () => {
      for await (const frames of worker.socket) {
        if (frames[2]?.[0] !== WorkerCommand.requestBatch) continue;
        batches.push(frames[frames.length - 1].length);
      }
    })().catch(() => {});
    const heartbeat = setInterval(() => worker.heartbeat().catch(() => {}), 100);
    cleanups.push(async () => {
      clearInterval(heartbeat);
      worker.close();
      await reading;
    });
    await worker.ready("big", {
      id: "big-1",
      types: ["big"],
      location: [["host", "h1"]],
      capacity: JOBS,
      weight: 1,
      batch: true,
    });
    await until(() => orchestrator.status().satellites.length === 1, 10_000, "registration");
    const client: Client = await connect(frontend, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    const payload = Buffer.alloc(JOB_BYTES, 7);
    for (let n = 0; n < JOBS; n++) client.request("big", payload).catch(() => {});
    await until(
      () => batches.reduce((sum, bytes) => sum + bytes, 0) >= JOBS * JOB_BYTES,
      20_000,
      "every job sent",
    );
    expect(Math.max(...batches)).toBeLessThanOrEqual(256 * 1024 + JOB_BYTES + 1024);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil((JOBS * JOB_BYTES) / (256 * 1024 + JOB_BYTES)));
  }, 60_000);
});
