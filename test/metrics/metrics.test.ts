// /metrics of a real orchestrator with real satellites (in process, over loopback TCP), after a
// known load: the figures must agree with status() and with the load itself. Three racks:
//   echo    x3 (echo@h1..h3, replicas 3 over racks)   60 requests + 3 published jobs, all done
//   flaky   x2 (flaky@h1, flaky@h3)                     4 jobs: attempt 1 fails, the retry elsewhere succeeds
//   doomed  x1 (doomed@h2)                              5 jobs fail (one attempt each): its breaker opens (threshold 5)
//   slow    x1 (slow@h3)                                one job held open while the test scrapes
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import { type MetricsServer, startMetrics } from "../../src/metrics/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import {
  defineSatellite,
  runSatellite,
  type SatelliteDefinition,
  type SatelliteRuntime,
} from "../../src/satellite/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { rackAndHost } from "../helpers/topology.ts";
import { until } from "../helpers/wait.ts";
import { type Exposition, parseExposition, samplesOf, sampleValue, sumOf } from "./exposition.ts";

const cleanups = new Cleanups();
let orchestrator: Orchestrator;
let metrics: MetricsServer;
let client: Client;
const satellites = new Map<string, SatelliteRuntime>();
/** Resolves the slow job that is running, when the test says. */
let releaseSlow: () => void = () => {};

const ECHO_REQUESTS = 60;
const ECHO_PUBLISHED = 3;
const FLAKY_JOBS = 4;
const DOOMED_JOBS = 5;

async function satellite(definition: SatelliteDefinition, id: string, rack: number): Promise<void> {
  const runtime = await runSatellite(definition, {
    endpoint: orchestrator.config.frontend[0],
    id,
    location: rackAndHost(rack),
    heartbeatMs: 1000,
    log: () => {},
  });
  satellites.set(id, runtime);
  cleanups.push(() => runtime.stop());
}

async function scrape(): Promise<Exposition> {
  const response = await fetch(metrics.url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

beforeAll(async () => {
  const [frontend, intake] = await freeEndpoints(2);
  orchestrator = new Orchestrator({
    frontend,
    intake,
    hierarchy: ["rack", "host"],
    types: {
      echo: { replicas: 3, failureDomain: "rack" },
      flaky: { replicas: 2, failureDomain: "rack" },
      // One attempt: each failure is the job's end, and a failure counted against doomed@h2.
      doomed: { replicas: 1, attemptsMax: 1 },
      slow: { replicas: 1 },
    },
    // Slow heartbeats: on a busy machine no satellite is lost (and registered again) mid-test.
    limits: { heartbeatMs: 1000 },
    tracker: { backoffBaseMs: 10, jitter: 0, breakerFailuresThreshold: 5, breakerCooldownMs: 120_000 },
    log: () => {},
  });
  await orchestrator.start();
  cleanups.push(() => orchestrator.stop());
  metrics = await startMetrics(orchestrator, { address: "127.0.0.1:0" });
  const echo = defineSatellite({ type: "echo", concurrency: 4, handle: (payload) => payload });
  for (const n of [1, 2, 3]) await satellite(echo, `echo@h${n}`, n);
  const flaky = defineSatellite({
    type: "flaky",
    handle: (payload, context) => {
      if (context.attempt === 1) throw new Error("first attempts fail");
      return payload;
    },
  });
  await satellite(flaky, "flaky@h1", 1);
  await satellite(flaky, "flaky@h3", 3);
  const doomed = defineSatellite({
    type: "doomed",
    handle: () => {
      throw new Error("never works");
    },
  });
  await satellite(doomed, "doomed@h2", 2);
  const slow = defineSatellite({
    type: "slow",
    handle: () => new Promise<string>((resolve) => (releaseSlow = () => resolve("released"))),
  });
  await satellite(slow, "slow@h3", 3);
  await until(() => orchestrator.status().satellites.length === 7, 10_000, "7 satellites to register");
  client = await connect(frontend, { publish: intake, timeoutMs: 20_000 });
  cleanups.push(() => client.close());

  await Promise.all(Array.from({ length: ECHO_REQUESTS }, (_, n) => client.request("echo", { n })));
  // Sequential, so that the failures on one satellite are consecutive (the breaker counts them).
  for (let n = 0; n < FLAKY_JOBS; n++) await client.request("flaky", { n });
  for (let n = 0; n < DOOMED_JOBS; n++) await expect(client.request("doomed", { n })).rejects.toThrow();
  // Published jobs answer on the events socket (result.echo), which the metrics count.
  await new Promise((resolve) => setTimeout(resolve, 200)); // PUB/SUB join: nothing to await
  for (let n = 0; n < ECHO_PUBLISHED; n++) client.publish("echo", { published: n });
  await until(
    () => (orchestrator.status().stats.echo?.done ?? 0) === ECHO_REQUESTS + ECHO_PUBLISHED,
    10_000,
    "the published echo jobs to be done",
  );
}, 60_000);

afterAll(() => cleanups.run());

describe("/metrics after a known load", () => {
  it("counts jobs per type as the load and status() do", async () => {
    const exposition = await scrape();
    const status = orchestrator.status();
    for (const [type, stats] of Object.entries(status.stats)) {
      expect(sampleValue(exposition, "dsat_jobs_received_total", { type })).toBe(stats.received);
      for (const outcome of ["done", "failed", "cancelled", "expired"] as const)
        expect(sampleValue(exposition, "dsat_jobs_finished_total", { type, outcome })).toBe(stats[outcome]);
      expect(sampleValue(exposition, "dsat_job_attempt_errors_total", { type })).toBe(stats.errors);
      expect(
        sampleValue(exposition, "dsat_job_latency_quantile_seconds", { type, quantile: "0.99" }),
      ).toBeCloseTo(stats.latencyMsP99 / 1000, 9);
      // The histogram: cumulative buckets ending in +Inf = count, and the sum, as the tracker has them.
      const buckets = samplesOf(exposition, "dsat_job_latency_seconds_bucket", { type });
      expect(buckets.map((sample) => sample.value)).toEqual([...stats.latencyBuckets, stats.latencyCount]);
      expect(buckets.at(-1)?.labels.le).toBe("+Inf");
      expect(sampleValue(exposition, "dsat_job_latency_seconds_count", { type })).toBe(stats.latencyCount);
      expect(sampleValue(exposition, "dsat_job_latency_seconds_sum", { type })).toBeCloseTo(
        stats.latencySumMs / 1000,
        6,
      );
      expect(stats.latencyCount).toBe(stats.done + stats.failed + stats.cancelled + stats.expired);
    }
    expect(exposition.types.get("dsat_job_latency_seconds")).toBe("histogram");
    // Echo jobs on loopback end well within 5 s: the 5 s bucket holds every one of them.
    const echo = status.stats.echo;
    expect(sampleValue(exposition, "dsat_job_latency_seconds_bucket", { type: "echo", le: "5" })).toBe(
      echo.latencyCount,
    );
    // And the load itself: what was sent, and how it ended.
    expect(sampleValue(exposition, "dsat_jobs_finished_total", { type: "echo", outcome: "done" })).toBe(
      ECHO_REQUESTS + ECHO_PUBLISHED,
    );
    expect(sampleValue(exposition, "dsat_jobs_finished_total", { type: "flaky", outcome: "done" })).toBe(
      FLAKY_JOBS,
    );
    expect(sampleValue(exposition, "dsat_jobs_finished_total", { type: "doomed", outcome: "failed" })).toBe(
      DOOMED_JOBS,
    );
    // Event-driven: one retry per flaky job, each sent away from the satellite that failed it.
    expect(sampleValue(exposition, "dsat_job_events_total", { event: "retry", type: "flaky" })).toBe(
      FLAKY_JOBS,
    );
    expect(sampleValue(exposition, "dsat_job_events_total", { event: "rerouted", type: "flaky" })).toBe(
      status.stats.flaky.reroutes,
    );
    expect(sampleValue(exposition, "dsat_results_total", { type: "echo", status: "ok" })).toBe(
      ECHO_PUBLISHED,
    );
    expect(samplesOf(exposition, "dsat_job_events_total", { event: "retry", type: "echo" })).toEqual([]);
  });

  it("shows nothing in flight once the load is done, per satellite as in status()", async () => {
    const exposition = await scrape();
    const status = orchestrator.status();
    expect(status.jobs.inFlight).toBe(0);
    expect(sampleValue(exposition, "dsat_jobs_in_flight")).toBe(0);
    expect(sampleValue(exposition, "dsat_jobs_queued")).toBe(0);
    expect(sampleValue(exposition, "dsat_waiting_room_jobs", { storage: "memory" })).toBe(0);
    for (const satellite of status.satellites) {
      const labels = { satellite: String(satellite.id) };
      expect(sampleValue(exposition, "dsat_satellite_jobs_in_flight", labels)).toBe(0);
      expect(sampleValue(exposition, "dsat_satellite_jobs_done_total", labels)).toBe(satellite.done);
      expect(sampleValue(exposition, "dsat_satellite_jobs_failed_total", labels)).toBe(satellite.failed);
      expect(sampleValue(exposition, "dsat_satellite_capacity", labels)).toBe(satellite.capacity);
      expect(sampleValue(exposition, "dsat_satellite_info", labels)).toBe(1);
      expect(samplesOf(exposition, "dsat_satellite_info", labels)[0].labels.location).toBe(
        satellite.location,
      );
    }
    // Every echo the satellites answered, whichever of the three ran it.
    expect(sumOf(exposition, "dsat_satellite_jobs_done_total")).toBe(
      ECHO_REQUESTS + ECHO_PUBLISHED + FLAKY_JOBS,
    );
  });

  it("counts satellites per state and failure domain: doomed@h2's breaker is open", async () => {
    const exposition = await scrape();
    expect(orchestrator.status().tracker.breakersOpen).toEqual(["doomed@h2"]);
    expect(sampleValue(exposition, "dsat_satellites", { state: "ready" })).toBe(6);
    expect(sampleValue(exposition, "dsat_satellites", { state: "breaker-open" })).toBe(1);
    expect(sampleValue(exposition, "dsat_satellites", { state: "draining" })).toBe(0);
    expect(sampleValue(exposition, "dsat_breakers_open")).toBe(1);
    expect(
      sampleValue(exposition, "dsat_satellite_state", { satellite: "doomed@h2", state: "breaker-open" }),
    ).toBe(1);
    expect(samplesOf(exposition, "dsat_satellite_state", { satellite: "doomed@h2" })).toHaveLength(1);
    const rack = (domain: string, state: string) =>
      sumOf(exposition, "dsat_satellites_by_domain", { level: "rack", domain, state });
    expect([rack("rack=r1", "ready"), rack("rack=r2", "ready"), rack("rack=r3", "ready")]).toEqual([2, 1, 3]);
    expect(rack("rack=r2", "breaker-open")).toBe(1);
    expect(sumOf(exposition, "dsat_satellites_by_domain", { level: "host", domain: "rack=r3,host=h3" })).toBe(
      3,
    );
    expect(sampleValue(exposition, "dsat_events_total", { topic: "satellite.registered" })).toBe(7);
    expect(sampleValue(exposition, "dsat_events_total", { topic: "satellite.breaker-open" })).toBe(1);
    // Every topic published was in the catalogue (none counted as "other").
    expect(samplesOf(exposition, "dsat_events_total", { topic: "other" })).toEqual([]);
  });

  it("types every family, names counters *_total, and has the process metrics", async () => {
    const exposition = await scrape();
    const families = new Set(
      exposition.samples.map((sample) => sample.name.replace(/_(bucket|sum|count)$/, "")),
    );
    for (const family of families) expect(exposition.types.has(family), family).toBe(true);
    for (const [name, type] of exposition.types)
      if (name.startsWith("dsat_")) expect(type === "counter", name).toBe(name.endsWith("_total"));
    for (const name of [
      "process_resident_memory_bytes",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_seconds",
    ])
      expect(samplesOf(exposition, name).length, name).toBeGreaterThan(0);
    // Bounded labels only: types, satellites, domains and fixed sets; never a job id.
    const bounded = new Set([
      ...["type", "outcome", "quantile", "event", "status", "topic", "state", "storage", "name", "operation"],
      ...["level", "domain", "satellite", "location", "protocol", "types", "metric", "le"],
    ]);
    for (const sample of exposition.samples)
      if (sample.name.startsWith("dsat_"))
        for (const label of Object.keys(sample.labels)) expect(bounded.has(label), label).toBe(true);
  });

  it("follows a job in flight and a draining satellite, then in flight is back to 0", async () => {
    const running = client.request("slow", "hold");
    await until(() => orchestrator.status().jobs.inFlight === 1, 5000, "the slow job to run");
    let exposition = await scrape();
    expect(sampleValue(exposition, "dsat_jobs_in_flight")).toBe(1);
    expect(sampleValue(exposition, "dsat_jobs_in_flight_by_type", { type: "slow" })).toBe(1);
    expect(sampleValue(exposition, "dsat_satellite_jobs_in_flight", { satellite: "slow@h3" })).toBe(1);

    const draining = satellites.get("slow@h3")?.drain(10_000);
    const isDraining = () =>
      orchestrator.status().satellites.some((s) => s.id === "slow@h3" && s.draining === true);
    await until(isDraining, 5000, "slow@h3 to drain");
    exposition = await scrape();
    expect(sampleValue(exposition, "dsat_satellites", { state: "draining" })).toBe(1);
    expect(sampleValue(exposition, "dsat_satellite_state", { satellite: "slow@h3", state: "draining" })).toBe(
      1,
    );
    expect(sumOf(exposition, "dsat_satellites_by_domain", { domain: "rack=r3", state: "draining" })).toBe(1);

    releaseSlow();
    expect(await running).toBe("released");
    await draining;
    await until(() => orchestrator.status().satellites.length === 6, 5000, "slow@h3 to leave");
    exposition = await scrape();
    expect(sampleValue(exposition, "dsat_jobs_in_flight")).toBe(0);
    expect(sampleValue(exposition, "dsat_jobs_in_flight_by_type", { type: "slow" })).toBe(0);
    expect(sumOf(exposition, "dsat_satellite_jobs_in_flight")).toBe(0);
    // A satellite that left has no series any more.
    expect(samplesOf(exposition, "dsat_satellite_info", { satellite: "slow@h3" })).toEqual([]);
    expect(sampleValue(exposition, "dsat_satellites", { state: "draining" })).toBe(0);
  });

  it("answers 404 off /metrics and 405 to other methods", async () => {
    const base = metrics.url.slice(0, -"/metrics".length);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(metrics.url, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const head = await fetch(metrics.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });
});
