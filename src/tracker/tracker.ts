// The tracker: a pure state machine that follows every job from submit to one terminal `complete`.
//
// Contract (raft's Step/Ready, with the world injected):
//   - `step(event, nowMs)` applies one event the orchestrator observed; `tick(nowMs)` fires due
//     timers (ack, run, stall, backoff, deadline, breaker cool-down) from one timer wheel. Neither
//     does I/O, reads a clock or draws randomness except through the injected `rng`.
//   - Both append effects to an outbox; `takeEffects()` drains it. The orchestrator performs them in
//     order: `place` (answer with `dispatched` or `unplaceable`), `cancel-on-satellite`, `complete`
//     (reply to the client, exactly once per submitted job), `breaker`, `event`.
//   - nowMs is the caller's clock in ms, best monotonic (the orchestrator passes Date.now()); a
//     value going backwards is clamped to the latest seen and counted.
//   - Operating errors (late results, unknown jobs, illegal transitions) never throw: they are
//     dropped, counted in `stats()` and reported as `event` effects.
//
//   const tracker = new Tracker(defaultTrackerConfig, Math.random);
//   tracker.step({ kind: "submit", jobId: "j1", type: "echo", candidates: ["s1", "s2"] }, 0);
//   tracker.takeEffects(); // [{ kind: "place", jobId: "j1", attempt: 1, exclude: [] }]
//   tracker.step({ kind: "dispatched", jobId: "j1", attempt: 1, satelliteId: "s1" }, 1);
//   tracker.tick(5_001);   // no ack: job:timeout, cancel-on-satellite s1, job:retry, job:rerouted
import { assert } from "./assert.ts";
import { TRACKER_RESTART_ONLY, type TrackerConfig, validateTrackerConfig } from "./config.ts";
import { TimerKind, TrackerCore } from "./core.ts";
import { NONE, STATE_NAMES, State } from "./jobs.ts";
import { TRANSITIONS } from "./transitions.ts";
import type {
  BreakerState,
  JobEvent,
  JobStateName,
  LiveJobStateName,
  TrackerEffect,
  TrackerEvent,
  TrackerStats,
} from "./types.ts";

type AnyTransition = (core: TrackerCore, slot: number, event: JobEvent, nowMs: number) => void;

export interface JobInfo {
  state: JobStateName;
  attempt: number;
  satelliteId?: string;
  /** Satellites the next placement avoids. */
  exclude: readonly string[];
}

const RESULT_KINDS: ReadonlySet<JobEvent["kind"]> = new Set(["ack", "progress", "succeeded", "failed"]);

export class Tracker {
  readonly config: TrackerConfig;
  private readonly core: TrackerCore;
  private latestNowMs = Number.NEGATIVE_INFINITY;
  /** Bound once: the wheel calls it for every timer, so no closure is made per job. */
  private readonly fireTimer: (owner: number, kind: number) => void;

  constructor(config: Partial<TrackerConfig>, rng: () => number) {
    this.config = validateTrackerConfig(config);
    this.core = new TrackerCore(this.config, rng);
    this.fireTimer = (owner, kind) => {
      if (kind === TimerKind.job) this.onJobTimer(owner, this.latestNowMs);
      else this.core.onBreakerCooldown(owner, this.latestNowMs);
    };
  }

  /**
   * Changes settings while it runs (`dsat config set`): timeouts, attempts, backoff, breakers and
   * poison apply to what happens from now on (a timer already set keeps its time; a job keeps the
   * run timeout and attempts it was submitted with). The sizes of its tables and wheel cannot
   * change. Returns why not (a sentence), or null once applied.
   */
  reconfigure(changes: Partial<TrackerConfig>): string | null {
    for (const name of TRACKER_RESTART_ONLY)
      if (changes[name] !== undefined && changes[name] !== this.config[name])
        return `${name} sizes the tracker's tables: it changes only with a restart`;
    let next: TrackerConfig;
    try {
      next = validateTrackerConfig({ ...this.config, ...changes });
    } catch (error) {
      return (error as Error).message;
    }
    // The core reads the same object: the new values apply from its next decision.
    Object.assign(this.config, next);
    this.core.types.relimit();
    return null;
  }

  /** Applies one observed event at nowMs; effects go to the outbox. Never throws on bad input. */
  step(event: TrackerEvent, nowMs: number): void {
    const now = this.clock(nowMs);
    switch (event.kind) {
      case "submit":
        this.core.submit(event, now);
        return;
      case "satellite-lost":
        this.loseSatellite(event.satelliteId, now, event.blameless === true);
        return;
      case "satellite-heartbeat":
        this.core.heartbeat(event.satelliteId, now);
        return;
      default:
        this.stepJob(event, now);
        return;
    }
  }

  /** Fires the timers due at nowMs (at most timersPerTickMax); returns how many fired. */
  tick(nowMs: number): number {
    const now = this.clock(nowMs);
    return this.core.wheel.advance(now, this.config.timersPerTickMax, this.fireTimer);
  }

  /** Drains the outbox (raft's Ready): the effects of every step and tick since the last call. */
  takeEffects(): TrackerEffect[] {
    const effects = this.core.effects;
    this.core.effects = [];
    return effects;
  }

  stats(): TrackerStats {
    return this.core.stats();
  }

  /**
   * Forgets a job type's record (limits, stats) unless a job of it is tracked (then false).
   * The orchestrator evicts types learnt from satellites that have gone (typesMax bounds the table).
   */
  evictType(type: string): boolean {
    return this.core.types.evict(type);
  }

  /** The job's state; a terminal one while the job is among the recentJobsMax last ended. */
  jobState(jobId: string): JobStateName | undefined {
    const slot = this.core.jobIndex.get(jobId);
    if (slot !== undefined) return STATE_NAMES[this.core.jobs.state[slot]] as JobStateName;
    const ended = this.core.recent.find(jobId);
    return ended === undefined ? undefined : (STATE_NAMES[ended.outcome] as JobStateName);
  }

  /** Details of a live job, for tests and `dsat status`. */
  jobInfo(jobId: string): JobInfo | undefined {
    const slot = this.core.jobIndex.get(jobId);
    if (slot === undefined) return undefined;
    const jobs = this.core.jobs;
    const mask = jobs.excludeMask[slot];
    const info: JobInfo = {
      state: STATE_NAMES[jobs.state[slot]] as JobStateName,
      attempt: jobs.attempt[slot],
      exclude: jobs.candidates[slot].filter((_, index) => (mask & (1 << index)) !== 0),
    };
    const satelliteId = this.core.satelliteIdOf(slot);
    if (satelliteId !== undefined) info.satelliteId = satelliteId;
    return info;
  }

  breakerOf(satelliteId: string): BreakerState {
    return this.core.satellites.get(satelliteId)?.breaker ?? "closed";
  }

  /**
   * Whether placement may send this satellite an attempt now: its breaker is closed, or half-open
   * with its one probe not out yet (docs/tracker.md, "Circuit breaker").
   */
  mayPlaceOn(satelliteId: string): boolean {
    const record = this.core.satellites.get(satelliteId);
    return (
      record === undefined ||
      record.breaker === "closed" ||
      (record.breaker === "half-open" && record.probeSlot === NONE)
    );
  }

  /** Satellites whose breaker is open, for status. */
  breakersOpen(): string[] {
    return this.core.satellites.idsWithBreaker("open");
  }

  get jobsTracked(): number {
    return this.core.jobs.live;
  }

  // ---- the common checks, then the table -----------------------------------------------------

  private stepJob(event: JobEvent, nowMs: number): void {
    const slot = this.core.jobIndex.get(event.jobId);
    if (slot === undefined) this.afterEnd(event);
    else this.applyToJob(slot, event, nowMs);
  }

  /** Checks common to every state (deadline, attempt fence, satellite fence), then TRANSITIONS. */
  private applyToJob(slot: number, event: JobEvent, nowMs: number): void {
    const core = this.core;
    const jobs = core.jobs;
    if (nowMs >= jobs.deadlineAtMs[slot]) {
      core.finish(slot, "expired", nowMs, "deadline passed");
      this.afterEnd(event);
      return;
    }
    if ("attempt" in event && event.attempt !== jobs.attempt[slot]) {
      this.fenceAttempt(slot, event);
      return;
    }
    const on = core.satelliteIdOf(slot);
    if (
      RESULT_KINDS.has(event.kind) &&
      "satelliteId" in event &&
      on !== undefined &&
      on !== event.satelliteId
    ) {
      core.refuse(
        `${event.kind} from ${event.satelliteId}, but attempt ${jobs.attempt[slot]} is on ${on}`,
        event.jobId,
      );
      return;
    }
    this.runTransition(slot, event, nowMs);
  }

  private runTransition(slot: number, event: JobEvent, nowMs: number): void {
    const state = STATE_NAMES[this.core.jobs.state[slot]] as LiveJobStateName;
    const handler = TRANSITIONS[state][event.kind] as AnyTransition | undefined;
    if (handler === undefined) {
      if (event.kind === "dispatched" && event.satelliteId !== this.core.satelliteIdOf(slot)) {
        // Sent where the tracker did not ask: that satellite should not run it.
        this.core.effects.push({
          kind: "cancel-on-satellite",
          jobId: event.jobId,
          attempt: event.attempt,
          satelliteId: event.satelliteId,
        });
      }
      const from = "satelliteId" in event ? ` from ${event.satelliteId}` : "";
      this.core.refuse(`${event.kind}${from} in state ${state}`, event.jobId);
      return;
    }
    handler(this.core, slot, event, nowMs);
  }

  /** An event for another attempt: a late result of an earlier one is dropped; the rest is refused. */
  private fenceAttempt(slot: number, event: JobEvent & { attempt: number }): void {
    const core = this.core;
    const current = core.jobs.attempt[slot];
    if (event.attempt < current && RESULT_KINDS.has(event.kind)) {
      core.typeOf(slot).lateResults++;
      const detail = `${event.kind} of attempt ${event.attempt}; attempt ${current} is current`;
      core.emitEvent(
        "job:late-result-dropped",
        event.jobId,
        "satelliteId" in event ? event.satelliteId : undefined,
        detail,
      );
      return;
    }
    if (event.kind === "dispatched") {
      // Whatever it is, the satellite should not run it.
      core.effects.push({
        kind: "cancel-on-satellite",
        jobId: event.jobId,
        attempt: event.attempt,
        satelliteId: event.satelliteId,
      });
    }
    core.refuse(`${event.kind} of attempt ${event.attempt}; attempt ${current} is current`, event.jobId);
  }

  /** An event for a job that has ended (or was never submitted). */
  private afterEnd(event: JobEvent): void {
    const core = this.core;
    if (event.kind === "timer" || event.kind === "satellite-lost") return; // the job ended first
    const ended = core.recent.find(event.jobId);
    if (event.kind === "dispatched") {
      core.effects.push({
        kind: "cancel-on-satellite",
        jobId: event.jobId,
        attempt: event.attempt,
        satelliteId: event.satelliteId,
      });
    }
    if (ended === undefined) {
      core.counters.unknownJobEvents++;
      core.emitEvent("tracker:unknown-job", event.jobId, undefined, `${event.kind} for a job not tracked`);
    } else if (event.kind === "cancel") {
      core.counters.cancelsTooLate++;
    } else if (RESULT_KINDS.has(event.kind) || event.kind === "dispatched") {
      const record = core.types.records[ended.type];
      if (record !== undefined) record.lateResults++;
      const detail = `${event.kind} after the job ended ${STATE_NAMES[ended.outcome]}`;
      const satelliteId = "satelliteId" in event ? event.satelliteId : undefined;
      core.emitEvent("job:late-result-dropped", event.jobId, satelliteId, detail);
    }
  }

  private onJobTimer(slot: number, nowMs: number): void {
    const core = this.core;
    const jobs = core.jobs;
    assert(jobs.state[slot] !== State.free, "a fired job timer belongs to a live job");
    jobs.timer[slot] = NONE;
    if (nowMs >= jobs.deadlineAtMs[slot]) {
      core.finish(slot, "expired", nowMs, "deadline passed");
    } else if (core.dueMs(slot) > nowMs) {
      core.armTimer(slot, nowMs); // lazily kept timer: the state's real due time is later
    } else {
      this.runTransition(slot, { kind: "timer", jobId: jobs.ids[slot] }, nowMs);
    }
  }

  private loseSatellite(satelliteId: string, nowMs: number, blameless: boolean): void {
    const core = this.core;
    const record = core.satellites.get(satelliteId);
    const slots = record === undefined ? [] : core.satellites.jobsOf(core.jobs, record);
    core.emitEvent("satellite:lost", undefined, satelliteId, `${slots.length} attempts lost`);
    if (record === undefined) return;
    for (const slot of slots) {
      this.applyToJob(
        slot,
        { kind: "satellite-lost", jobId: core.jobs.ids[slot], satelliteId, blameless },
        nowMs,
      );
    }
    core.forgetSatellite(record);
  }

  private clock(nowMs: number): number {
    assert(typeof nowMs === "number" && !Number.isNaN(nowMs), "nowMs is a number");
    if (nowMs < this.latestNowMs) {
      this.core.counters.clockRegressions++;
      return this.latestNowMs;
    }
    this.latestNowMs = nowMs;
    return nowMs;
  }
}
