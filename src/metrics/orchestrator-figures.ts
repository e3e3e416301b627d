// The orchestrator's own figures: tracker, registry, the counters `dsat status` shows, the journal
// and the disk spill (these two only when configured, so an orchestrator without them shows no
// zeros that look like an empty journal).
import { counter, type Emit, gauge, type MetricDefinition } from "./definition.ts";
import { num } from "./scrape-view.ts";

const JOURNAL_OPERATIONS = ["records", "commits", "compactions", "failures", "probes", "resumed"] as const;

export const ORCHESTRATOR_METRICS: readonly MetricDefinition[] = [
  gauge("dsat_tracker_jobs_tracked", "Jobs the tracker follows (all types).", [], (view, emit) =>
    emit({}, num(view.status.tracker.jobsTracked)),
  ),
  gauge("dsat_tracker_timers_pending", "Timers armed in the tracker's wheel.", [], (view, emit) =>
    emit({}, num(view.status.tracker.timersPending)),
  ),
  counter(
    "dsat_tracker_illegal_transitions_total",
    "Events the tracker refused for the job's state.",
    [],
    (view, emit) => emit({}, num(view.status.tracker.illegalTransitions)),
  ),
  counter(
    "dsat_tracker_unknown_job_events_total",
    "Events naming a job the tracker never had or has forgotten.",
    [],
    (view, emit) => emit({}, num(view.status.tracker.unknownJobEvents)),
  ),
  gauge("dsat_job_types_known", "Job types known: declared, and learnt from satellites.", [], (view, emit) =>
    emit({}, num(view.status.typesKnown)),
  ),
  gauge(
    "dsat_crush_devices_in_use",
    "CRUSH device ids in use: live satellites and those within their grace window.",
    [],
    (view, emit) => emit({}, num(view.status.devicesInUse)),
  ),
  counter(
    "dsat_orchestrator_counter_total",
    'The orchestrator\'s counters as `dsat status` shows them, by name (a dotted path: "satellitesLost", "malformed.frontend", "security.refused").',
    ["name"],
    (view, emit) => emitLeaves(view.status.counters, "", emit),
  ),
];

/** Registered only when the orchestrator has a journal (config.journal). */
export const JOURNAL_METRICS: readonly MetricDefinition[] = [
  gauge("dsat_journal_size_bytes", "Bytes of the journal's segment files.", [], (view, emit) =>
    emit({}, num(view.status.journal?.sizeBytes)),
  ),
  gauge("dsat_journal_committed_seq", "The last journal record known to be on disk.", [], (view, emit) =>
    emit({}, num(view.status.journal?.committedSeq)),
  ),
  gauge(
    "dsat_journal_commit_lag_records",
    "Journal records appended but not yet committed (on disk, or on a majority when replicated).",
    [],
    (view, emit) => {
      const journal = view.status.journal;
      if (journal !== null && typeof journal.appendedSeq === "number")
        emit({}, Math.max(0, journal.appendedSeq - journal.committedSeq));
    },
  ),
  gauge(
    "dsat_journal_finished_kept",
    "Finished jobs the journal keeps for resubmissions and dsat jobs.",
    [],
    (view, emit) => emit({}, num(view.status.journal?.finishedKept)),
  ),
  gauge(
    "dsat_journal_failed",
    "1 while the journal cannot make records durable (new jobs are refused), else 0.",
    [],
    (view, emit) => {
      const journal = view.status.journal;
      if (journal !== null) emit({}, typeof journal.error === "string" ? 1 : 0);
    },
  ),
  counter(
    "dsat_journal_operations_total",
    "Journal work by operation: records appended, group commits, compactions, failures, probes, resumed.",
    ["operation"],
    (view, emit) => {
      const journal = view.status.journal as Record<string, unknown> | null;
      if (journal !== null)
        for (const operation of JOURNAL_OPERATIONS) emit({ operation }, num(journal[operation]));
    },
  ),
];

/** Registered only when the orchestrator spills to disk (config.diskSpill). */
export const DISK_SPILL_METRICS: readonly MetricDefinition[] = [
  gauge("dsat_disk_spill_file_bytes", "Bytes of the disk spill's files.", [], (view, emit) =>
    emit({}, num(view.status.diskSpill?.fileBytes)),
  ),
  gauge("dsat_disk_spill_peak_jobs", "The most jobs the disk spill held at once.", [], (view, emit) =>
    emit({}, num(view.status.diskSpill?.peakJobs)),
  ),
  counter("dsat_disk_spill_spilled_total", "Jobs that went through the disk spill.", [], (view, emit) =>
    emit({}, num(view.status.diskSpill?.spilledTotal)),
  ),
];

/** Every number in a nested counters object, under its dotted path. */
function emitLeaves(value: unknown, path: string, emit: Emit): void {
  if (typeof value === "number") emit({ name: path }, num(value));
  else if (typeof value === "object" && value !== null)
    for (const [key, inner] of Object.entries(value))
      emitLeaves(inner, path === "" ? key : `${path}.${key}`, emit);
}
