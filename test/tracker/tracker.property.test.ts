// Property tests over random event sequences with an injected clock and rng (fast-check):
//   - every submitted job gets exactly one `complete`, and nothing stays tracked at the end;
//   - a `complete done` only follows the `succeeded` of the job's latest dispatched attempt
//     (late or duplicate results are never delivered, attempts never completed twice);
//   - placements only move forward (attempt numbers never go back) and exclude only candidates;
//   - the per-type counters balance (received = done + failed + cancelled + expired);
//   - no event, however wrong, makes the tracker throw.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Tracker, type TrackerEffect, type TrackerEvent } from "../../src/tracker/index.ts";

const SATELLITES = ["s0", "s1", "s2", "s3", "s4"];
const TYPES = ["echo", "cpu"];

type Op =
  | {
      op: "submit";
      type: number;
      first: number;
      count: number;
      deadlineMs: number | null;
      attemptsMax: number | null;
    }
  | { op: "duplicate"; job: number }
  | { op: "answer"; place: number; mode: "dispatch" | "unplaceable" | "elsewhere" }
  | {
      op: "result";
      job: number;
      kind: "ack" | "progress" | "succeeded" | "failed";
      attemptDelta: -1 | 0 | 1;
      wrongSatellite: boolean;
      retryable: boolean;
      crashed: boolean;
    }
  | { op: "lost"; satellite: number }
  | { op: "heartbeat"; satellite: number }
  | { op: "cancel"; job: number }
  | { op: "tick"; ms: number }
  | { op: "stranger"; kind: "ack" | "dispatched" | "cancel" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("submit" as const),
      type: fc.nat(1),
      first: fc.nat(4),
      count: fc.integer({ min: 0, max: 4 }),
      deadlineMs: fc.option(fc.integer({ min: 0, max: 20_000 })),
      attemptsMax: fc.option(fc.integer({ min: 1, max: 4 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicate" as const), job: fc.nat(50) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("answer" as const),
      place: fc.nat(20),
      mode: fc.constantFrom(
        "dispatch" as const,
        "dispatch" as const,
        "unplaceable" as const,
        "elsewhere" as const,
      ),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("result" as const),
      job: fc.nat(50),
      kind: fc.constantFrom("ack" as const, "progress" as const, "succeeded" as const, "failed" as const),
      attemptDelta: fc.constantFrom(0 as const, 0 as const, 0 as const, -1 as const, 1 as const),
      wrongSatellite: fc.boolean(),
      retryable: fc.boolean(),
      crashed: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("lost" as const), satellite: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("heartbeat" as const), satellite: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), job: fc.nat(50) }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("stranger" as const),
      kind: fc.constantFrom("ack" as const, "dispatched" as const, "cancel" as const),
    }),
  },
);

const configArb = fc.record({
  ackTimeoutMs: fc.integer({ min: 20, max: 3_000 }),
  stallTimeoutMs: fc.integer({ min: 10, max: 3_000 }),
  runTimeoutMs: fc.integer({ min: 3_000, max: 10_000 }),
  attemptsMax: fc.integer({ min: 1, max: 4 }),
  backoffBaseMs: fc.integer({ min: 1, max: 500 }),
  backoffMaxMs: fc.constant(2_000),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  placeTimeoutMs: fc.integer({ min: 1, max: 3_000 }),
  breakerFailuresThreshold: fc.integer({ min: 1, max: 3 }),
  breakerCooldownMs: fc.integer({ min: 10, max: 3_000 }),
  poisonCrashThreshold: fc.integer({ min: 1, max: 3 }),
  wheelTickMs: fc.constantFrom(1, 10),
  wheelSlots: fc.constantFrom(8, 64, 1024),
  timersPerTickMax: fc.constantFrom(1, 3, 100_000),
  recentJobsMax: fc.constantFrom(1, 16, 4096),
});

interface JobModel {
  id: string;
  candidates: string[];
  /** Latest attempt the orchestrator dispatched, and where. */
  dispatched?: { attempt: number; satelliteId: string };
  placedAttempt: number;
  completes: TrackerEffect[];
}

class Harness {
  readonly tracker: Tracker;
  nowMs = 0;
  readonly jobs: JobModel[] = [];
  private readonly byId = new Map<string, JobModel>();
  pendingPlaces: Extract<TrackerEffect, { kind: "place" }>[] = [];
  private strangers = 0;

  constructor(config: Record<string, number>, seed: number) {
    let state = seed >>> 0 || 1;
    const rng = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    this.tracker = new Tracker(config, rng);
  }

  step(event: TrackerEvent): void {
    this.tracker.step(event, this.nowMs);
    this.absorb(event);
  }

  tick(ms: number): void {
    this.nowMs += ms;
    for (
      let round = 0;
      round < 1_000 && this.tracker.tick(this.nowMs) >= this.tracker.config.timersPerTickMax;
      round++
    );
    this.absorb(undefined);
  }

  private absorb(cause: TrackerEvent | undefined): void {
    for (const effect of this.tracker.takeEffects()) {
      if (effect.kind === "place") {
        const job = this.byId.get(effect.jobId);
        expect(job, "place for a submitted job").toBeDefined();
        if (job === undefined) continue;
        expect(job.completes, "no place after complete").toHaveLength(0);
        expect(effect.attempt).toBeGreaterThanOrEqual(job.placedAttempt);
        if (job.dispatched) expect(effect.attempt).toBeGreaterThan(job.dispatched.attempt);
        for (const id of effect.exclude) expect(job.candidates).toContain(id);
        job.placedAttempt = effect.attempt;
        this.pendingPlaces = this.pendingPlaces.filter((place) => place.jobId !== effect.jobId);
        this.pendingPlaces.push(effect);
      } else if (effect.kind === "complete") {
        const job = this.byId.get(effect.jobId);
        if (job === undefined) continue; // a refused stranger id
        job.completes.push(effect);
        expect(job.completes, `${job.id} completed once`).toHaveLength(1);
        this.pendingPlaces = this.pendingPlaces.filter((place) => place.jobId !== effect.jobId);
        if (effect.outcome === "done") {
          expect(cause?.kind, "done only answers a succeeded").toBe("succeeded");
          if (cause?.kind !== "succeeded") continue;
          expect(cause.jobId).toBe(job.id);
          expect(job.dispatched, "done only for a dispatched attempt").toBeDefined();
          expect(cause.attempt).toBe(job.dispatched?.attempt);
          expect(cause.satelliteId).toBe(job.dispatched?.satelliteId);
          expect(effect.attempt).toBe(cause.attempt);
        }
      }
    }
  }

  apply(op: Op): void {
    switch (op.op) {
      case "submit": {
        const id = `j${this.jobs.length}`;
        const candidates = Array.from({ length: op.count }, (_, index) => SATELLITES[(op.first + index) % 5]);
        const job: JobModel = { id, candidates, placedAttempt: 0, completes: [] };
        this.jobs.push(job);
        this.byId.set(id, job);
        this.step({
          kind: "submit",
          jobId: id,
          type: TYPES[op.type],
          candidates,
          deadlineAtMs: op.deadlineMs === null ? undefined : this.nowMs + op.deadlineMs,
          attemptsMax: op.attemptsMax ?? undefined,
        });
        return;
      }
      case "duplicate": {
        const job = this.jobs[op.job % Math.max(1, this.jobs.length)];
        if (job !== undefined && job.completes.length === 0) {
          this.step({ kind: "submit", jobId: job.id, type: "echo", candidates: job.candidates });
        }
        return;
      }
      case "answer":
        this.answer(op);
        return;
      case "result":
        this.result(op);
        return;
      case "lost":
        this.step({ kind: "satellite-lost", satelliteId: SATELLITES[op.satellite] });
        return;
      case "heartbeat":
        this.step({ kind: "satellite-heartbeat", satelliteId: SATELLITES[op.satellite] });
        return;
      case "cancel": {
        const job = this.jobs[op.job % Math.max(1, this.jobs.length)];
        if (job !== undefined) this.step({ kind: "cancel", jobId: job.id });
        return;
      }
      case "tick":
        this.tick(op.ms);
        return;
      case "stranger": {
        const jobId = `stranger${this.strangers++}`;
        if (op.kind === "cancel") this.step({ kind: "cancel", jobId });
        else if (op.kind === "ack") this.step({ kind: "ack", jobId, attempt: 1, satelliteId: "s0" });
        else this.step({ kind: "dispatched", jobId, attempt: 1, satelliteId: "s0" });
      }
    }
  }

  private answer(op: Extract<Op, { op: "answer" }>): void {
    if (this.pendingPlaces.length === 0) return;
    const place = this.pendingPlaces.splice(op.place % this.pendingPlaces.length, 1)[0];
    const job = this.byId.get(place.jobId);
    if (job === undefined) return;
    const target =
      op.mode === "elsewhere"
        ? "s-other"
        : job.candidates.find((id) => !place.exclude.includes(id) && this.tracker.breakerOf(id) !== "open");
    if (op.mode === "unplaceable" || target === undefined) {
      this.step({ kind: "unplaceable", jobId: place.jobId, attempt: place.attempt });
      return;
    }
    // The model's view: dispatched counts only if the tracker took it (the job was still placed).
    const before = this.tracker.jobState(job.id);
    this.step({ kind: "dispatched", jobId: job.id, attempt: place.attempt, satelliteId: target });
    if (before === "placed" && this.tracker.jobState(job.id) === "sent") {
      job.dispatched = { attempt: place.attempt, satelliteId: target };
      // A dispatch outside the candidates joins them (a copy: the tracker never mutates the caller's).
      if (!job.candidates.includes(target)) job.candidates = [...job.candidates, target];
    }
  }

  private result(op: Extract<Op, { op: "result" }>): void {
    const job = this.jobs[op.job % Math.max(1, this.jobs.length)];
    if (job === undefined) return;
    const base = job.dispatched ?? { attempt: 1, satelliteId: job.candidates[0] ?? "s0" };
    const attempt = Math.max(1, base.attempt + op.attemptDelta);
    const satelliteId = op.wrongSatellite ? "s-wrong" : base.satelliteId;
    if (op.kind === "failed") {
      const event = {
        kind: op.kind,
        jobId: job.id,
        attempt,
        satelliteId,
        retryable: op.retryable,
        message: "x",
      };
      this.step({ ...event, crashed: op.crashed });
    } else {
      this.step({ kind: op.kind, jobId: job.id, attempt, satelliteId });
    }
  }

  /** The orchestrator keeps answering placements and time keeps passing: everything must end. */
  drain(): void {
    for (let round = 0; round < 200 && this.tracker.jobsTracked > 0; round++) {
      while (this.pendingPlaces.length > 0) this.answer({ op: "answer", place: 0, mode: "dispatch" });
      this.tick(5_000);
    }
  }
}

describe("tracker properties", () => {
  it("every submitted job completes exactly once; late results are never delivered", () => {
    const seen: Record<string, number> = {};
    const count = (name: string, value: number) => {
      seen[name] = (seen[name] ?? 0) + value;
    };
    fc.assert(
      fc.property(
        configArb,
        fc.array(opArb, { minLength: 10, maxLength: 150, size: "max" }),
        fc.integer(),
        (config, ops, seed) => {
          const harness = new Harness(config, seed);
          for (const op of ops) harness.apply(op);
          harness.drain();
          expect(harness.tracker.jobsTracked).toBe(0);
          for (const job of harness.jobs) expect(job.completes, `${job.id} completed`).toHaveLength(1);
          const stats = harness.tracker.stats();
          for (const type of Object.values(stats.types)) {
            expect(type.inFlight).toBe(0);
            expect(type.done + type.failed + type.cancelled + type.expired).toBe(type.received);
            expect(type.retries).toBeLessThanOrEqual(type.errors);
            for (const name of [
              "done",
              "failed",
              "cancelled",
              "expired",
              "reroutes",
              "timeouts",
              "stalls",
            ] as const) {
              count(name, type[name]);
            }
            count("poison", type.poison);
            count("lateResults", type.lateResults);
          }
          count("illegalTransitions", stats.illegalTransitions);
          expect(stats.timersPending).toBeLessThanOrEqual(stats.satellitesTracked);
        },
      ),
      { numRuns: Number(process.env.TRACKER_PROPERTY_RUNS ?? 300) },
    );
    // The generator is not vacuous: every kind of ending and fault was exercised.
    for (const name of [
      "done",
      "failed",
      "cancelled",
      "expired",
      "reroutes",
      "timeouts",
      "stalls",
      "poison",
    ]) {
      expect(seen[name] ?? 0, name).toBeGreaterThan(0);
    }
    expect(seen.lateResults ?? 0).toBeGreaterThan(0);
    expect(seen.illegalTransitions ?? 0).toBeGreaterThan(0);
  });

  it("a job that always succeeds on its first dispatch is done, whatever else happens", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 10_000 }), (jobs, gapMs) => {
        const tracker = new Tracker({}, () => 0.5);
        let now = 0;
        for (let index = 0; index < jobs; index++) {
          const jobId = `j${index}`;
          tracker.step({ kind: "submit", jobId, type: "echo", candidates: ["a", "b"] }, now);
          tracker.step({ kind: "dispatched", jobId, attempt: 1, satelliteId: "a" }, now);
          tracker.step({ kind: "ack", jobId, attempt: 1, satelliteId: "a" }, now);
          now += gapMs % 1000;
          tracker.tick(now);
          tracker.step({ kind: "succeeded", jobId, attempt: 1, satelliteId: "a" }, now);
        }
        const completes = tracker.takeEffects().filter((effect) => effect.kind === "complete");
        expect(completes).toHaveLength(jobs);
        expect(completes.every((effect) => effect.kind === "complete" && effect.outcome === "done")).toBe(
          true,
        );
      }),
      { numRuns: 50 },
    );
  });
});
