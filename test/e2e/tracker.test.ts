// The tracker's guarantees with real processes: a stalled handler is retried elsewhere, a long job
// that reports progress is left alone, a non-retryable error fails at once, a satellite that keeps
// failing has its breaker opened and, once healed, closed again, and client cancels reach the
// handler's AbortSignal.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelledError,
  type Client,
  connect,
  JobFailedError,
  type OrchestratorEvent,
} from "../../src/client/index.ts";
import { Cluster, root, waitUntil } from "./harness.ts";

const cluster = new Cluster();
let client: Client;
const events: OrchestratorEvent[] = [];
let eventsDone: Promise<void>;

beforeAll(async () => {
  await cluster.write({
    orchestrator: {
      heartbeatMs: 200,
      tracker: {
        ackTimeoutMs: 2000,
        stallTimeoutMs: 800,
        backoffBaseMs: 20,
        backoffMaxMs: 200,
        breakerFailuresThreshold: 3,
        breakerCooldownMs: 600,
      },
    },
    hierarchy: ["rack", "host"],
    hosts: { h1: { rack: "r1" }, h2: { rack: "r2" }, h3: { rack: "r3" } },
    types: {
      flaky: {
        module: join(root, "test/e2e/satellites/flaky.ts"),
        replicas: 3,
        failureDomain: "rack",
        attemptsMax: 3,
        timeoutMs: 20_000,
      },
    },
  });
  cluster.start("orchestrator", ["orchestrator"]);
  await cluster.waitForOrchestrator();
  for (const host of ["h1", "h2", "h3"])
    cluster.start(`flaky@${host}`, ["satellite", "test/e2e/satellites/flaky.ts", "--host", host]);
  await cluster.waitForSatellites(3);
  client = await connect(cluster.endpoints.frontend, { events: cluster.endpoints.events });
  eventsDone = (async () => {
    for await (const event of client.events("")) events.push(event);
  })();
  await new Promise((resolve) => setTimeout(resolve, 300)); // SUB join
}, 150_000);

afterAll(async () => {
  await client?.close();
  await eventsDone?.catch(() => {});
  cluster.stop();
});

function started(tag: string, attempt: number): string | undefined {
  const file = join(cluster.dir, `started-${tag}-${attempt}`);
  // The satellite's write is not atomic: an empty file is one still being written.
  return existsSync(file) ? readFileSync(file, "utf8") || undefined : undefined;
}

describe("tracker, end to end (real processes)", () => {
  it("a handler that goes silent is stalled and the job finishes on another satellite", async () => {
    const result = await client.request<{ satellite: string; attempt: number }>("flaky", {
      mode: "stall-once",
      tag: "stall",
    });
    expect(result.attempt).toBe(2);
    expect(result.satellite).not.toBe(started("stall", 1));
    const stats = (await cluster.status()).stats.flaky;
    expect(stats.stalls).toBeGreaterThanOrEqual(1);
    expect(events.some((event) => event.topic === "job.stalled.flaky")).toBe(true);
  }, 20_000);

  it("a long job that reports progress is not stalled", async () => {
    const result = await client.request<{ attempt: number }>("flaky", {
      mode: "progress",
      ms: 2000,
      tag: "long",
    });
    expect(result.attempt).toBe(1);
    expect(started("long", 2)).toBeUndefined();
  }, 20_000);

  it("a non-retryable error fails at once, without a second attempt", async () => {
    const error = await client.request("flaky", { mode: "fatal", tag: "fatal" }).catch((caught) => caught);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).message).toContain("bad input");
    expect(started("fatal", 1)).toBeDefined();
    expect(started("fatal", 2)).toBeUndefined();
  });

  it("a satellite that keeps failing gets its breaker opened, and closed once it heals", async () => {
    const broken = "flaky@h1";
    const marker = join(cluster.dir, `broken-${broken}`);
    writeFileSync(marker, "");
    // Jobs keep succeeding (retried on the healthy satellites) while the breaker opens.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.request("flaky", { mode: "ok" }, { key: `breaker-${i}` })),
    );
    await waitUntil("the breaker to open", () =>
      events.some((event) => event.topic === "satellite.breaker-open" && event.satellite === broken),
    );
    rmSync(marker);
    // After the cool-down a probe gets through and closes it.
    await waitUntil(
      "the breaker to close",
      async () => {
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            client.request("flaky", { mode: "ok" }, { key: `heal-${Date.now()}-${i}` }),
          ),
        );
        return events.some(
          (event) => event.topic === "satellite.breaker-closed" && event.satellite === broken,
        );
      },
      15_000,
    );
  }, 30_000);

  it("client cancel reaches the handler's AbortSignal and the request ends CANCELLED", async () => {
    const controller = new AbortController();
    const request = client.request(
      "flaky",
      { mode: "wait-abort", tag: "cancel" },
      { signal: controller.signal },
    );
    await waitUntil("the job to start", () => started("cancel", 1) !== undefined);
    controller.abort();
    const error = await request.catch((caught) => caught);
    expect(error).toBeInstanceOf(CancelledError);
    await waitUntil(
      "the handler's signal to fire",
      () =>
        existsSync(join(cluster.dir, "aborted-cancel")) &&
        readFileSync(join(cluster.dir, "aborted-cancel"), "utf8") !== "",
    );
    expect(readFileSync(join(cluster.dir, "aborted-cancel"), "utf8")).toBe(started("cancel", 1));
  }, 20_000);

  it("status reports per-type stats with latency percentiles", async () => {
    const stats = (await cluster.status()).stats.flaky;
    expect(stats.received).toBeGreaterThan(0);
    expect(stats.done).toBeGreaterThan(0);
    expect(stats.failed).toBeGreaterThanOrEqual(1);
    expect(stats.cancelled).toBeGreaterThanOrEqual(1);
    expect(stats.latencyMsP50).toBeGreaterThan(0);
    expect(stats.latencyMsP99).toBeGreaterThanOrEqual(stats.latencyMsP50);
  });
});
