// Jobs waiting for a slot (the waiting room in memory, or the disk spill) and how they leave it:
// oldest first, to the freed slot they may run on.
import { ErrorCode } from "../../protocol/index.ts";
import type { Job } from "../job.ts";
import { DiskSpillReadError, WaitingRoomFullError } from "../job-spill.ts";
import type { SatelliteInfo } from "../registry.ts";
import { isPlaceable, place, queueMax, send } from "./dispatch.ts";
import { jobCandidates } from "./locality.ts";
import { finish } from "./outcomes.ts";
import { WAITING_SCAN_MAX } from "./shared.ts";
import type { RouterState } from "./state.ts";

/**
 * Moves a job's payload to the disk spill (at the front of its type's FIFO when it was just
 * drained from there). false when the disk refused it: the job is then unplaceable as before.
 */
export function spillJob(r: RouterState, job: Job, exclude: readonly string[], front: boolean): boolean {
  const spill = r.spill;
  try {
    if (front) spill.unshift(job.type, job.trackerId, job.payload);
    else spill.push(job.type, job.trackerId, job.payload);
  } catch (error) {
    // The waiting room's byte budget is a limit, not a fault: the job is refused as before.
    if (!(error instanceof WaitingRoomFullError)) onDiskSpillError(r, error);
    else r.counters.waitingRoomFull++;
    return false;
  }
  job.payload = [];
  job.spilled = exclude;
  job.placementFailure = "full";
  return true;
}

/**
 * Jobs of `types` leave the spill as slots free up. First `satellite` (when given) takes the
 * oldest jobs it is a candidate for, among the first WAITING_SCAN_MAX of each type, so a freed
 * slot never idles behind a job meant for other satellites. Then, oldest first, jobs go wherever
 * the oldest one has somewhere to go (place() chooses); a type whose oldest job has nowhere to go
 * waits for the next free slot. The checks run on the index: a payload is read back only for a
 * job that leaves the spill.
 */
export function drainSpill(
  r: RouterState,
  satellite: SatelliteInfo | null,
  types: readonly string[],
  now: number,
): void {
  const spill = r.spill;
  if (spill.size() === 0) return;
  if (satellite !== null) drainTo(r, satellite, types, now);
  drainOldest(r, satellite, types, now);
}

/** Fills `satellite`'s free slots with the oldest waiting jobs of its types it may run. */
export function drainTo(
  r: RouterState,
  satellite: SatelliteInfo,
  types: readonly string[],
  now: number,
): void {
  while (
    satellite.inFlight < satellite.capacity &&
    satellite.queueHead === satellite.queue.length &&
    isPlaceable(r, satellite)
  ) {
    // Oldest first across its types, so one type's backlog cannot starve another's.
    let oldest: Job | undefined;
    for (const type of types) {
      if (r.spill.size(type) === 0) continue;
      const jobId = r.spill.first(type, WAITING_SCAN_MAX, (id) => mayRun(r, satellite, id));
      const job = jobId === undefined ? undefined : r.trackedJob(jobId);
      if (job !== undefined && (oldest === undefined || older(job, oldest))) oldest = job;
    }
    if (oldest === undefined) return;
    const job = takeSpilled(r, oldest.trackerId, now);
    if (job !== undefined) send(r, job, satellite, now);
  }
}

/** A spilled job whose candidates include `satellite` (not excluded for this attempt). */
export function mayRun(r: RouterState, satellite: SatelliteInfo, trackerId: string): boolean {
  const job = r.trackedJob(trackerId);
  if (job === undefined || job.spilled === null || job.spilled.includes(satellite.id)) return false;
  return jobCandidates(r, job, true).includes(satellite.id);
}

/** Takes a job out of the spill with its payload back (undefined if it cannot be read). */
export function takeSpilled(r: RouterState, trackerId: string, now: number): Job | undefined {
  const job = r.trackedJob(trackerId);
  let frames: Buffer[] | undefined;
  try {
    frames = r.spill.read(trackerId);
  } catch (error) {
    onDiskSpillError(r, error);
    r.spill.remove(trackerId);
    failSpilled(r, trackerId, (error as Error).message, now);
    return undefined;
  }
  r.spill.remove(trackerId);
  if (job === undefined || job.spilled === null || frames === undefined) return undefined;
  job.payload = frames;
  job.spilled = null;
  return job;
}

/**
 * Oldest first across `types`, while the oldest waiting job has somewhere to go. Each type is a
 * FIFO: a type whose head job has nowhere to go waits (its later jobs do not overtake it), and the
 * others go on, so one type's backlog cannot starve another's.
 */
export function drainOldest(
  r: RouterState,
  satellite: SatelliteInfo | null,
  types: readonly string[],
  now: number,
): void {
  const spill = r.spill;
  const open = types.filter((type) => spill.size(type) > 0);
  while (open.length > 0) {
    let index = -1;
    let head: Job | undefined;
    for (let i = 0; i < open.length; i++) {
      const job = headOf(r, open[i]);
      if (job === undefined) {
        open.splice(i--, 1);
        continue;
      }
      if (head === undefined || older(job, head)) {
        head = job;
        index = i;
      }
    }
    if (head === undefined) return;
    const type = open[index];
    const exclude = head.spilled ?? [];
    const target = spillTarget(r, head, exclude, satellite);
    if (target === null) {
      open.splice(index, 1);
      continue;
    }
    let taken: { jobId: string; frames: Buffer[] } | undefined;
    try {
      taken = spill.shift(type);
    } catch (error) {
      onDiskSpillError(r, error);
      if (error instanceof DiskSpillReadError) failSpilled(r, error.jobId, error.message, now);
      continue;
    }
    if (taken === undefined || taken.jobId !== head.trackerId) return; // cannot happen: peek named it
    head.payload = taken.frames;
    head.spilled = null;
    if (target !== "elsewhere") send(r, head, target, now);
    else place(r, head, head.attempt, exclude, now, true);
    if (head.spilled !== null) open.splice(index, 1);
  }
}

/** Whether `a` came before `b` (received earlier; in one batch, earlier in it). */
function older(a: Job, b: Job): boolean {
  return a.receivedAt !== b.receivedAt ? a.receivedAt < b.receivedAt : (a.arrival ?? 0) < (b.arrival ?? 0);
}

/** The oldest waiting job of `type` (entries of jobs that ended meanwhile are dropped). */
function headOf(r: RouterState, type: string): Job | undefined {
  for (let jobId = r.spill.peek(type); jobId !== undefined; jobId = r.spill.peek(type)) {
    const job = r.trackedJob(jobId);
    if (job !== undefined && job.spilled !== null) return job;
    r.spill.remove(jobId); // ended while spilled (its entry is normally removed then)
  }
  return undefined;
}

/**
 * Where a spilled job can go now: `satellite` (a candidate with a free slot and an empty queue),
 * "elsewhere" (some candidate has a free slot or queue room), or null (every candidate is full).
 */
export function spillTarget(
  r: RouterState,
  job: Job,
  exclude: readonly string[],
  satellite: SatelliteInfo | null,
): SatelliteInfo | "elsewhere" | null {
  const candidates = jobCandidates(r, job, true);
  const queueLimit = queueMax(r);
  let anyCandidate = false;
  let elsewhere = false;
  for (const satelliteId of candidates) {
    const candidate = r.registry.byId(satelliteId);
    if (candidate === undefined || !isPlaceable(r, candidate) || exclude.includes(candidate.id)) continue;
    anyCandidate = true;
    const queued = candidate.queue.length - candidate.queueHead;
    const free = candidate.inFlight < candidate.capacity && queued === 0;
    if (candidate === satellite && free) return satellite;
    // Plain MDP workers have no queue (place()).
    if (free || (candidate.dsat && queued < queueLimit)) elsewhere = true;
  }
  // No live candidate at all: place() answers unplaceable, as for a queued job (retry, then timeout).
  return elsewhere || !anyCandidate ? "elsewhere" : null;
}

/** Takes a spilled job's payload back from the disk and forgets its entry. */
export function unspill(r: RouterState, job: Job): void {
  if (job.spilled === null) return;
  job.payload = spilledPayload(r, job);
  job.spilled = null;
  r.spill.remove(job.trackerId);
}

/** A spilled job's payload read from the disk (empty if it cannot be read). */
export function spilledPayload(r: RouterState, job: Job): Buffer[] {
  try {
    return r.spill.read(job.trackerId) ?? job.payload;
  } catch (error) {
    onDiskSpillError(r, error);
    return job.payload;
  }
}

/** A spilled job whose payload could not be read back fails (nothing is left to run). */
export function failSpilled(r: RouterState, trackerId: string, message: string, now: number): void {
  const job = r.trackedJob(trackerId);
  if (job === undefined || job.spilled === null) return;
  job.spilled = null;
  finish(r, job, ErrorCode.failed, `the disk spill lost the payload: ${message}`);
  r.trackerStep({ kind: "cancel", jobId: trackerId }, now);
}

export function onDiskSpillError(r: RouterState, error: unknown): void {
  const message = (error as Error).message;
  if (message === r.diskSpillError) return;
  r.diskSpillError = message;
  r.log(`orchestrator: disk spill: ${message}`);
  r.publishEvent("disk-spill.error", { error: message });
}
