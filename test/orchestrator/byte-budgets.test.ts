// Issue 12, item 6: memory budgets count bytes, per client and in all. A client that stops reading
// its replies is refused new jobs once replies pile up for it, and what is held for it is bounded;
// a client sending large jobs faster than they run is refused past its byte budget.
import { afterEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { connect, DsatError } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { clientBatchFrames, encode, type RequestEntry } from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(handle: (payload: unknown) => unknown, concurrency: number) {
  const [frontend] = await freeEndpoints(1);
  const orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["host"],
    types: { work: { timeoutMs: 60_000 } },
    limits: { heartbeatMs: 200 },
    log: () => {},
  });
  await orchestrator.start();
  cleanups.push(() => orchestrator.stop());
  const runtime = await runSatellite(defineSatellite({ type: "work", concurrency, handle }), {
    endpoint: frontend,
    id: "work@h1",
    location: [["host", "h1"]],
    heartbeatMs: 200,
    log: () => {},
  });
  cleanups.push(() => runtime.stop());
  await until(() => orchestrator.registry.size === 1, 5000, "the satellite to register");
  return orchestrator;
}

const MiB = 1024 * 1024;

describe("byte budgets", () => {
  it("a client that never reads its replies is refused new jobs, and what waits for it stays bounded", async () => {
    const result = "r".repeat(100 * 1024); // 100 KB per result
    const orchestrator = await start(() => result, 64);
    const rssBefore = process.memoryUsage().rss;
    // A raw client that sends jobs and never reads (its socket holds one message at most).
    const reader = new Dealer({ linger: 0, receiveHighWaterMark: 1, sendHighWaterMark: 0 });
    reader.connect(orchestrator.config.frontend[0]);
    cleanups.push(() => reader.close());
    const session = Buffer.from("slow-reader-session-0001");
    for (let batch = 0; batch < 100; batch++) {
      const entries: RequestEntry[] = [];
      const payloads: Buffer[] = [];
      for (let n = 0; n < 50; n++) {
        const payload = encode(n);
        entries.push(["work", batch * 50 + n, payload.length, 60_000, null, null]);
        payloads.push(payload);
      }
      await reader.send(clientBatchFrames(entries, payloads, session));
      await sleep(50); // a steady stream, as a real client's
      if (orchestrator.status().counters.security.slowReaderRefused > 0) break;
    }
    // 5,000 jobs of 100 KB results: 500 MB if all were held for it.
    await until(
      () => orchestrator.status().counters.security.slowReaderRefused > 0,
      30_000,
      "the slow reader to be refused",
    );
    await sleep(500);
    const status = orchestrator.status();
    expect(status.held.unreadReplyBytes).toBeLessThanOrEqual(16 * MiB);
    const grownMiB = (process.memoryUsage().rss - rssBefore) / MiB;
    console.log(
      `slow reader: refused ${status.counters.security.slowReaderRefused} jobs; ${Math.round(status.held.unreadReplyBytes / MiB)} MiB of replies held; RSS +${Math.round(grownMiB)} MiB`,
    );
    expect(grownMiB).toBeLessThan(200);
  }, 60_000);

  it("a client's large jobs are refused past limits.clientBytesMax; others are still served", async () => {
    const orchestrator = await start(async () => {
      await sleep(2000);
      return "done";
    }, 1);
    const greedy = await connect(orchestrator.config.frontend[0], { timeoutMs: 60_000 });
    cleanups.push(() => greedy.close());
    const big = "x".repeat(1000 * 1024); // under messageBytesMax (1 MiB) with its encoding
    const outcomes = Array.from({ length: 200 }, () =>
      greedy.request("work", big).then(
        () => "ok",
        (error: unknown) => (error instanceof DsatError ? error.code : String(error)),
      ),
    );
    await until(
      () => orchestrator.status().counters.security.clientBytesRefused >= 100,
      30_000,
      "the greedy client to be refused",
    );
    const status = orchestrator.status();
    expect(status.held.bytes).toBeLessThanOrEqual(64 * MiB + MiB);
    // Another client still gets in.
    const modest = await connect(orchestrator.config.frontend[0], { timeoutMs: 60_000 });
    cleanups.push(() => modest.close());
    const modestJob = modest.request("work", "small");
    expect(await Promise.race([modestJob.then(() => "served"), sleep(100).then(() => "pending")])).toBe(
      "pending",
    );
    const codes = await Promise.all(outcomes.slice(70));
    expect(codes.filter((code) => code === "DSAT_ERR_OVERLOADED").length).toBeGreaterThanOrEqual(100);
    await orchestrator.stop();
  }, 120_000);
});
