// Jobs: what the orchestrator holds and queues, the tracker's totals and latency per type, and the
// job events counted by the listener.
import { counter, gauge, type MetricDefinition } from "./definition.ts";
import { num } from "./scrape-view.ts";

const OUTCOMES = ["done", "failed", "cancelled", "expired"] as const;
const QUANTILES: ReadonlyArray<[label: string, field: "latencyMsP50" | "latencyMsP99"]> = [
  ["0.5", "latencyMsP50"],
  ["0.99", "latencyMsP99"],
];

export const JOB_METRICS: readonly MetricDefinition[] = [
  gauge(
    "dsat_jobs_in_flight",
    "Jobs the orchestrator holds (accepted, not yet answered).",
    [],
    (view, emit) => emit({}, num(view.status.jobs.inFlight)),
  ),
  gauge("dsat_jobs_queued", "Jobs queued behind their satellites, waiting for a slot.", [], (view, emit) =>
    emit({}, num(view.status.jobs.waiting)),
  ),
  gauge(
    "dsat_waiting_room_jobs",
    "Jobs in the waiting room (all candidates busy): in memory, or in the disk spill.",
    ["storage"],
    (view, emit) => emit({ storage: storageOf(view.status) }, num(view.status.waiting.jobs)),
  ),
  gauge("dsat_waiting_room_bytes", "Payload bytes in the waiting room.", ["storage"], (view, emit) =>
    emit({ storage: storageOf(view.status) }, num(view.status.waiting.bytes)),
  ),
  gauge("dsat_held_payload_bytes", "Payload bytes of every job the orchestrator holds.", [], (view, emit) =>
    emit({}, num(view.status.held.bytes)),
  ),
  gauge(
    "dsat_unread_reply_bytes",
    "Reply bytes held for clients and satellites that are not reading.",
    [],
    (view, emit) => emit({}, num(view.status.held.unreadReplyBytes)),
  ),
  counter(
    "dsat_jobs_received_total",
    "Jobs (pipeline steps) submitted to the tracker, by type.",
    ["type"],
    (view, emit) => {
      for (const [type, stats] of Object.entries(view.status.stats)) emit({ type }, num(stats.received));
    },
  ),
  counter(
    "dsat_jobs_finished_total",
    "Jobs (pipeline steps) ended, by type and outcome: done, failed, cancelled, expired.",
    ["type", "outcome"],
    (view, emit) => {
      for (const [type, stats] of Object.entries(view.status.stats))
        for (const outcome of OUTCOMES) emit({ type, outcome }, num(stats[outcome]));
    },
  ),
  gauge("dsat_jobs_in_flight_by_type", "Jobs the tracker follows, by type.", ["type"], (view, emit) => {
    for (const [type, stats] of Object.entries(view.status.stats)) emit({ type }, num(stats.inFlight));
  }),
  counter(
    "dsat_job_attempt_errors_total",
    "Attempts that ended badly (failed, timed out, stalled, lost), by type.",
    ["type"],
    (view, emit) => {
      for (const [type, stats] of Object.entries(view.status.stats)) emit({ type }, num(stats.errors));
    },
  ),
  gauge(
    "dsat_job_latency_quantile_seconds",
    "Submit-to-end latency quantiles by type, from the tracker's histogram (bucket upper edge, ~6%); all outcomes, since the start.",
    ["type", "quantile"],
    (view, emit) => {
      for (const [type, stats] of Object.entries(view.status.stats))
        for (const [quantile, field] of QUANTILES) {
          const ms = num(stats[field]);
          emit({ type, quantile }, ms === null ? null : ms / 1000);
        }
    },
  ),
  counter(
    "dsat_job_events_total",
    'Job events published, by event (acked, retry, rerouted, timeout, stalled, lost, poison, unplaceable, late-result-dropped, progress, step, retried) and type ("" when the orchestrator no longer held the job).',
    ["event", "type"],
    (view, emit) => {
      for (const { event, type, count } of view.events.jobEvents.values()) emit({ event, type }, count);
    },
  ),
  counter(
    "dsat_results_total",
    "Results of published jobs (intake, dsat retry), by first type and status (ok or an error code).",
    ["type", "status"],
    (view, emit) => {
      for (const { type, status, count } of view.events.results.values()) emit({ type, status }, count);
    },
  ),
  counter(
    "dsat_events_total",
    'Every event the orchestrator published, by topic without its job type ("other": outside the catalogue).',
    ["topic"],
    (view, emit) => {
      for (const [topic, count] of view.events.byTopic) emit({ topic }, count);
    },
  ),
];

function storageOf(status: { diskSpill: unknown }): string {
  return status.diskSpill === null ? "memory" : "disk";
}
