// Control commands over the router's state: job listings (`dsat jobs`), retry, status.
import { finishedState, type Job, type JobSummary } from "../job.ts";
import { JOBS_PAGE_DEFAULT, type JobsPage, jobsPage } from "../jobs-page.ts";
import type { SatelliteInfo } from "../registry.ts";
import type { ResolvedTypeConfig } from "../type-config.ts";
import { finishedJob, hold, jobFromRecord, submitStep } from "./clients.ts";
import { acceptedRecord } from "./commit.ts";
import { heldInputs } from "./locality.ts";
import { scoreView } from "./scores.ts";
import type { RouterState } from "./state.ts";
import type { RouterStatus } from "./types.ts";

/**
 * `dsat jobs`: live jobs (with the tracker's state) and finished ones kept by the journal, newest
 * first, filtered by `state` (a tracker state, "live", "finished", or an outcome) and `id`; one
 * page of them (src/orchestrator/jobs-page.ts), `total` counting every match.
 */
export function listJobs(
  r: RouterState,
  request: { state?: unknown; id?: unknown },
  page: JobsPage = { limit: JOBS_PAGE_DEFAULT, after: null },
): { jobs: JobSummary[]; total: number; next: string | null } {
  const state = typeof request.state === "string" ? request.state : undefined;
  const id = typeof request.id === "string" ? request.id : undefined;
  const recovering = new Set(r.recovering ?? []);
  const all: JobSummary[] = [];
  const consider = (summary: JobSummary) => {
    if (id !== undefined && summary.id !== id) return;
    if (state !== undefined && state !== summary.state && state !== summary.phase) return;
    all.push(summary);
  };
  for (const job of r.jobs.values()) {
    const tracked = job.tracked ? r.tracker.jobInfo(job.trackerId) : undefined;
    consider({
      id: job.id,
      type: job.type,
      key: job.key ?? null,
      phase: "live",
      state: tracked?.state ?? (recovering.has(job) ? "recovering" : "accepted"),
      step: job.step,
      attempt: tracked?.attempt ?? job.attempt,
      satellite: job.satellite?.id ?? null,
      receivedAt: job.receivedAt,
      completedAt: null,
      message: null,
    });
  }
  for (const record of r.finished.values()) {
    consider({
      id: record.id,
      type: record.firstType,
      key: record.key,
      phase: "finished",
      state: finishedState(record.status),
      step: null,
      attempt: record.attempts,
      satellite: null,
      receivedAt: record.receivedAt,
      completedAt: record.completedAt,
      message: record.status === "ok" ? null : `${record.status}: ${record.message}`,
    });
  }
  return jobsPage(all, page);
}

/**
 * `dsat retry ID`: runs a failed (dead-lettered) job again from the step that failed, with that
 * step's input. Its result is published on the events socket as `result.<type>` (the original
 * client may be long gone); a client resubmitting the id meanwhile is attached to it.
 */
export function retry(r: RouterState, id: string): { ok: boolean; id?: string; error?: string } {
  if (r.jobs.has(id)) return { ok: false, error: `job "${id}" is still running` };
  const record = finishedJob(r, id);
  if (record === undefined)
    return { ok: false, error: `no finished job "${id}" is kept (retention passed?)` };
  if (record.status === "ok") return { ok: false, error: `job "${id}" succeeded; nothing to retry` };
  if (record.payload === null || record.steps.length === 0)
    return { ok: false, error: `job "${id}" kept no payload to run again` };
  if (r.typeConfig(record.steps[0]) === undefined)
    return { ok: false, error: `job type "${record.steps[0]}" is not served any more` };
  // Like any new job: refused while the journal cannot make it durable (try again later).
  if (r.journalError !== null)
    return { ok: false, error: `the journal failed: ${r.journalError}; retry once it is back` };
  r.forget(id);
  const now = r.now;
  const typeConfig = r.typeConfig(record.steps[0]) as ResolvedTypeConfig;
  // Placed near its data again (a map changed since only moves its locality, as on a replay).
  const inputs = heldInputs(r, record.inputs);
  const job: Job = {
    ...jobFromRecord(r, record, { kind: "publish" }),
    type: record.steps[0],
    steps: record.steps.slice(1),
    deadlineAt: now + typeConfig.timeoutMs,
    receivedAt: now,
    inputs: typeof inputs === "string" ? null : inputs,
  };
  hold(r, job);
  r.publishEvent("job.retried", { id, type: job.type });
  if (!r.durable) submitStep(r, job, now);
  else {
    job.journalSeq = r.append(acceptedRecord(r, job));
    r.awaitingCommit.push(job); // append() asked for the commit
  }
  return { ok: true, id };
}

/** A snapshot for `dsat status` and tests (the shell adds what only it knows: files, sockets). */
export function status(r: RouterState): RouterStatus {
  const queuedOn = new Map<SatelliteInfo, number>();
  let queued = 0;
  for (const satellite of r.registry.all()) {
    // A queue keeps entries of jobs that left it (cancelled, expired, placed elsewhere) until it is
    // next worked through: count the jobs still waiting there.
    let count = 0;
    for (let i = satellite.queueHead; i < satellite.queue.length; i++)
      if (r.trackedJob(satellite.queue[i])?.queuedOn === satellite) count++;
    queuedOn.set(satellite, count);
    queued += count;
  }
  const trackerStats = r.tracker.stats();
  const spill = r.spill;
  return {
    jobs: { inFlight: r.jobs.size, waiting: queued },
    satellites: [...r.registry.all()].map((satellite) => ({
      id: satellite.id,
      types: [...satellite.types],
      location: satellite.location.map(([level, name]) => `${level}=${name}`).join(","),
      capacity: satellite.capacity,
      weight: satellite.weight,
      heartbeatMs: satellite.heartbeatMs,
      inFlight: satellite.inFlight,
      queued: queuedOn.get(satellite) ?? 0,
      done: satellite.done,
      failed: satellite.failed,
      draining: satellite.draining || satellite.drained,
      drained: satellite.drained,
      ...scoreView(r, satellite),
      protocol: satellite.dsat ? "dsat/1" : "MDP/0.1",
    })),
    stats: Object.fromEntries(
      Object.entries(trackerStats.types).map(([type, stats]) => [type, { ...stats }]),
    ),
    tracker: {
      jobsTracked: trackerStats.jobsTracked,
      timersPending: trackerStats.timersPending,
      illegalTransitions: trackerStats.illegalTransitions,
      unknownJobEvents: trackerStats.unknownJobEvents,
      breakersOpen: r.tracker.breakersOpen(),
    },
    journal: !r.durable
      ? null
      : {
          finishedKept: r.finished.size,
          recovered: r.counters.recovered,
          ...(r.journalError !== null
            ? { error: r.journalError, failedForMs: r.now - r.journalFailedAt }
            : {}),
        },
    waiting: { jobs: spill.size(), bytes: spill.bytes, where: spill.dir },
    heldBytes: r.heldBytes,
    diskSpill:
      spill.kind !== "disk"
        ? null
        : {
            dir: spill.dir,
            jobs: spill.size(),
            bytes: spill.bytes,
            fileBytes: spill.fileBytes,
            peakJobs: spill.peakJobs,
            spilledTotal: spill.spilledTotal,
          },
    counters: structuredClone(r.counters),
    typesKnown: r.config.types.size,
    devicesInUse: r.registry.devicesInUse,
  };
}
