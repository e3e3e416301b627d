// Placement and dispatch: each attempt goes to the best CRUSH candidate with room, or waits in its
// queue; satellites' slots are taken and freed here.
import { type JobEntry, jobAddress, jobRequestFrames, plainJobRequestFrames } from "../../protocol/index.ts";
import type { DispatchedEvent } from "../../tracker/index.ts";
import type { HeldInputs, Job } from "../job.ts";
import { TypePlacement } from "../placement.ts";
import type { SatelliteInfo } from "../registry.ts";
import type { ResolvedTypeConfig } from "../type-config.ts";
import { countNearness, jobCandidates } from "./locality.ts";
import { scoreReweight } from "./scores.ts";
import { wireAttempt } from "./shared.ts";
import type { RouterState } from "./state.ts";
import { traceSent } from "./trace.ts";
import { drainSpill, spillJob, unspill } from "./waiting.ts";

export function placementFor(r: RouterState, type: string): TypePlacement | undefined {
  let placement = r.placements.get(type);
  if (placement !== undefined) return placement;
  const members = r.registry.membersOf(type);
  if (members.length === 0) return undefined;
  const typeConfig = r.typeConfig(type);
  if (typeConfig === undefined) return undefined;
  placement = new TypePlacement(
    type,
    r.config.hierarchy,
    { replicas: typeConfig.replicas, failureDomain: typeConfig.failureDomain, rule: typeConfig.rule },
    members.map((member) => {
      const satellite = r.registry.byId(member.satelliteId);
      // Written out, not spread: this runs for every member at each rebuild (a fleet registering).
      return {
        satelliteId: member.satelliteId,
        device: member.device,
        location: member.location,
        weight: member.weight,
        goneAt: member.goneAt,
        placeable: isPlaceable(r, satellite),
        reweight: scoreReweight(satellite?.score ?? 100),
      };
    }),
    r.config.limits.placementCacheMax,
    r.registry.bucketIdOf,
  );
  r.placements.set(type, placement);
  return placement;
}

export function isPlaceable(r: RouterState, satellite: SatelliteInfo | undefined): boolean {
  return (
    satellite !== undefined &&
    !satellite.draining &&
    !satellite.drained &&
    // Score 0 (locked, or started locked) takes no new job (scores.ts).
    satellite.score > 0 &&
    r.tracker.mayPlaceOn(satellite.id) &&
    // Its connection is gone: what is sent now would bounce. It may come back within its window.
    Number.isNaN(satellite.connectionGoneAt)
  );
}

/** Recomputes a satellite's placeability in every type it serves. */
export function updatePlaceable(r: RouterState, satellite: SatelliteInfo): void {
  const placeable = isPlaceable(r, satellite);
  for (const type of satellite.types) r.placements.get(type)?.setPlaceable(satellite.device, placeable);
}

/**
 * The tracker's `place`: send `attempt` to the best CRUSH candidate with room that is not
 * excluded, or queue it there (overflow "queue") or on the next one with room in its queue
 * ("spill"); answer the tracker with dispatched (now or when the queue gets to it) or unplaceable.
 * With the disk spill on, a job whose candidates are all full (or whose type already has jobs on
 * disk) goes to disk instead and stays placed; `fromSpill`: it was just drained from there.
 */
export function place(
  r: RouterState,
  job: Job,
  attempt: number,
  exclude: readonly string[],
  now: number,
  fromSpill = false,
): void {
  if (job.spilled !== null && !fromSpill) unspill(r, job);
  job.attempt = attempt;
  job.satellite = null;
  job.queuedOn = null;
  const placement = placementFor(r, job.type);
  const typeConfig = r.typeConfig(job.type) as ResolvedTypeConfig;
  const candidates = placement === undefined ? [] : jobCandidates(r, job);
  // Jobs of its type wait in the spill: it must not overtake them (FIFO), so it goes there too.
  const behindSpilled = !fromSpill && r.spill.size(job.type) > 0;
  const queueLimit = queueMax(r);
  let queueOn: SatelliteInfo | null = null;
  let anyCandidate = false;
  for (const satelliteId of candidates) {
    const satellite = r.registry.byId(satelliteId);
    if (satellite === undefined || !isPlaceable(r, satellite) || exclude.includes(satellite.id)) continue;
    anyCandidate = true;
    if (behindSpilled) break;
    if (satellite.inFlight < satellite.capacity && satellite.queueHead === satellite.queue.length) {
      send(r, job, satellite, now);
      return;
    }
    // Plain MDP workers get no queue of their own: a job waits for any of them in the spill.
    if (queueOn === null && satellite.dsat && satellite.queue.length - satellite.queueHead < queueLimit) {
      queueOn = satellite;
      if (typeConfig.overflow === "queue") break;
    }
  }
  if (queueOn !== null) {
    job.queuedOn = queueOn;
    queueOn.queue.push(job.trackerId);
    return;
  }
  // Every candidate is full: the job waits in the spill, the tracker keeps it placed.
  if (anyCandidate && spillJob(r, job, exclude, fromSpill)) return;
  job.placementFailure = anyCandidate ? "full" : "none";
  r.trackerStep({ kind: "unplaceable", jobId: job.trackerId, attempt }, now);
}

export function send(r: RouterState, job: Job, satellite: SatelliteInfo, now: number): void {
  job.satellite = satellite;
  job.queuedOn = null;
  job.placementFailure = null; // placed after all: a failure from here on is the handler's
  // Only retries are journaled: a replayed job then resumes after its last retry, while a first
  // attempt (most jobs) costs no record; its replay is attempt 1 again, which is safe (docs/journal.md).
  if (job.attempt > 1 && r.durable)
    r.append({
      k: "dispatched",
      id: job.id,
      step: job.step,
      attempt: job.attempt,
      satelliteId: satellite.id,
    });
  if (job.trace !== null) traceSent(r, job, job.trace, satellite, now);
  if (job.inputs !== null) countNearness(r, job, satellite);
  satellite.inFlight++;
  const running = satellite.running;
  running.set(job, (running.get(job) ?? 0) + 1);
  // A half-open satellite takes one probe; it is skipped by placement until the tracker's verdict.
  const dispatched: DispatchedEvent = {
    kind: "dispatched",
    jobId: job.trackerId,
    attempt: job.attempt,
    satelliteId: satellite.id,
  };
  // A plain MDP worker is silent while it works (7/MDP): no stall timer, the run timeout governs.
  if (!satellite.dsat) dispatched.reportsProgress = false;
  r.trackerStep(dispatched, now);
  // A plain MDP worker cannot ACK: the request on its way stands for the ack.
  if (!satellite.dsat)
    r.trackerStep(
      { kind: "ack", jobId: job.trackerId, attempt: job.attempt, satelliteId: satellite.id },
      now,
    );
  if (satellite.batch && job.payload.length === 1) {
    const payload = job.payload[0];
    const entry: JobEntry = [
      job.trackerId,
      wireAttempt(r, job.attempt),
      job.type,
      payload.length,
      job.attempt,
      job.deadlineAt,
      job.key ?? null,
      job.raw ? 1 : null,
    ];
    if (job.trace !== null) entry[8] = job.trace.traceparent;
    if (sendsInputs(job, satellite)) {
      entry[8] = entry[8] ?? null;
      entry[9] = (job.inputs as HeldInputs).bytes;
    }
    r.outbox.queueJob(satellite, entry, payload);
    return;
  }
  const address = jobAddress(job.trackerId, wireAttempt(r, job.attempt));
  const frames = satellite.dsat
    ? jobRequestFrames(
        address,
        {
          id: job.trackerId,
          type: job.type,
          a: job.attempt,
          d: job.deadlineAt,
          ...(job.key !== undefined ? { k: job.key } : {}),
          ...(job.raw ? { raw: job.payload.length } : {}),
          ...(job.trace !== null ? { tp: job.trace.traceparent } : {}),
          ...(sendsInputs(job, satellite) ? { in: (job.inputs as HeldInputs).bytes } : {}),
        },
        job.payload,
      )
    : plainJobRequestFrames(address, job.payload);
  r.sendFrames([satellite.routingId, ...frames]);
}

/** Its first step's inputs go to a satellite that reads them (older ones would refuse the entry). */
function sendsInputs(job: Job, satellite: SatelliteInfo): boolean {
  return job.inputs !== null && job.step === 0 && satellite.inputs;
}

/** Frees the satellite's slot held by `job` and hands it the next queued job. */
export function releaseSlot(
  r: RouterState,
  satellite: SatelliteInfo,
  job: Job | undefined,
  now: number,
): void {
  const running = satellite.running;
  const held = job === undefined ? undefined : running.get(job);
  if (job === undefined || held === undefined) return;
  if (held > 1) running.set(job, held - 1);
  else running.delete(job);
  satellite.inFlight = Math.max(0, satellite.inFlight - 1);
  pumpQueue(r, satellite, now);
}

export function pumpQueue(r: RouterState, satellite: SatelliteInfo, now: number): void {
  while (
    satellite.inFlight < satellite.capacity &&
    satellite.queueHead < satellite.queue.length &&
    isPlaceable(r, satellite)
  ) {
    const trackerId = satellite.queue[satellite.queueHead++];
    const job = r.trackedJob(trackerId);
    if (job !== undefined && job.queuedOn === satellite) send(r, job, satellite, now);
  }
  if (satellite.queueHead === satellite.queue.length) {
    satellite.queue.length = 0;
    satellite.queueHead = 0;
  }
  // Jobs waiting on disk come next (behind the queue, which is older), while they fit.
  drainSpill(r, satellite, satellite.types, now);
}

/** Jobs one satellite's in-memory queue holds (the disk spill takes over beyond). */
export function queueMax(r: RouterState): number {
  return r.config.diskSpill?.queuedMax ?? r.config.limits.satelliteQueueMax;
}
