// The tracker's state and its verbs (becomeSent, endAttempt, finish, ...). Which verb runs for
// which (state, event) is decided by the table in transitions.ts, after the checks common to all
// states in tracker.ts; nothing here branches on the job's state except `dueMs`, itself a table.
import { assert } from "./assert.ts";
import { CANDIDATES_MAX, type TrackerConfig } from "./config.ts";
import { JobTable, NONE, OUTCOME_STATES, RecentJobs, State, type StateCode } from "./jobs.ts";
import { type SatelliteRecord, SatelliteTable } from "./satellites.ts";
import { TimerWheel } from "./timer-wheel.ts";
import { type TypeRecord, TypeTable } from "./type-table.ts";
import type {
  FailedEvent,
  Outcome,
  SubmitEvent,
  TrackerEffect,
  TrackerEventName,
  TrackerStats,
  TypeStats,
} from "./types.ts";

/** Timer kinds on the wheel. */
export const TimerKind = { job: 0, satellite: 1 } as const;

/** How an attempt ended badly, and what that implies. */
export interface AttemptEnd {
  reason: "failed" | "ack-timeout" | "run-timeout" | "stalled" | "lost";
  /** false: fail the job now. */
  retryable: boolean;
  /** Counts toward poison (the job may have killed the satellite or its handler). */
  crashed: boolean;
  /** Counts toward the satellite's breaker. */
  blamesSatellite: boolean;
  /** The attempt may still be running there: abort it. */
  cancelOnSatellite: boolean;
  message: string;
}

const EMPTY: readonly string[] = Object.freeze([]);

function bitCount(mask: number): number {
  let count = 0;
  for (let bits = mask >>> 0; bits !== 0; bits &= bits - 1) count++;
  return count;
}

/** When the job's timer must fire in each state (Infinity: no timer), ms. */
const DUE_MS: Record<StateCode, (core: TrackerCore, slot: number) => number> = {
  [State.free]: () => Number.POSITIVE_INFINITY,
  [State.received]: () => Number.POSITIVE_INFINITY,
  [State.placed]: (core, slot) => core.jobs.deadlineAtMs[slot],
  [State.sent]: (core, slot) =>
    Math.min(core.jobs.phaseAtMs[slot] + core.config.ackTimeoutMs, core.jobs.deadlineAtMs[slot]),
  [State.acked]: (core, slot) => core.runDueMs(slot),
  [State.running]: (core, slot) => core.runDueMs(slot),
  [State.retryWait]: (core, slot) => Math.min(core.jobs.phaseAtMs[slot], core.jobs.deadlineAtMs[slot]),
  [State.done]: () => Number.POSITIVE_INFINITY,
  [State.failed]: () => Number.POSITIVE_INFINITY,
  [State.cancelled]: () => Number.POSITIVE_INFINITY,
  [State.expired]: () => Number.POSITIVE_INFINITY,
};

export class TrackerCore {
  readonly jobs: JobTable;
  readonly jobIndex = new Map<string, number>();
  readonly recent: RecentJobs;
  readonly satellites: SatelliteTable;
  readonly types: TypeTable;
  readonly wheel: TimerWheel;
  effects: TrackerEffect[] = [];
  readonly counters = {
    illegalTransitions: 0,
    unknownJobEvents: 0,
    duplicateSubmits: 0,
    cancelsTooLate: 0,
    clockRegressions: 0,
  };

  constructor(
    readonly config: TrackerConfig,
    private readonly rng: () => number,
  ) {
    this.jobs = new JobTable(Math.min(config.jobsMax, 1024));
    this.recent = new RecentJobs(config.recentJobsMax);
    this.satellites = new SatelliteTable(config.satellitesMax);
    this.types = new TypeTable(config.typesMax, (name) => ({
      runTimeoutMs: config.runTimeoutMsByType[name] ?? config.runTimeoutMs,
      attemptsMax: config.attemptsMaxByType[name] ?? config.attemptsMax,
    }));
    this.wheel = new TimerWheel({ tickMs: config.wheelTickMs, slots: config.wheelSlots });
  }

  // ---- effects -------------------------------------------------------------------------------

  emitEvent(name: TrackerEventName, jobId?: string, satelliteId?: string, detail?: string): void {
    const effect: TrackerEffect = { kind: "event", name };
    if (jobId !== undefined) effect.jobId = jobId;
    if (satelliteId !== undefined) effect.satelliteId = satelliteId;
    if (detail !== undefined) effect.detail = detail;
    this.effects.push(effect);
  }

  refuse(what: string, jobId?: string, satelliteId?: string): void {
    this.counters.illegalTransitions++;
    this.emitEvent("tracker:illegal-transition", jobId, satelliteId, what);
  }

  typeOf(slot: number): TypeRecord {
    const record = this.types.records[this.jobs.type[slot]];
    assert(record !== undefined, "a live job's type is never evicted");
    return record;
  }

  // ---- submit --------------------------------------------------------------------------------

  submit(event: SubmitEvent, nowMs: number): void {
    if (this.jobIndex.has(event.jobId)) {
      this.counters.duplicateSubmits++;
      this.emitEvent("tracker:duplicate-job", event.jobId, undefined, "a job with this id is in flight");
      return;
    }
    const type = this.types.ensure(event.type);
    if (type === undefined) {
      this.counters.unknownJobEvents++;
      this.completeUntracked(event.jobId, `too many job types (typesMax ${this.config.typesMax})`);
      return;
    }
    type.received++;
    const refusal = this.refusalOf(event, type);
    if (refusal !== undefined) {
      type.failed++;
      type.latency.record(0);
      this.completeUntracked(event.jobId, refusal);
      this.recent.remember(event.jobId, type.index, State.failed);
      return;
    }
    const jobs = this.jobs;
    const slot = jobs.allocate(event.jobId, type.index, event.candidates);
    this.jobIndex.set(event.jobId, slot);
    this.recent.forget(event.jobId);
    jobs.attemptsMax[slot] = event.attemptsMax ?? type.attemptsMax;
    jobs.attempt[slot] = (event.attemptsBefore ?? 0) + 1;
    jobs.runTimeoutMs[slot] = event.runTimeoutMs ?? type.runTimeoutMs;
    jobs.patient[slot] = event.patient === true ? 1 : 0;
    jobs.submittedAtMs[slot] = nowMs;
    jobs.deadlineAtMs[slot] = event.deadlineAtMs ?? Number.POSITIVE_INFINITY;
    type.inFlight++;
    if (nowMs >= jobs.deadlineAtMs[slot])
      this.finish(slot, "expired", nowMs, "deadline passed before placement");
    else this.place(slot, nowMs);
  }

  private refusalOf(event: SubmitEvent, type: TypeRecord): string | undefined {
    if (this.jobs.live >= this.config.jobsMax) return `tracker full (jobsMax ${this.config.jobsMax})`;
    if (event.candidates.length > CANDIDATES_MAX) {
      return `${event.candidates.length} candidates; at most ${CANDIDATES_MAX} are tracked`;
    }
    const attemptsMax = event.attemptsMax ?? type.attemptsMax;
    if (!Number.isInteger(attemptsMax) || attemptsMax < 1 || attemptsMax > 255) {
      return `attemptsMax must be an integer within 1..255, got ${attemptsMax}`;
    }
    const runTimeoutMs = event.runTimeoutMs ?? type.runTimeoutMs;
    if (!Number.isInteger(runTimeoutMs) || runTimeoutMs < 1 || runTimeoutMs > 0x7fffffff) {
      return `runTimeoutMs must be a positive integer, got ${runTimeoutMs}`;
    }
    if (event.deadlineAtMs !== undefined && Number.isNaN(event.deadlineAtMs)) return "deadlineAtMs is NaN";
    const before = event.attemptsBefore ?? 0;
    if (!Number.isInteger(before) || before < 0) {
      return `attemptsBefore must be a non-negative integer, got ${before}`;
    }
    if (before >= 255) return `attempts exhausted across restarts (${before} made before)`;
    return undefined;
  }

  private completeUntracked(jobId: string, message: string): void {
    this.effects.push({ kind: "complete", jobId, outcome: "failed", attempt: 0, message });
  }

  // ---- placement -----------------------------------------------------------------------------

  /** placed: ask the orchestrator to send the current attempt, avoiding excluded satellites. */
  place(slot: number, nowMs: number): void {
    this.jobs.state[slot] = State.placed;
    this.effects.push({
      kind: "place",
      jobId: this.jobs.ids[slot],
      attempt: this.jobs.attempt[slot],
      exclude: this.excludedOf(slot),
    });
    this.armTimer(slot, nowMs);
  }

  private excludedOf(slot: number): readonly string[] {
    const mask = this.jobs.excludeMask[slot];
    if (mask === 0) return EMPTY;
    return this.jobs.candidates[slot].filter((_, index) => (mask & (1 << index)) !== 0);
  }

  /** sent: the attempt is on its way to a satellite; the ack timer runs. */
  becomeSent(slot: number, satelliteId: string, nowMs: number, reportsProgress = true): void {
    const jobs = this.jobs;
    const record = this.satellites.ensure(satelliteId);
    if (record === undefined) {
      this.effects.push({
        kind: "cancel-on-satellite",
        jobId: jobs.ids[slot],
        attempt: jobs.attempt[slot],
        satelliteId,
      });
      this.refuse(
        `satellite table full (satellitesMax ${this.config.satellitesMax})`,
        jobs.ids[slot],
        satelliteId,
      );
      this.waitForPlacement(slot, nowMs);
      return;
    }
    if (!jobs.candidates[slot].includes(satelliteId) && jobs.candidates[slot].length < CANDIDATES_MAX) {
      jobs.candidates[slot] = [...jobs.candidates[slot], satelliteId]; // copy: the caller's array is shared
    }
    this.satellites.link(jobs, slot, record);
    if (record.breaker === "half-open" && record.probeSlot === NONE) record.probeSlot = slot;
    jobs.state[slot] = State.sent;
    jobs.silent[slot] = reportsProgress ? 0 : 1;
    jobs.phaseAtMs[slot] = nowMs;
    jobs.progressAtMs[slot] = nowMs;
    jobs.unplaceableSinceMs[slot] = Number.NaN;
    jobs.placeRetries[slot] = 0;
    this.armTimer(slot, nowMs);
  }

  /** retry-wait (placement): no candidate could take it; try again after a backoff, within placeTimeoutMs. */
  waitForPlacement(slot: number, nowMs: number): void {
    const jobs = this.jobs;
    if (Number.isNaN(jobs.unplaceableSinceMs[slot])) {
      jobs.unplaceableSinceMs[slot] = nowMs;
      this.emitEvent("job:unplaceable", jobs.ids[slot], undefined, `attempt ${jobs.attempt[slot]}`);
    }
    const waitedMs = nowMs - jobs.unplaceableSinceMs[slot];
    if (waitedMs >= this.config.placeTimeoutMs && jobs.patient[slot] === 0) {
      this.finish(slot, "failed", nowMs, `unplaceable for ${waitedMs} ms: no live candidate with room`);
      return;
    }
    jobs.placeRetries[slot] = Math.min(255, jobs.placeRetries[slot] + 1);
    jobs.state[slot] = State.retryWait;
    jobs.phaseAtMs[slot] = nowMs + this.backoffMs(jobs.placeRetries[slot]);
    this.armTimer(slot, nowMs);
  }

  // ---- running -------------------------------------------------------------------------------

  becomeAcked(slot: number, nowMs: number): void {
    const jobs = this.jobs;
    jobs.state[slot] = State.acked;
    jobs.phaseAtMs[slot] = nowMs;
    jobs.progressAtMs[slot] = nowMs;
    this.emitEvent("job:acked", jobs.ids[slot], this.satelliteIdOf(slot), `attempt ${jobs.attempt[slot]}`);
    this.armTimer(slot, nowMs);
  }

  /** running: progress. `runStarts` when it also stands for a lost ack (from sent). */
  becomeRunning(slot: number, nowMs: number, runStarts: boolean): void {
    const jobs = this.jobs;
    if (runStarts) jobs.phaseAtMs[slot] = nowMs;
    jobs.state[slot] = State.running;
    jobs.progressAtMs[slot] = nowMs;
    this.armTimer(slot, nowMs);
  }

  succeed(slot: number, nowMs: number): void {
    const record = this.satellites.at(this.jobs.satellite[slot]);
    if (record.probeSlot === slot) record.probeSlot = NONE;
    record.failuresConsecutive = 0;
    if (record.breaker === "half-open") this.setBreaker(record, "closed", nowMs, "probe succeeded");
    this.finish(slot, "done", nowMs, undefined);
  }

  fail(slot: number, event: FailedEvent, nowMs: number): void {
    this.endAttempt(slot, nowMs, {
      reason: "failed",
      retryable: event.retryable,
      crashed: event.crashed === true && event.undelivered !== true,
      blamesSatellite: event.retryable && event.undelivered !== true,
      cancelOnSatellite: false,
      message: event.message,
    });
  }

  timeOutAck(slot: number, nowMs: number): void {
    this.endAttempt(slot, nowMs, {
      reason: "ack-timeout",
      retryable: true,
      crashed: false,
      blamesSatellite: true,
      cancelOnSatellite: true,
      message: `no ack within ${this.config.ackTimeoutMs} ms`,
    });
  }

  /** acked/running timer: the run timeout if it is due, else the attempt stalled. */
  timeOutRun(slot: number, nowMs: number): void {
    const jobs = this.jobs;
    const runMs = nowMs - jobs.phaseAtMs[slot];
    // Whichever limit came first names the cause, however late the tick that noticed it.
    const ranTooLong = jobs.phaseAtMs[slot] + jobs.runTimeoutMs[slot] <= this.stallDueMs(slot);
    const record = this.satellites.at(jobs.satellite[slot]);
    const heartbeat = Number.isNaN(record.lastHeartbeatMs)
      ? "no heartbeat seen"
      : `satellite heartbeat ${nowMs - record.lastHeartbeatMs} ms ago`;
    this.endAttempt(slot, nowMs, {
      reason: ranTooLong ? "run-timeout" : "stalled",
      retryable: true,
      crashed: !ranTooLong,
      blamesSatellite: true,
      cancelOnSatellite: true,
      message: ranTooLong
        ? `ran ${runMs} ms, runTimeoutMs is ${jobs.runTimeoutMs[slot]}`
        : `no progress for ${nowMs - jobs.progressAtMs[slot]} ms (${heartbeat})`,
    });
  }

  loseAttempt(slot: number, satelliteId: string, nowMs: number, blameless = false): void {
    this.endAttempt(slot, nowMs, {
      reason: "lost",
      retryable: true,
      crashed: !blameless,
      blamesSatellite: false,
      cancelOnSatellite: false,
      message: `satellite ${satelliteId} lost`,
    });
  }

  runDueMs(slot: number): number {
    const jobs = this.jobs;
    return Math.min(
      jobs.phaseAtMs[slot] + jobs.runTimeoutMs[slot],
      this.stallDueMs(slot),
      jobs.deadlineAtMs[slot],
    );
  }

  /** When the attempt counts as stalled (never, on a satellite that cannot report progress). */
  stallDueMs(slot: number): number {
    const jobs = this.jobs;
    return jobs.silent[slot] === 1
      ? Number.POSITIVE_INFINITY
      : jobs.progressAtMs[slot] + this.config.stallTimeoutMs;
  }

  satelliteIdOf(slot: number): string | undefined {
    const index = this.jobs.satellite[slot];
    return index === NONE ? undefined : this.satellites.at(index).id;
  }

  // ---- errors and retries --------------------------------------------------------------------

  /** error: the attempt ended badly; retry (rerouted when it avoids the failed satellites) or fail. */
  endAttempt(slot: number, nowMs: number, end: AttemptEnd): void {
    const jobs = this.jobs;
    const type = this.typeOf(slot);
    const jobId = jobs.ids[slot];
    const attempt = jobs.attempt[slot];
    const record = this.satellites.unlink(jobs, slot);
    type.errors++;
    if (end.cancelOnSatellite)
      this.effects.push({
        kind: "cancel-on-satellite",
        jobId,
        attempt,
        satelliteId: record.id,
        ...(end.reason === "ack-timeout" ? { unacked: true as const } : {}),
      });
    this.reportAttemptEnd(type, jobId, record.id, attempt, end);
    this.judgeSatellite(record, slot, end.blamesSatellite, nowMs);
    const candidate = jobs.candidates[slot].indexOf(record.id);
    if (candidate >= 0) {
      if (end.crashed) jobs.crashMask[slot] |= 1 << candidate;
      jobs.excludeMask[slot] |= 1 << candidate;
      const all = (1 << jobs.candidates[slot].length) - 1; // at most CANDIDATES_MAX (30) bits
      if ((jobs.excludeMask[slot] & all) === all) jobs.excludeMask[slot] = 0; // none remain: start over
    }
    const crashes = bitCount(jobs.crashMask[slot]);
    if (crashes >= this.config.poisonCrashThreshold) {
      type.poison++;
      this.emitEvent("job:poison", jobId, record.id, `crashed ${crashes} satellites`);
      this.finish(slot, "failed", nowMs, `poison: crashed ${crashes} satellites; last: ${end.message}`);
    } else if (!end.retryable) {
      this.finish(slot, "failed", nowMs, end.message);
    } else if (attempt >= jobs.attemptsMax[slot]) {
      this.finish(
        slot,
        "failed",
        nowMs,
        `attempts exhausted (${attempt} of ${jobs.attemptsMax[slot]}): ${end.message}`,
      );
    } else {
      this.scheduleRetry(slot, type, nowMs, end);
    }
  }

  private reportAttemptEnd(
    type: TypeRecord,
    jobId: string,
    satelliteId: string,
    attempt: number,
    end: AttemptEnd,
  ) {
    const detail = `attempt ${attempt}: ${end.message}`;
    if (end.reason === "ack-timeout" || end.reason === "run-timeout") {
      type.timeouts++;
      this.emitEvent("job:timeout", jobId, satelliteId, detail);
    } else if (end.reason === "stalled") {
      type.stalls++;
      this.emitEvent("job:stalled", jobId, satelliteId, detail);
    } else if (end.reason === "lost") {
      this.emitEvent("job:lost", jobId, satelliteId, detail);
    }
  }

  private scheduleRetry(slot: number, type: TypeRecord, nowMs: number, end: AttemptEnd): void {
    const jobs = this.jobs;
    const failedAttempt = jobs.attempt[slot];
    const delayMs = this.backoffMs(failedAttempt);
    jobs.attempt[slot] = failedAttempt + 1; // fences off results of the failed attempt
    jobs.state[slot] = State.retryWait;
    jobs.phaseAtMs[slot] = nowMs + delayMs;
    type.retries++;
    const jobId = jobs.ids[slot];
    this.emitEvent(
      "job:retry",
      jobId,
      undefined,
      `attempt ${failedAttempt + 1} in ${delayMs} ms after ${end.reason}`,
    );
    if (jobs.excludeMask[slot] !== 0) {
      type.reroutes++;
      this.emitEvent("job:rerouted", jobId, undefined, `avoiding ${this.excludedOf(slot).join(",")}`);
    }
    this.armTimer(slot, nowMs);
  }

  /**
   * Delay before retry n (n >= 1), ms: min(backoffMaxMs, backoffBaseMs * 2^(n-1)), of which the
   * fraction `jitter` is drawn at random: delay * (1 - jitter + jitter * rng()).
   */
  backoffMs(retry: number): number {
    const config = this.config;
    const exponential = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.min(30, retry - 1));
    const random = this.rng();
    assert(random >= 0 && random < 1, "rng returns a number in [0, 1)");
    return Math.round(exponential * (1 - config.jitter + config.jitter * random));
  }

  // ---- the end -------------------------------------------------------------------------------

  /** done, failed, cancelled, expired: exactly one `complete`, then the job is forgotten. */
  finish(slot: number, outcome: Outcome, nowMs: number, message: string | undefined): void {
    const jobs = this.jobs;
    const jobId = jobs.ids[slot];
    const attempt = jobs.attempt[slot];
    if (jobs.satellite[slot] !== NONE) {
      const record = this.satellites.unlink(jobs, slot);
      if (outcome !== "done")
        this.effects.push({ kind: "cancel-on-satellite", jobId, attempt, satelliteId: record.id });
      this.judgeSatellite(record, slot, false, nowMs);
    }
    if (jobs.timer[slot] !== NONE) {
      this.wheel.cancel(jobs.timer[slot]);
      jobs.timer[slot] = NONE;
    }
    const type = this.typeOf(slot);
    type.inFlight--;
    type[outcome]++;
    type.latency.record(nowMs - jobs.submittedAtMs[slot]);
    const complete: TrackerEffect = { kind: "complete", jobId, outcome, attempt };
    if (message !== undefined) complete.message = message;
    this.effects.push(complete);
    this.recent.remember(jobId, type.index, OUTCOME_STATES[outcome]);
    this.jobIndex.delete(jobId);
    jobs.release(slot);
  }

  // ---- timers --------------------------------------------------------------------------------

  dueMs(slot: number): number {
    return DUE_MS[this.jobs.state[slot] as StateCode](this, slot);
  }

  /**
   * Makes the job's one timer fire no later than its state's due time. A timer already due earlier
   * is kept (lazy: on firing, the due time is recomputed), so progress costs no timer work.
   */
  armTimer(slot: number, nowMs: number): void {
    const jobs = this.jobs;
    const dueMs = Math.max(nowMs, this.dueMs(slot));
    const existing = jobs.timer[slot];
    if (existing !== NONE) {
      if (this.wheel.dueMsOf(existing) <= dueMs) return;
      this.wheel.cancel(existing);
      jobs.timer[slot] = NONE;
    }
    if (dueMs !== Number.POSITIVE_INFINITY)
      jobs.timer[slot] = this.wheel.schedule(dueMs, slot, TimerKind.job);
  }

  // ---- satellites and breakers ---------------------------------------------------------------

  /** After an attempt left a satellite: count a failure against it, or free its probe. */
  private judgeSatellite(record: SatelliteRecord, slot: number, failed: boolean, nowMs: number): void {
    const wasProbe = record.probeSlot === slot;
    if (wasProbe) record.probeSlot = NONE;
    if (failed) {
      record.failuresConsecutive++;
      if (record.breaker === "half-open") this.setBreaker(record, "open", nowMs, "probe failed");
      else if (
        record.breaker === "closed" &&
        record.failuresConsecutive >= this.config.breakerFailuresThreshold
      ) {
        this.setBreaker(record, "open", nowMs, `${record.failuresConsecutive} consecutive failures`);
      }
    } else if (wasProbe && record.breaker === "half-open") {
      // The probe ended without a verdict (cancelled, expired, lost): another one may go.
      this.effects.push({ kind: "breaker", satelliteId: record.id, state: "half-open" });
    }
  }

  setBreaker(
    record: SatelliteRecord,
    state: "open" | "half-open" | "closed",
    nowMs: number,
    why: string,
  ): void {
    record.breaker = state;
    record.probeSlot = NONE;
    if (state === "open") {
      assert(record.timer === NONE, "an opening breaker has no cool-down running");
      record.timer = this.wheel.schedule(
        nowMs + this.config.breakerCooldownMs,
        record.index,
        TimerKind.satellite,
      );
    }
    if (state === "closed") record.failuresConsecutive = 0;
    this.effects.push({ kind: "breaker", satelliteId: record.id, state });
    this.emitEvent(`satellite:breaker-${state}`, undefined, record.id, why);
  }

  onBreakerCooldown(satelliteIndex: number, nowMs: number): void {
    const record = this.satellites.at(satelliteIndex);
    record.timer = NONE;
    assert(record.breaker === "open", "only an open breaker cools down");
    this.setBreaker(record, "half-open", nowMs, `cool-down of ${this.config.breakerCooldownMs} ms over`);
  }

  heartbeat(satelliteId: string, nowMs: number): void {
    const record = this.satellites.get(satelliteId);
    if (record !== undefined) record.lastHeartbeatMs = nowMs;
  }

  /** After a lost satellite's jobs were rerouted: forget it unless its breaker must outlive it. */
  forgetSatellite(record: SatelliteRecord): void {
    if (record.breaker === "closed") this.satellites.remove(record);
  }

  // ---- stats ---------------------------------------------------------------------------------

  stats(): TrackerStats {
    const types: Record<string, TypeStats> = {};
    for (const record of this.types.live()) types[record.name] = record.snapshot();
    return {
      types,
      jobsTracked: this.jobs.live,
      timersPending: this.wheel.size,
      satellitesTracked: this.satellites.size,
      ...this.counters,
    };
  }
}
