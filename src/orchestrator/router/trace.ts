// Job traces (docs/observability.md, "Traces"): a job that came with a W3C traceparent keeps a few
// times (Job.trace) and the router emits a `span` effect at each stage of its life; the shell turns
// those into OpenTelemetry spans (../tracing.ts). Pure like the rest of the router: no OpenTelemetry
// here, and no clock but the router's. An untraced job has `trace: null` and costs one check per
// stage.
import { type ErrorCodeName, isTraceparent } from "../../protocol/index.ts";
import type { Job, TraceMarks } from "../job.ts";
import type { SatelliteInfo } from "../registry.ts";
import { placementFor } from "./dispatch.ts";
import type { RouterState } from "./state.ts";
import type { SpanAttributes } from "./types.ts";

/** How an attempt ended, as the `dsat.attempt` span says. */
export type AttemptOutcome = "ok" | "failed" | "timeout" | "lost" | "cancelled";

/** A new job's marks, or null: no traceparent, or one that is not valid (dropped and counted). */
export function traceOf(r: RouterState, traceparent: unknown): TraceMarks | null {
  if (traceparent === undefined || traceparent === null) return null;
  if (!isTraceparent(traceparent)) {
    r.counters.tracesDropped++;
    return null;
  }
  return {
    traceparent,
    accepted: false,
    placeFrom: Number.NaN,
    sentAt: Number.NaN,
    satellite: "",
    attempt: 0,
    endedAt: Number.NaN,
  };
}

function span(
  r: RouterState,
  job: Job,
  trace: TraceMarks,
  name: string,
  startMs: number,
  endMs: number,
  attributes: SpanAttributes,
): void {
  attributes["dsat.job.id"] = job.id;
  attributes["dsat.job.type"] = job.type;
  r.effects.push({ kind: "span", traceparent: trace.traceparent, name, startMs, endMs, attributes });
}

/** A step is handed to the tracker: `dsat.accept` for the job's first, and its placing begins. */
export function traceHandedOver(r: RouterState, job: Job, trace: TraceMarks, now: number): void {
  if (!trace.accepted) {
    trace.accepted = true;
    span(r, job, trace, "dsat.accept", job.receivedAt, now, {});
  }
  trace.placeFrom = now;
}

/** An attempt goes to a satellite: `dsat.place` from the hand-over (or the last attempt's end). */
export function traceSent(
  r: RouterState,
  job: Job,
  trace: TraceMarks,
  satellite: SatelliteInfo,
  now: number,
): void {
  if (!Number.isNaN(trace.sentAt)) traceAttemptEnd(r, job, trace, "lost", now);
  const candidates = placementFor(r, job.type)?.candidates(job.x, job.key !== undefined).length ?? 0;
  span(r, job, trace, "dsat.place", Number.isNaN(trace.placeFrom) ? now : trace.placeFrom, now, {
    "dsat.satellite": satellite.id,
    "dsat.attempt": job.attempt,
    "dsat.candidates": candidates,
  });
  trace.sentAt = now;
  trace.satellite = satellite.id;
  trace.attempt = job.attempt;
}

/** The open attempt ended: `dsat.attempt`; a retry's placing begins here. */
export function traceAttemptEnd(
  r: RouterState,
  job: Job,
  trace: TraceMarks,
  outcome: AttemptOutcome,
  now: number,
): void {
  if (Number.isNaN(trace.sentAt)) return;
  span(r, job, trace, "dsat.attempt", trace.sentAt, now, {
    "dsat.satellite": trace.satellite,
    "dsat.attempt": trace.attempt,
    "dsat.outcome": outcome,
  });
  trace.sentAt = Number.NaN;
  trace.placeFrom = now;
}

/** The tracker ended the open attempt itself (job:timeout, job:stalled, job:lost). */
export function traceTrackerEvent(
  r: RouterState,
  job: Job,
  trace: TraceMarks,
  name: string,
  now: number,
): void {
  if (name === "job:timeout" || name === "job:stalled") traceAttemptEnd(r, job, trace, "timeout", now);
  else if (name === "job:lost") traceAttemptEnd(r, job, trace, "lost", now);
}

/** The job ended (finish): an attempt still open ends with it; the reply's wait starts. */
export function traceEnded(r: RouterState, job: Job, trace: TraceMarks, status: string, now: number): void {
  if (!Number.isNaN(trace.sentAt))
    traceAttemptEnd(r, job, trace, status === "DSAT_ERR_CANCELLED" ? "cancelled" : "timeout", now);
  trace.endedAt = now;
}

/** The reply is handed to the outbox: `dsat.result`, the job's last span. */
export function traceDelivered(
  r: RouterState,
  job: Job,
  trace: TraceMarks,
  status: "ok" | ErrorCodeName,
): void {
  const now = r.now;
  span(r, job, trace, "dsat.result", Number.isNaN(trace.endedAt) ? now : trace.endedAt, now, {
    "dsat.status": status,
  });
  job.trace = null;
}
