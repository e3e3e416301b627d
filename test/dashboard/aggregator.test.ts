// The dashboard's aggregation, pure: events and status replies in, deltas out, on an injected clock.
import { describe, expect, it } from "vitest";
import {
  Aggregator,
  buildTree,
  JobRing,
  NO_LOCATION,
  type StatusReply,
  splitJobTopic,
} from "../../src/dashboard/index.ts";
import { LATENCY_BUCKETS_MS, LatencyHistogram } from "../../src/tracker/index.ts";

function setup(options: { lostKeepMs?: number; historyPoints?: number; ring?: JobRing } = {}) {
  let now = 1_000_000;
  const ring = options.ring ?? new JobRing({ jobsMax: 100 });
  const aggregator = new Aggregator({ now: () => now, ring, ...options });
  return {
    aggregator,
    ring,
    advance: (ms: number) => {
      now += ms;
    },
    at: () => now,
  };
}

function status(
  stats: Record<string, NonNullable<StatusReply["stats"]>[string] & { done: number }>,
  satellites: StatusReply["satellites"] = [],
  breakersOpen: string[] = [],
): StatusReply {
  return { ok: true, jobs: { inFlight: 3, waiting: 1 }, satellites, stats, tracker: { breakersOpen } };
}

const sat = (id: string, location: string, extra: Record<string, unknown> = {}) => ({
  id,
  location,
  types: ["echo"],
  capacity: 10,
  inFlight: 5,
  queued: 0,
  done: 0,
  failed: 0,
  draining: false,
  ...extra,
});

describe("Aggregator", () => {
  it("turns the tracker's counters into per-second rates between two status replies", () => {
    const { aggregator, advance, at } = setup();
    aggregator.onStatus(status({ echo: { done: 100, failed: 1, retries: 0 } }), at());
    advance(1000);
    expect(aggregator.tick().types.echo).toMatchObject({ done: 0, failed: 0, retried: 0 }); // one sample: no rate yet
    aggregator.onStatus(status({ echo: { done: 600, failed: 3, retries: 4 } }), at());
    advance(1000);
    aggregator.onStatus(status({ echo: { done: 1600, failed: 3, retries: 4 } }), at());
    advance(10);
    expect(aggregator.tick().types.echo).toMatchObject({ done: 1000, failed: 0, retried: 0 });
    // A counter that goes down (the orchestrator restarted) counts from zero, never negative.
    advance(500);
    aggregator.onStatus(status({ echo: { done: 50 } }), at());
    expect(aggregator.tick().types.echo.done).toBeCloseTo(50 / 0.51, 1); // 510 ms since the last reply
  });

  it("counts acked events per second and keeps every type's history, bounded", () => {
    const { aggregator, advance } = setup({ historyPoints: 3 });
    for (let i = 0; i < 30; i++)
      aggregator.onEvent("job.acked.echo", { id: `j${i}`, satellite: "s1", at: 1 });
    advance(2000);
    const delta = aggregator.tick();
    expect(delta.types.echo.acked).toBe(15);
    expect(delta.totals.eventsPerS).toBe(15);
    for (let i = 0; i < 5; i++) {
      advance(1000);
      aggregator.tick();
    }
    const snapshot = aggregator.snapshot(false);
    expect(snapshot.history.echo.t).toHaveLength(3);
    expect(snapshot.history.echo.points.at(-1)?.acked).toBe(0);
  });

  it("takes each tick's latency from differences of the tracker's histogram between two replies", () => {
    const { aggregator, advance, at } = setup();
    const histogram = new LatencyHistogram();
    const reply = (done: number) =>
      status({
        echo: {
          done,
          latencyMsP50: histogram.quantileMs(0.5),
          latencyMsP99: histogram.quantileMs(0.99),
          latencyCount: histogram.count,
          latencySumMs: histogram.sumMs,
          latencyBuckets: histogram.cumulativeAtMs(LATENCY_BUCKETS_MS),
        },
      });
    // Before the dashboard came: 1,000 slow jobs, none of them this tick's.
    for (let i = 0; i < 1000; i++) histogram.record(2000);
    aggregator.onStatus(reply(1000), at());
    advance(1000);
    expect(aggregator.tick().types.echo).toMatchObject({
      windowP50: null,
      windowP99: null,
      windowMean: null,
    });
    // This tick: 98 jobs at 3 ms, 2 at 40 ms.
    for (let i = 0; i < 98; i++) histogram.record(3);
    for (let i = 0; i < 2; i++) histogram.record(40);
    aggregator.onStatus(reply(1100), at());
    advance(1000);
    const point = aggregator.tick().types.echo;
    // p50 is in (2.5, 5]: interpolated, 2.5 + 2.5 * 50/98; p99 in (25, 50]: 25 + 25 * 1/2.
    expect(point.windowP50).toBeCloseTo(2.5 + (2.5 * 50) / 98, 1);
    expect(point.windowP99).toBeCloseTo(37.5, 1);
    expect(point.windowMean).toBeCloseTo((98 * 3 + 2 * 40) / 100, 2);
    // Since the start, the tracker's own figures: still the slow jobs.
    expect(point.p50).toBeGreaterThanOrEqual(2000);
    // No reply this tick: nothing measured, not the last tick again.
    advance(1000);
    expect(aggregator.tick().types.echo.windowP50).toBeNull();
    // Two replies in one tick add up; a job above the last edge reports the last edge.
    histogram.record(8);
    aggregator.onStatus(reply(1101), at());
    histogram.record(500_000);
    aggregator.onStatus(reply(1102), at());
    advance(1000);
    expect(aggregator.tick().types.echo).toMatchObject({
      windowP50: 10,
      windowP99: 300_000,
      windowMean: 250_004,
    });
  });

  it("counts from zero when the histogram's count goes down, and ignores malformed buckets", () => {
    const { aggregator, advance, at } = setup();
    const stats = (count: number, sumMs: number, latencyBuckets: unknown) =>
      status({ echo: { done: 0, latencyCount: count, latencySumMs: sumMs, latencyBuckets } as never });
    const edges = LATENCY_BUCKETS_MS.length;
    const all = (n: number) => new Array(edges).fill(n);
    aggregator.onStatus(stats(500, 500, all(500)), at());
    advance(1000);
    // The orchestrator restarted: 4 jobs of at most 1 ms since.
    aggregator.onStatus(stats(4, 2, all(4)), at());
    expect(aggregator.tick().types.echo).toMatchObject({ windowP50: 0.5, windowMean: 0.5 });
    // Each after a good reply, so that a bad one taken as good would show a latency.
    for (const bad of [all(8).slice(1), [...all(8).slice(1), "x"], [...all(9).slice(1), 3], all(99)]) {
      aggregator.onStatus(stats(4, 2, all(4)), at());
      advance(1000);
      aggregator.tick();
      aggregator.onStatus(stats(8, 4, bad), at());
      advance(1000);
      expect(aggregator.tick().types.echo.windowP50).toBeNull();
    }
  });

  it("sends a satellite only when it changed, and the tree only when its shape did", () => {
    const { aggregator, advance, at } = setup();
    const satellites = [sat("s1", "rack=r1,host=h1"), sat("s2", "rack=r2,host=h2")];
    aggregator.onStatus(status({}, satellites), at());
    advance(1000);
    const first = aggregator.tick();
    expect(first.satellites.map((s) => s.id)).toEqual(["s1", "s2"]);
    expect(first.satellites[0]).toMatchObject({ state: "ready", load: 0.5 });
    expect(first.tree?.children.map((node) => node.name)).toEqual(["rack=r1", "rack=r2"]);
    aggregator.onStatus(status({}, [satellites[0], { ...satellites[1], inFlight: 10 }]), at());
    advance(1000);
    const second = aggregator.tick();
    expect(second.satellites.map((s) => s.id)).toEqual(["s2"]);
    expect(second.satellites[0].load).toBe(1);
    expect(second.tree).toBeUndefined();
    aggregator.onStatus(status({}, [satellites[0]]), at());
    advance(1000);
    const third = aggregator.tick();
    expect(third.removed).toEqual(["s2"]);
    expect(third.tree?.children.map((node) => node.name)).toEqual(["rack=r1"]);
  });

  it("follows breakers, drains and losses from events between polls, and lists them", () => {
    const { aggregator, advance, at } = setup({ lostKeepMs: 5000 });
    aggregator.onStatus(status({}, [sat("s1", "rack=r1"), sat("s2", "rack=r2"), sat("s3", "rack=r3")]), at());
    advance(100);
    aggregator.onEvent("satellite.breaker-open", { satellite: "s1", detail: "5 consecutive failures" });
    aggregator.onEvent("satellite.draining", { satellite: "s2", by: "operator" });
    aggregator.onEvent("satellite.lost", { satellite: "s3", reason: "silent for 600 ms", jobs: 2 });
    aggregator.onEvent("job.poison.echo", { id: "bad", satellite: "s1", detail: "crashed 3 satellites" });
    const requestedBefore = at();
    advance(100);
    let delta = aggregator.tick();
    const states = Object.fromEntries(delta.satellites.map((s) => [s.id, s.state]));
    expect(states).toEqual({ s1: "breaker-open", s2: "draining", s3: "lost" });
    expect(delta.lists.breakers).toEqual(["s1"]);
    expect(delta.lists.drained).toEqual(["s2"]);
    expect(delta.lists.lost.map((e) => [e.satellite, e.detail])).toEqual([["s3", "silent for 600 ms"]]);
    expect(delta.lists.poison.map((e) => [e.id, e.type])).toEqual([["bad", "echo"]]);
    expect(delta.totals.satellites).toBe(2);
    // A status asked for before those events does not undo them (s3 still listed, no breaker).
    aggregator.onStatus(
      status({}, [sat("s1", "rack=r1"), sat("s2", "rack=r2"), sat("s3", "rack=r3")]),
      requestedBefore - 50,
    );
    advance(100);
    delta = aggregator.tick();
    expect(delta.satellites).toEqual([]);
    // A later one does: the breaker closed without an event we saw, s2 undrained.
    aggregator.onStatus(status({}, [sat("s1", "rack=r1"), sat("s2", "rack=r2")]), at());
    advance(100);
    delta = aggregator.tick();
    expect(Object.fromEntries(delta.satellites.map((s) => [s.id, s.state]))).toEqual({
      s1: "ready",
      s2: "ready",
    });
    // The lost one stays in the tree for lostKeepMs, then goes.
    advance(5000);
    expect(aggregator.tick().removed).toEqual(["s3"]);
  });

  it("shows a half-open breaker, and a satellite back after a loss as ready", () => {
    const { aggregator, advance, at } = setup();
    aggregator.onStatus(status({}, [sat("s1", "rack=r1")], ["s1"]), at());
    advance(100);
    expect(aggregator.tick().satellites[0].state).toBe("breaker-open");
    aggregator.onEvent("satellite.breaker-half-open", { satellite: "s1" });
    expect(aggregator.tick().satellites[0].state).toBe("breaker-half-open");
    aggregator.onEvent("satellite.breaker-closed", { satellite: "s1" });
    expect(aggregator.tick().satellites[0].state).toBe("ready");
    aggregator.onEvent("satellite.lost", { satellite: "s1", reason: "disconnected" });
    expect(aggregator.tick().satellites[0].state).toBe("lost");
    aggregator.onEvent("satellite.registered", {
      satellite: "s1",
      types: ["echo"],
      location: "rack=r1",
      capacity: 4,
    });
    expect(aggregator.tick().satellites[0]).toMatchObject({ state: "ready", capacity: 4 });
  });

  it("keeps the job events for the search, and never throws on odd input", () => {
    const { aggregator, ring } = setup();
    aggregator.onEvent("job.acked.echo", { id: "j1", satellite: "s1", detail: "attempt 1", at: 5 });
    aggregator.onEvent("job.retry.echo", { id: "j1", detail: "attempt 2 in 20 ms after failed", at: 6 });
    aggregator.onEvent("result.echo", { id: "j1", type: "echo", status: "ok", at: 7 });
    expect(ring.get("j1")?.events.map((e) => [e.at, e.event, e.type])).toEqual([
      [5, "job.acked", "echo"],
      [6, "job.retry", "echo"],
      [7, "result", "echo"],
    ]);
    for (const fields of [
      {},
      { id: 7 },
      { satellite: ["x"] },
      { types: "no", location: 3 },
      { latencyMs: -1 },
    ])
      for (const topic of [
        "job.acked.echo",
        "satellite.registered",
        "satellite.lost",
        "result.",
        "job.",
        "other",
      ])
        aggregator.onEvent(topic, fields as Record<string, unknown>);
    aggregator.onStatus(
      { satellites: [null, { id: 3 }, { id: "ok" }], stats: { x: null } } as unknown as StatusReply,
      0,
    );
    aggregator.onStatus({} as StatusReply, 0);
    expect(() => aggregator.tick()).not.toThrow();
  });

  it("reports the control socket's health", () => {
    const { aggregator, at } = setup();
    expect(aggregator.tick().control.ok).toBe(false);
    aggregator.onStatus(status({}), at());
    expect(aggregator.tick().control).toEqual({ ok: true, error: null, at: at() });
    aggregator.onControlError("no answer from the orchestrator's control socket");
    expect(aggregator.tick().control).toMatchObject({
      ok: false,
      error: "no answer from the orchestrator's control socket",
    });
  });
});

describe("splitJobTopic", () => {
  it("splits the event from the job type", () => {
    expect(splitJobTopic("job.acked.echo")).toEqual({ event: "job.acked", type: "echo" });
    expect(splitJobTopic("job.late-result-dropped")).toEqual({ event: "job.late-result-dropped" });
    expect(splitJobTopic("job.step.a.b")).toEqual({ event: "job.step", type: "a.b" });
    expect(splitJobTopic("result.resize")).toEqual({ event: "result", type: "resize" });
  });
});

describe("buildTree", () => {
  it("nests satellites by the levels of their location, sorted, with the unplaced apart", () => {
    const tree = buildTree([
      { id: "b", location: "datacenter=dc1,rack=r10,host=h1" },
      { id: "a", location: "datacenter=dc1,rack=r2,host=h1" },
      { id: "c", location: "datacenter=dc1,rack=r2,host=h1" },
      { id: "mdp", location: "" },
    ]);
    expect(tree.children.map((n) => n.name)).toEqual([NO_LOCATION, "datacenter=dc1"]);
    const dc = tree.children[1];
    expect(dc.children.map((n) => n.name)).toEqual(["rack=r2", "rack=r10"]);
    expect(dc.children[0].children[0]).toEqual({ name: "host=h1", children: [], satellites: ["a", "c"] });
    expect(tree.children[0].satellites).toEqual(["mdp"]);
  });
});

describe("JobRing", () => {
  it("forgets the job first seen longest ago past its job bound", () => {
    const ring = new JobRing({ jobsMax: 2 });
    ring.add("a", { at: 1, event: "job.acked" });
    ring.add("b", { at: 2, event: "job.acked" });
    ring.add("a", { at: 3, event: "job.retry" });
    ring.add("c", { at: 4, event: "job.acked" });
    expect(ring.get("a")).toBeNull();
    expect(ring.get("b")?.events).toHaveLength(1);
    expect(ring.size).toBe(2);
    expect(ring.oldestAt).toBe(2);
  });

  it("stays under its byte bound, and bounds the events of one job", () => {
    const ring = new JobRing({ jobsMax: 1_000_000, bytesMax: 64 * 1024, eventsPerJobMax: 4 });
    for (let i = 0; i < 10_000; i++)
      ring.add(`job-${i}`, { at: i, event: "job.acked", satellite: "s", detail: "x".repeat(1000) });
    expect(ring.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(ring.size).toBeGreaterThan(10);
    expect(ring.get("job-9999")?.events[0].detail?.length).toBeLessThan(400); // long details are cut
    for (let i = 0; i < 10; i++) ring.add("job-9999", { at: i, event: "job.progress" });
    expect(ring.get("job-9999")).toMatchObject({ dropped: 7 });
    expect(ring.get("job-9999")?.events).toHaveLength(4);
  });
});
