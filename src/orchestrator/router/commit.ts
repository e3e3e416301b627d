// The journal's side of the router: recovery after a restart, and the commit gate (a job runs,
// and a reply leaves, only once its record is on disk: docs/journal.md).
import { hashKey } from "../../crush/core.ts";
import type { JournalRecord, UnfinishedJob } from "../../journal/core.ts";
import { ErrorCode } from "../../protocol/index.ts";
import {
  bytesOf,
  type Job,
  type Origin,
  originFromJournal,
  originToJournal,
  ownerFromJournal,
  sameOrigin,
} from "../job.ts";
import { satellitesBack } from "../recovery.ts";
import { hold, submitStep } from "./clients.ts";
import { heldInputs } from "./locality.ts";
import { replayDecisions } from "./operator.ts";
import { deliver } from "./outcomes.ts";
import { replyTitanicAccepted } from "./services.ts";
import type { RouterState } from "./state.ts";
import type { RouterEvent } from "./types.ts";
import { spilledPayload } from "./waiting.ts";

/**
 * The journal replayed by the shell: finished jobs answer resubmissions, unfinished ones run
 * again once their satellites are back (the window opens at `bound`).
 */
export function recover(
  r: RouterState,
  {
    unfinished,
    finished,
    appendedSeq,
    records,
    badRecords,
    operator,
  }: Extract<RouterEvent, { kind: "recovered" }>,
): void {
  r.appendedSeq = appendedSeq;
  r.committedSeq = appendedSeq;
  // Drains, locks and live settings first: the replayed jobs are placed under them.
  if (operator !== undefined && operator.length > 0) replayDecisions(r, operator);
  for (const [id, record] of finished) r.finished.set(id, record);
  const jobs: Job[] = [];
  for (const entry of unfinished) {
    const job = jobFromJournal(r, entry);
    if (r.jobs.has(job.id)) continue;
    hold(r, job);
    jobs.push(job);
  }
  r.counters.recovered = jobs.length;
  r.log(
    `orchestrator: journal ${r.config.journal?.dir}: ${records} records, ${jobs.length} unfinished jobs to run again, ${r.finished.size} finished kept` +
      (badRecords > 0 ? `, ${badRecords} unreadable records skipped` : ""),
  );
  // A journal with a past (not a new one) means a restart: satellites and clients come back.
  if (records > 0) {
    r.recovering = jobs;
    r.replayedWaiting = new Set(jobs);
  }
}

/** The sockets are bound: the recovery window opens now that satellites can reach us. */
export function onBound(r: RouterState): void {
  if (r.recovering !== null) r.recoveryStartedAt = r.now;
}

export function jobFromJournal(r: RouterState, { accepted, attempts }: UnfinishedJob): Job {
  // Inputs the router took once are taken again (a changed map only moves their locality).
  const inputs = heldInputs(r, accepted.inputs);
  return {
    id: accepted.id,
    type: accepted.type,
    firstType: accepted.firstType,
    x: hashKey(accepted.key ?? accepted.id) | 0,
    key: accepted.key ?? undefined,
    owner: ownerFromJournal(accepted.origin),
    origin: originFromJournal(accepted.origin),
    waiters: null,
    journalSeq: 0,
    attemptsBefore: attempts,
    payload: accepted.payload,
    heldBytes: bytesOf(accepted.payload),
    raw: accepted.raw,
    trackerId: accepted.id,
    tracked: false,
    step: accepted.step,
    attempt: 0,
    satellite: null,
    queuedOn: null,
    spilled: null,
    deadlineAt: accepted.deadlineAt,
    receivedAt: accepted.receivedAt,
    steps: accepted.steps,
    result: null,
    placementFailure: null,
    errorCode: null,
    cancelRequested: false,
    // Declared here, not added later: a field added after creation costs the job a property store.
    chargedTo: undefined,
    arrival: 0,
    // Trace context is not journaled: a replayed job runs untraced.
    trace: null,
    inputs: typeof inputs === "string" ? null : inputs,
  };
}

/**
 * Places the held jobs whose type's satellites are back; once recoveryMs has passed since the
 * window opened, all of them (the tracker then handles a type nobody serves), and it closes.
 */
export function placeRecovered(r: RouterState): void {
  const held = r.recovering;
  if (held === null) return;
  const now = r.now;
  const over = now - r.recoveryStartedAt >= (r.config.journal?.recoveryMs ?? 0);
  const back = new Map<string, boolean>();
  const placing: Job[] = [];
  const still: Job[] = [];
  for (const job of held) {
    if (r.jobs.get(job.id) !== job) {
      r.replayedWaiting.delete(job);
      continue;
    }
    let go = back.get(job.type);
    if (go === undefined) back.set(job.type, (go = over || typeBack(r, job.type, now)));
    (go ? placing : still).push(job);
  }
  r.recovering = over ? null : still;
  const replayedBefore = r.replayedWaiting.size;
  for (const job of placing) {
    r.replayedWaiting.delete(job);
    submitStep(r, job, now);
  }
  if (over) r.replayedWaiting.clear();
  if (replayedBefore > 0 && r.replayedWaiting.size === 0) {
    const afterMs = now - r.recoveryStartedAt;
    r.log(
      `orchestrator: ${r.counters.recovered} replayed jobs placed ${afterMs} ms after binding` +
        (over ? " (recoveryMs passed)" : " (their satellites are back)"),
    );
    r.publishEvent("journal.recovered", { jobs: r.counters.recovered, afterMs });
  }
}

/** During the recovery window: whether jobs of `type` can be placed (recovery.ts). */
export function typeBack(r: RouterState, type: string, now: number): boolean {
  return satellitesBack(r.registry.serving(type), now);
}

/** Records up to `committedSeq` are on disk: the jobs and replies that waited for them go. */
export function onCommitted(r: RouterState, committedSeq: number): void {
  r.commitRequested = false;
  if (committedSeq > r.committedSeq) r.committedSeq = committedSeq;
  const committed = r.committedSeq;
  const now = r.now;
  let accepted = 0;
  while (accepted < r.awaitingCommit.length && r.awaitingCommit[accepted].journalSeq <= committed) accepted++;
  if (accepted > 0) {
    const jobs = r.awaitingCommit.slice(0, accepted);
    r.awaitingCommit = r.awaitingCommit.slice(accepted);
    for (const job of jobs) {
      if (r.jobs.get(job.id) !== job) continue;
      if (job.origin.kind === "titanic") replyTitanicAccepted(r, job.id);
      // New jobs are held during recovery only while their type's satellites are not back.
      if (r.recovering === null || job.step > 0 || typeBack(r, job.type, now)) submitStep(r, job, now);
      else r.recovering.push(job);
    }
  }
  let replies = 0;
  while (replies < r.repliesAwaitingCommit.length && r.repliesAwaitingCommit[replies].seq <= committed)
    replies++;
  if (replies > 0) {
    const ready = r.repliesAwaitingCommit.slice(0, replies);
    r.repliesAwaitingCommit = r.repliesAwaitingCommit.slice(replies);
    for (const reply of ready) deliver(r, reply.job, reply.status, reply.message, reply.result);
  }
  // Records appended while this commit ran asked for none (one at a time): ask now.
  if (r.appendedSeq > r.committedSeq) r.requestCommit();
}

/**
 * A request naming a job whose completed record is not on disk yet gets the job's own reply,
 * when the commit lands: answering it from the record at once could hand out a result a crash
 * takes back, and the job would run again after its answer. False when no such reply waits.
 */
export function attachToUnwrittenReply(r: RouterState, origin: Origin, id: string): boolean {
  const pending = r.repliesAwaitingCommit.find((reply) => reply.job.id === id);
  if (pending === undefined) return false;
  const job = pending.job;
  if (!sameOrigin(job.origin, origin) && !(job.waiters ?? []).some((other) => sameOrigin(other, origin)))
    (job.waiters ??= []).push(origin);
  return true;
}

/**
 * A failed disk write: new durable jobs are refused (retryable) until the shell's probe() lands.
 * What waits for the disk keeps waiting: the journal holds those records in memory, in order,
 * and writes them when the disk comes back, so a job is never answered before its completed
 * record is on disk (docs/journal.md, "Write failures and probe()").
 */
export function onJournalFailed(r: RouterState, error: string, notLeader = false): void {
  r.commitRequested = false;
  if (notLeader) r.journalRefusal = ErrorCode.notLeader;
  if (r.journalError !== null) {
    r.journalError = error;
    return;
  }
  r.journalError = error;
  r.journalFailedAt = r.now;
  r.log(`orchestrator: journal write failed, refusing new jobs until the disk is back: ${error}`);
  r.publishEvent("journal.failed", { error });
}

/** The shell's probe() wrote every kept record: accept again, release what waited. */
export function onJournalResumed(r: RouterState, committedSeq: number, downMs: number): void {
  if (r.journalError === null) return;
  r.journalError = null;
  r.log(`orchestrator: journal writable again after ${downMs} ms, accepting jobs`);
  r.publishEvent("journal.resumed", { downMs });
  onCommitted(r, committedSeq);
}

/**
 * What a compaction keeps: finished jobs within retention, then live jobs as their current step
 * accepted (and its attempt).
 */
export function* liveRecords(r: RouterState): Iterable<JournalRecord> {
  yield* r.operatorDecisions.values();
  yield* r.finished.values();
  for (const job of r.jobs.values()) {
    // A spilled job's payload is on disk, not in the job.
    yield acceptedRecord(r, job.spilled === null ? job : { ...job, payload: spilledPayload(r, job) });
    const attempts = Math.max(job.attempt, job.attemptsBefore);
    if (attempts > 0) {
      const satelliteId = job.satellite?.id ?? "";
      yield { k: "dispatched", id: job.id, step: job.step, attempt: attempts, satelliteId };
    }
  }
}

export function acceptedRecord(_r: RouterState, job: Job): JournalRecord {
  return {
    k: "accepted",
    id: job.id,
    type: job.type,
    firstType: job.firstType,
    step: job.step,
    steps: job.steps,
    key: job.key ?? null,
    payload: job.payload,
    raw: job.raw,
    deadlineAt: job.deadlineAt,
    receivedAt: job.receivedAt,
    origin: originToJournal(job.origin, job.owner),
    ...(job.inputs !== null ? { inputs: job.inputs.bytes } : {}),
  };
}
