// The tracker's effects performed (place, cancel, breaker, events, complete) and each job's end:
// its next pipeline step, or its one reply (kept in the journal first when durable).
import type { CompletedRecord } from "../../journal/core.ts";
import {
  ErrorCode,
  type ErrorCodeName,
  jobAddress,
  WorkerCommand,
  workerCommandFrames,
} from "../../protocol/index.ts";
import type { Outcome, TrackerEffect } from "../../tracker/index.ts";
import { type Job, NULL_PAYLOAD, originToJournal, singleFrame } from "../job.ts";
import { release, submitStep } from "./clients.ts";
import { acceptedRecord } from "./commit.ts";
import { place, pumpQueue, releaseSlot, updatePlaceable } from "./dispatch.ts";
import { trackerTopic } from "./events.ts";
import { findRunning, requeueQueued } from "./satellites.ts";
import { wireAttempt } from "./shared.ts";
import type { RouterState } from "./state.ts";
import { traceDelivered, traceEnded, traceTrackerEvent } from "./trace.ts";
import { unspill } from "./waiting.ts";

/** Performs the tracker's effects until it has none left (effects may step it again). */
export function runEffects(r: RouterState, now: number): void {
  for (let rounds = 0; rounds < 1000; rounds++) {
    const effects = r.tracker.takeEffects();
    if (effects.length === 0) return;
    for (const effect of effects) perform(r, effect, now);
  }
}

export function perform(r: RouterState, effect: TrackerEffect, now: number): void {
  switch (effect.kind) {
    case "place": {
      const job = r.trackedJob(effect.jobId);
      // A job cancelled before the tracker had it is cancelled right after its submit: not placed.
      if (job !== undefined && !job.cancelRequested) place(r, job, effect.attempt, effect.exclude, now);
      return;
    }
    case "cancel-on-satellite": {
      const satellite = r.registry.byId(effect.satelliteId);
      // Never acknowledged: it most likely never arrived (lost with a connection), so it must not
      // hold the satellite's slot; if it did arrive, its late result is dropped as late.
      if (effect.unacked === true && satellite !== undefined)
        releaseSlot(r, satellite, findRunning(r, satellite, effect.jobId, effect.attempt), now);
      if (satellite?.dsat) {
        r.sendFrames([
          satellite.routingId,
          ...workerCommandFrames(
            WorkerCommand.cancel,
            jobAddress(effect.jobId, wireAttempt(r, effect.attempt)),
          ),
        ]);
      }
      return;
    }
    case "complete": {
      const job = r.trackedJob(effect.jobId);
      if (job !== undefined) onStepComplete(r, job, effect.outcome, effect.message ?? "", now);
      return;
    }
    case "breaker": {
      // Published by the tracker's satellite:breaker-* event (with the reason), not here.
      const satellite = r.registry.byId(effect.satelliteId);
      if (satellite !== undefined) {
        updatePlaceable(r, satellite);
        if (effect.state === "open") requeueQueued(r, satellite, now);
        else pumpQueue(r, satellite, now); // placeable again: the disk spill may drain to it
      }
      return;
    }
    case "event": {
      // loseSatellite published satellite.lost already, with its reason.
      if (effect.name === "satellite:lost") return;
      // An attempt timed out or stalled there: the jobs queued behind it would wait for a slot
      // it may never free, so they are placed again (on another candidate when one has room).
      if (
        (effect.name === "job:stalled" || effect.name === "job:timeout") &&
        effect.satelliteId !== undefined
      ) {
        // An ack timeout freed its slot already (unacked cancel): the queue moves on by itself.
        const stuck = r.registry.byId(effect.satelliteId);
        const timedOut = effect.jobId === undefined ? undefined : r.trackedJob(effect.jobId);
        if (
          stuck !== undefined &&
          stuck.queue.length > stuck.queueHead &&
          timedOut !== undefined &&
          stuck.running.has(timedOut)
        )
          requeueQueued(r, stuck, now);
      }
      const job = effect.jobId === undefined ? undefined : r.trackedJob(effect.jobId);
      if (job?.trace != null) traceTrackerEvent(r, job, job.trace, effect.name, now);
      // Built field by field (same keys, same order as spreads would give): one per job.
      const fields: { id?: string; satellite?: string; detail?: string } = {};
      if (job !== undefined) fields.id = job.id;
      else if (effect.jobId !== undefined) fields.id = effect.jobId;
      if (effect.satelliteId !== undefined) fields.satellite = effect.satelliteId;
      if (effect.detail !== undefined) fields.detail = effect.detail;
      r.publishEvent(trackerTopic(effect.name, job?.type), fields);
      return;
    }
  }
}

/** The tracker ended a step: next pipeline step, or the job's one reply. */
export function onStepComplete(
  r: RouterState,
  job: Job,
  outcome: Outcome,
  message: string,
  now: number,
): void {
  job.tracked = false;
  if (job.queuedOn !== null) job.queuedOn = null;
  // Ended while on the disk spill (cancelled, expired): its payload comes back, its entry goes.
  if (job.spilled !== null) unspill(r, job);
  if (outcome === "done") {
    const result = job.result ?? [NULL_PAYLOAD];
    const next = job.steps.length === 0 ? undefined : job.steps.shift();
    if (next === undefined) {
      finish(r, job, "ok", "", result);
      return;
    }
    // Pipeline: the result becomes the next step's payload.
    job.payload = job.raw ? result : [singleFrame(result)];
    job.type = next;
    job.step++;
    r.publishEvent(`job.step.${next}`, { id: job.id, step: next });
    // Not waited for: if it is lost, a replay runs the previous step again (at-least-once).
    if (r.durable) r.append(acceptedRecord(r, job));
    submitStep(r, job, now);
    return;
  }
  if (outcome === "cancelled") finish(r, job, ErrorCode.cancelled, message || "cancelled");
  else if (outcome === "expired") finish(r, job, ErrorCode.timeout, message || "the deadline passed");
  else finish(r, job, failureCode(r, job), message);
}

export function failureCode(_r: RouterState, job: Job): ErrorCodeName {
  if (job.errorCode !== null) return job.errorCode;
  if (job.placementFailure === "none") return ErrorCode.noSatellite;
  if (job.placementFailure === "full") return ErrorCode.overloaded;
  return ErrorCode.failed;
}

export function finish(
  r: RouterState,
  job: Job,
  status: "ok" | ErrorCodeName,
  message: string,
  result?: Buffer[],
): void {
  if (!release(r, job)) return;
  job.tracked = false;
  if (job.trace !== null) traceEnded(r, job, job.trace, status, r.now);
  if (job.spilled !== null) unspill(r, job);
  // Also while the journal is failed: the record waits in memory and the reply waits for it.
  const keep = r.durable || job.origin.kind === "titanic";
  if (!keep) {
    deliver(r, job, status, message, result);
    return;
  }
  const record: CompletedRecord = {
    k: "completed",
    id: job.id,
    firstType: job.firstType,
    key: job.key ?? null,
    status,
    message,
    result: status === "ok" ? (result ?? [NULL_PAYLOAD]) : null,
    raw: job.raw,
    attempts: Math.max(job.attempt, 1),
    receivedAt: job.receivedAt,
    completedAt: r.now,
    // A failed job keeps its payload for `dsat retry` (a pipeline retries from this step's input).
    payload: status === "ok" ? null : job.payload,
    steps: status === "ok" ? [] : [job.type, ...job.steps],
    origin: originToJournal(job.origin, job.owner),
  };
  // Its inputs place its first step only: kept when that step failed, for the retry to use.
  if (status !== "ok" && job.step === 0 && job.inputs !== null) record.inputs = job.inputs.bytes;
  if (!r.durable) {
    r.keepFinished(record);
    deliver(r, job, status, message, result);
    return;
  }
  // The reply leaves once the record is on disk: a client that got a result finds it again.
  const seq = r.append(record);
  r.repliesAwaitingCommit.push({ seq, job, status, message, result }); // append() asked for the commit
}

/** The job's reply, to its requester and to anyone who resubmitted it meanwhile. */
export function deliver(
  r: RouterState,
  job: Job,
  status: "ok" | ErrorCodeName,
  message: string,
  result?: Buffer[],
): void {
  const origins = job.waiters === null ? [job.origin] : [job.origin, ...job.waiters];
  for (const origin of origins) {
    job.origin = origin;
    if (status === "ok") r.outbox.replyOk(job, result ?? [NULL_PAYLOAD]);
    else r.outbox.replyError(origin, job.id, status, message, job.firstType);
  }
  if (job.trace !== null) traceDelivered(r, job, job.trace, status);
}
