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
import { THREE_RACKS } from "../helpers/topology.ts";
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
    ...THREE_RACKS,
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
  cluster.startSatellites("flaky", "test/e2e/satellites/flaky.ts");
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

/** The breaker states ("open", "half-open", "closed") published for `satellite`, in order. */
function breakerStates(satellite: string): string[] {
  return events
    .filter((event) => event.topic.startsWith("satellite.breaker-") && event.satellite === satellite)
    .map((event) => event.topic.slice("satellite.breaker-".length));
}

/**
 * Runs `count` "ok" jobs tagged `${prefix}-N` (key the same), all at once; their results, and how
 * many of their attempts started on a satellite (each attempt writes its satellite's id).
 */
async function tagged(prefix: string, count: number) {
  const tags = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const results = await Promise.all(
    tags.map((tag) =>
      client.request<{ satellite: string; attempt: number }>("flaky", { mode: "ok", tag }, { key: tag }),
    ),
  );
  const attemptsOn = (satellite: string) =>
    tags.reduce(
      (sum, tag) => sum + [1, 2, 3].filter((attempt) => started(tag, attempt) === satellite).length,
      0,
    );
  return { results, attemptsOn };
}

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
    // The breaker states published for `broken` since this test began, in order.
    const breakerBefore = breakerStates(broken).length;
    const states = () => breakerStates(broken).slice(breakerBefore);
    writeFileSync(marker, "");
    // Jobs keep succeeding (retried on the healthy satellites) while the breaker opens.
    const failing = await tagged("failing", 40);
    expect(failing.results.filter((result) => result.satellite === broken)).toEqual([]);
    await waitUntil("the breaker to open", () => states().includes("open"));
    // It opened on failures there: at least breakerFailuresThreshold (3) attempts ran on it.
    expect(failing.attemptsOn(broken)).toBeGreaterThanOrEqual(3);

    // While it is open nothing is sent there but one probe per half-open (each failing, as it is
    // still broken, and opening the breaker again). Without the breaker a third of these keys
    // would try it first.
    const whileOpen = await tagged("open", 30);
    expect(whileOpen.results.filter((result) => result.satellite === broken)).toEqual([]);
    const probes = whileOpen.attemptsOn(broken);
    const halfOpens = () => states().filter((state) => state === "half-open").length;
    await waitUntil(
      `a half-open for each of the ${probes} attempts on ${broken}`,
      () => halfOpens() >= probes,
      5000,
    );
    expect(probes).toBeLessThanOrEqual(halfOpens());

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
        return states().includes("closed");
      },
      15_000,
    );
    // open, then half-open and its probe's verdict (open again while broken) until one closes it.
    const sequence = states();
    expect(sequence.at(-1)).toBe("closed");
    expect(sequence.slice(0, -1)).toEqual(
      sequence.slice(0, -1).map((_, i) => (i % 2 === 0 ? "open" : "half-open")),
    );
    expect(sequence.length % 2).toBe(1);
    // Closed, it is used again: its share of fresh keys runs there, at the first attempt.
    const healed = await tagged("healed", 30);
    expect(healed.results.some((result) => result.satellite === broken && result.attempt === 1)).toBe(true);
    expect(healed.results.every((result) => result.attempt === 1)).toBe(true);
  }, 60_000);

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
