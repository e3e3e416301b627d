// The tracker's vocabulary: events in (what the orchestrator saw), effects out (what it must do),
// job states and stats. All are plain data; every union is discriminated on `kind`.

/** A new job. `candidates` are satellite ids in CRUSH order, each in another failure domain. */
export interface SubmitEvent {
  kind: "submit";
  jobId: string;
  type: string;
  /** Kept by reference and never mutated: the orchestrator may share one array between jobs. */
  candidates: readonly string[];
  /** Client deadline, absolute ms on the tracker's clock; the job expires then wherever it is. */
  deadlineAtMs?: number;
  attemptsMax?: number;
  runTimeoutMs?: number;
  /**
   * Waits for a satellite until its deadline, however long none is live (9/TSP's promise for
   * Titanic requests), instead of failing after placeTimeoutMs.
   */
  patient?: boolean;
  /**
   * Attempts an earlier orchestrator life already made (replayed from the journal). The job
   * resumes at attempt attemptsBefore + 1, so results of the old attempts are fenced off; they
   * count against attemptsMax, but a recovered job always gets at least one more attempt.
   */
  attemptsBefore?: number;
}

/** The orchestrator sent `attempt` to `satelliteId` (answer to a `place` effect). */
export interface DispatchedEvent {
  kind: "dispatched";
  jobId: string;
  attempt: number;
  satelliteId: string;
  /**
   * false: the satellite cannot report progress (a plain 7/MDP worker, silent while it works), so
   * the attempt has no stall timer; its run timeout and the deadline still apply. Default true.
   */
  reportsProgress?: boolean;
}

/** No candidate was live, breaker-closed and had room (answer to a `place` effect). */
export interface UnplaceableEvent {
  kind: "unplaceable";
  jobId: string;
  attempt: number;
}

/** A satellite's report about one attempt. */
export interface ResultEvent<K extends "ack" | "progress" | "succeeded"> {
  kind: K;
  jobId: string;
  attempt: number;
  satelliteId: string;
}

export interface FailedEvent {
  kind: "failed";
  jobId: string;
  attempt: number;
  satelliteId: string;
  /** false: the handler says retrying cannot help (bad input); the job fails at once. */
  retryable: boolean;
  message: string;
  /** The handler crashed (not a thrown error): counts toward poison like a lost satellite. */
  crashed?: boolean;
  /**
   * The attempt never reached the satellite (its connection was gone when the request was sent):
   * retried, but neither the satellite's breaker nor the job's poison count hears of it.
   */
  undelivered?: boolean;
}

export interface CancelEvent {
  kind: "cancel";
  jobId: string;
}

/** Heartbeats stopped or the satellite disconnected: every attempt on it is lost. */
export interface SatelliteLostEvent {
  kind: "satellite-lost";
  satelliteId: string;
  /**
   * The loss says nothing about the jobs (e.g. noticed right after the orchestrator's own loop
   * stalled): the attempts are retried but do not count toward poison.
   */
  blameless?: boolean;
}

export interface SatelliteHeartbeatEvent {
  kind: "satellite-heartbeat";
  satelliteId: string;
}

export type TrackerEvent =
  | SubmitEvent
  | DispatchedEvent
  | UnplaceableEvent
  | ResultEvent<"ack">
  | ResultEvent<"progress">
  | ResultEvent<"succeeded">
  | FailedEvent
  | CancelEvent
  | SatelliteLostEvent
  | SatelliteHeartbeatEvent;

export type TrackerEventKind = TrackerEvent["kind"];

/** Events about one job, plus the two the tracker makes itself: its timer fired, its satellite was lost. */
export type JobEvent =
  | DispatchedEvent
  | UnplaceableEvent
  | ResultEvent<"ack">
  | ResultEvent<"progress">
  | ResultEvent<"succeeded">
  | FailedEvent
  | CancelEvent
  | { kind: "timer"; jobId: string }
  | { kind: "satellite-lost"; jobId: string; satelliteId: string; blameless?: boolean };

export type JobEventKind = JobEvent["kind"];

export type Outcome = "done" | "failed" | "cancelled" | "expired";

export type BreakerState = "closed" | "open" | "half-open";

export type TrackerEventName =
  | "job:acked"
  | "job:retry"
  | "job:rerouted"
  | "job:timeout"
  | "job:stalled"
  | "job:lost"
  | "job:poison"
  | "job:unplaceable"
  | "job:late-result-dropped"
  | "satellite:breaker-open"
  | "satellite:breaker-half-open"
  | "satellite:breaker-closed"
  | "satellite:lost"
  | "tracker:illegal-transition"
  | "tracker:unknown-job"
  | "tracker:duplicate-job";

export type TrackerEffect =
  /** Send `attempt` to the first candidate not in `exclude`, not breaker-open, with room; answer
   * with `dispatched` or `unplaceable`. */
  | { kind: "place"; jobId: string; attempt: number; exclude: readonly string[] }
  /**
   * Abort that attempt on that satellite (its AbortSignal); no answer expected. `unacked`: it was
   * never acknowledged (an ack timeout): most likely it never arrived, so it holds no slot there.
   */
  | { kind: "cancel-on-satellite"; jobId: string; attempt: number; satelliteId: string; unacked?: true }
  /** Exactly once per submitted job: reply to the client and forget the job. */
  | { kind: "complete"; jobId: string; outcome: Outcome; attempt: number; message?: string }
  /** A satellite's breaker changed (or, half-open again: its probe ended without a verdict). */
  | { kind: "breaker"; satelliteId: string; state: BreakerState }
  /** For the events socket. */
  | { kind: "event"; name: TrackerEventName; jobId?: string; satelliteId?: string; detail?: string };

export type JobStateName =
  | "received"
  | "placed"
  | "sent"
  | "acked"
  | "running"
  | "retry-wait"
  | "done"
  | "failed"
  | "cancelled"
  | "expired";

export type LiveJobStateName = Exclude<JobStateName, Outcome>;

export interface TypeStats {
  received: number;
  inFlight: number;
  done: number;
  failed: number;
  cancelled: number;
  expired: number;
  /** Attempts that ended badly (failed, timed out, stalled, lost). */
  errors: number;
  retries: number;
  /** Retries sent away from the satellites that already failed the job. */
  reroutes: number;
  /** Ack and run timeouts (stalls are counted apart). */
  timeouts: number;
  stalls: number;
  poison: number;
  /** Results of earlier attempts (or of ended jobs), dropped. */
  lateResults: number;
  /** Submit to complete, any outcome, ms (bucket upper edge; about 6% resolution). */
  latencyMsP50: number;
  latencyMsP99: number;
  /** Jobs ended (any outcome) and the sum of their latencies, ms. */
  latencyCount: number;
  latencySumMs: number;
  /** Cumulative counts at each edge of LATENCY_BUCKETS_MS (at most ~6% early). */
  latencyBuckets: number[];
}

export interface TrackerStats {
  types: Record<string, TypeStats>;
  jobsTracked: number;
  timersPending: number;
  satellitesTracked: number;
  illegalTransitions: number;
  /** Events naming a job the tracker never had or has forgotten. */
  unknownJobEvents: number;
  duplicateSubmits: number;
  /** Cancels of jobs that had already ended. */
  cancelsTooLate: number;
  /** Calls whose nowMs went backwards (clamped to the latest seen). */
  clockRegressions: number;
}
