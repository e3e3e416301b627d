// Satellites: admission at READY (admission.ts), their messages (acks, progress, replies,
// heartbeats, drain), and what happens to their jobs when they are lost.
import {
  ErrorCode,
  type FrontendMessage,
  MDP_WORKER,
  parseJobAddress,
  type SatelliteHello,
  WorkerCommand,
  workerCommandFrames,
} from "../../protocol/index.ts";
import { admit } from "../admission.ts";
import { type Job, NULL_PAYLOAD } from "../job.ts";
import type { SatelliteInfo } from "../registry.ts";
import { resolveType } from "../type-config.ts";
import { hasCurrentAttempt } from "./clock.ts";
import { isPlaceable, place, pumpQueue, releaseSlot, updatePlaceable } from "./dispatch.ts";
import { drainedTarget } from "./fleet.ts";
import { runEffects } from "./outcomes.ts";
import { initialScore, noteLoad, scoreReweight } from "./scores.ts";
import { decodeJobEntries, FINAL_PLAIN_ERRORS, isPlainError, localAttempt, sameProcess } from "./shared.ts";
import type { RouterState } from "./state.ts";
import { traceAttemptEnd } from "./trace.ts";
import { drainSpill } from "./waiting.ts";

export function onWorkerReady(
  r: RouterState,
  route: Buffer,
  service: string,
  hello: SatelliteHello | null,
): void {
  const routingKey = route.toString("hex");
  const existing = r.registry.byRouting(routingKey);
  if (existing !== undefined) {
    // MDP: a second READY on a registered connection is a protocol error.
    disconnectPeer(r, route);
    loseSatellite(r, existing, "sent READY twice");
    return;
  }
  const now = r.now;
  const plain: SatelliteHello = {
    id: `mdp-${routingKey}`,
    types: [service],
    location: [],
    capacity: 1,
    weight: 1,
  };
  const verdict = admit(r.admissionContext, r.challenges, routingKey, plain, hello, now);
  if (verdict.kind === "challenge") {
    r.sendFrames([route, ...workerCommandFrames(WorkerCommand.challenge, verdict.nonce)]);
    return;
  }
  const id = (hello ?? plain).id;
  if (verdict.kind === "refuse") {
    refuseSatellite(r, route, id, verdict.reason, verdict.security);
    return;
  }
  const info = verdict.hello;
  const previous = r.registry.byId(info.id);
  if (previous !== undefined && sameProcess(previous, info)) {
    resumeSatellite(r, previous, route, routingKey, now);
    return;
  }
  // The same satellite (the same key, under CURVE) on a new connection: the old one is fenced.
  if (previous !== undefined) {
    disconnectPeer(r, previous.routingId);
    loseSatellite(r, previous, "re-registered from a new connection");
  }
  const { satellite, changedTypes } = r.registry.add({
    routingId: Buffer.from(route),
    routingKey,
    id: info.id,
    types: info.types,
    location: info.location,
    capacity: info.capacity,
    weight: info.weight,
    dsat: hello !== null,
    key: verdict.key,
    heartbeatMs: verdict.heartbeatMs,
    incarnation: info.incarnation ?? null,
    batch: hello?.batch === true,
    inputs: hello?.inputs === true,
    registeredAt: now,
    lastHeardAt: now,
  });
  // On a drained host (rack...): it registers, but takes no jobs until undrained (fleet.ts).
  satellite.drained = drainedTarget(r, satellite) !== undefined;
  initialScore(r, satellite);
  for (const type of info.types) if (!r.config.types.has(type)) learnType(r, type);
  // New members change the type's map; a returning one only comes back in.
  for (const type of info.types) {
    if (changedTypes.includes(type)) r.placements.delete(type);
    else {
      r.placements.get(type)?.setReweights([[satellite.device, scoreReweight(satellite.score)]]);
      r.placements.get(type)?.setPlaceable(satellite.device, isPlaceable(r, satellite));
    }
  }
  r.publishEvent("satellite.registered", {
    satellite: satellite.id,
    types: [...satellite.types],
    location: satellite.location.map(([level, name]) => `${level}=${name}`).join(","),
    capacity: satellite.capacity,
  });
  r.trackerStep({ kind: "satellite-heartbeat", satelliteId: satellite.id }, now);
  // Jobs of its types waiting on the spill can start here.
  pumpQueue(r, satellite, now);
  runEffects(r, now);
}

/** The same process reconnecting (it heard nothing from us for a while): its jobs carry on. */
function resumeSatellite(
  r: RouterState,
  satellite: SatelliteInfo,
  route: Buffer,
  routingKey: string,
  now: number,
): void {
  r.registry.rebind(satellite, Buffer.from(route), routingKey);
  satellite.lastHeardAt = now;
  r.counters.satellitesResumed++;
  r.publishEvent("satellite.resumed", { satellite: satellite.id, jobs: satellite.inFlight });
  // Placeable again (its connection is back): what waited for it goes now.
  updatePlaceable(r, satellite);
  pumpQueue(r, satellite, now);
  runEffects(r, now);
}

/** A type a satellite brought (dynamicTypes): default settings until it is evicted. */
export function learnType(r: RouterState, type: string): void {
  r.config.types.set(type, resolveType(type, {}, r.config.hierarchy, r.config.limits));
  r.dynamicTypes.add(type);
}

/**
 * libzmq refused a message for `route` (EHOSTUNREACH on the mandatory ROUTER): its connection is
 * gone. This also catches a plain worker killed mid-job, which silence would not (it is exempt
 * while busy): it is lost one liveness window later (tick), unless its process comes back on a
 * new connection meanwhile (a satellite reconnecting: its READY may still wait to be read).
 */
export function onPeerGone(r: RouterState, route: Buffer): void {
  const satellite = r.registry.byRouting(route.toString("hex"));
  if (satellite === undefined || !Number.isNaN(satellite.connectionGoneAt)) return;
  satellite.connectionGoneAt = r.now;
  updatePlaceable(r, satellite);
}

/**
 * Jobs in a message libzmq could not deliver (the satellite's connection was gone, e.g. it was
 * reconnecting): those attempts never started there, so they are retried now, not after the
 * ack timeout, and free the slots they held.
 */
export function onUndelivered(r: RouterState, frames: Buffer[]): void {
  if (frames.length < 5 || !frames[2].equals(MDP_WORKER) || frames[3].length !== 1) return;
  const tokens: Array<{ jobId: string; attempt: number }> = [];
  if (frames[3][0] === WorkerCommand.request) {
    const token = parseJobAddress(frames[4]);
    if (token !== null) tokens.push({ jobId: token.jobId, attempt: localAttempt(r, token.attempt) });
  } else if (frames[3][0] === WorkerCommand.requestBatch) {
    for (const entry of decodeJobEntries(frames[4]))
      tokens.push({ jobId: entry[0], attempt: localAttempt(r, entry[1]) });
  } else return;
  const now = r.now;
  for (const { jobId, attempt } of tokens) {
    const job = r.trackedJob(jobId);
    const satellite = job?.satellite;
    if (job === undefined || satellite == null || job.attempt !== attempt) continue;
    job.satellite = null;
    if (job.trace !== null) traceAttemptEnd(r, job, job.trace, "lost", now);
    releaseSlot(r, satellite, job, now);
    const message = `the request never reached satellite ${satellite.id} (its connection was gone)`;
    r.trackerStep(
      {
        kind: "failed",
        jobId,
        attempt,
        satelliteId: satellite.id,
        retryable: true,
        message,
        undelivered: true,
      },
      now,
    );
  }
  runEffects(r, now);
}

/** A READY that may not register: DISCONNECT, a log line, events, counters. */
export function refuseSatellite(
  r: RouterState,
  route: Buffer,
  id: string,
  reason: string,
  security: boolean,
): void {
  r.counters.satellitesRefused++;
  if (security) r.counters.security.satelliteKeyRefused++;
  // Rate-limited (a refused satellite keeps trying), per satellite id.
  const muted = r.refusalEvents.allow(`satellite ${id}`);
  if (muted !== null) {
    r.log(`orchestrator: satellite ${id} refused: ${reason}`);
    r.publishEvent("satellite.refused", { satellite: id, reason, muted });
    if (security) r.publishEvent("security.refused", { mechanism: "CURVE", address: "", reason, muted });
  }
  disconnectPeer(r, route);
}

export function disconnectPeer(r: RouterState, route: Buffer): void {
  r.sendFrames([route, ...workerCommandFrames(WorkerCommand.disconnect)]);
}

export function onWorkerMessage(r: RouterState, route: Buffer, message: FrontendMessage): void {
  const satellite = r.registry.byRouting(route.toString("hex"));
  if (satellite === undefined) {
    // Unknown peer (e.g. we forgot it after it went silent): ask it to reconnect and register.
    if (message.kind !== "worker-disconnect") {
      r.sendFrames([route, ...workerCommandFrames(WorkerCommand.disconnect)]);
    }
    return;
  }
  const now = r.now;
  satellite.lastHeardAt = now;
  switch (message.kind) {
    case "worker-reply": {
      const token = parseJobAddress(message.address);
      onWorkerReply(
        r,
        satellite,
        token?.jobId ?? "",
        localAttempt(r, token?.attempt ?? 0),
        message.header,
        message.body,
        now,
      );
      break;
    }
    case "worker-reply-batch":
      for (let i = 0; i < message.entries.length; i++) {
        const [jobId, attempt, status, , error, retryable] = message.entries[i];
        const header: { s: "ok" | "error"; e?: string; r?: boolean } = { s: status === 0 ? "ok" : "error" };
        if (error !== null) header.e = error;
        if (retryable !== null) header.r = retryable;
        onWorkerReply(r, satellite, jobId, localAttempt(r, attempt), header, [message.payloads[i]], now);
      }
      break;
    case "worker-ack": {
      const token = parseJobAddress(message.address);
      if (token !== null) onWorkerAck(r, satellite, token.jobId, localAttempt(r, token.attempt), now);
      break;
    }
    case "worker-ack-batch":
      for (let i = 0; i + 1 < message.flat.length; i += 2) {
        const jobId = message.flat[i];
        const attempt = message.flat[i + 1];
        if (typeof jobId === "string" && typeof attempt === "number")
          onWorkerAck(r, satellite, jobId, localAttempt(r, attempt), now);
      }
      break;
    case "worker-progress":
      onWorkerProgress(r, satellite, message.address, message.progress, now);
      break;
    case "worker-drain":
      satellite.draining = true;
      updatePlaceable(r, satellite);
      r.publishEvent("satellite.draining", { satellite: satellite.id });
      requeueQueued(r, satellite, now);
      break;
    case "worker-disconnect":
      loseSatellite(r, satellite, "disconnected");
      return;
    case "worker-heartbeat":
      noteLoad(r, satellite, message.load, message.loadProblem);
      r.trackerStep({ kind: "satellite-heartbeat", satelliteId: satellite.id }, now);
      // A plain MDP worker cannot report progress; one that heartbeats while it works has that
      // as its liveness from now on (busyPlainWorker).
      if (!satellite.dsat && !satellite.heartbeatsWhileBusy && hasCurrentAttempt(r, satellite))
        satellite.heartbeatsWhileBusy = true;
      break;
    default:
      break;
  }
  runEffects(r, now);
}

function onWorkerAck(
  r: RouterState,
  satellite: SatelliteInfo,
  jobId: string,
  attempt: number,
  now: number,
): void {
  r.trackerStep({ kind: "ack", jobId, attempt, satelliteId: satellite.id }, now);
}

function onWorkerProgress(
  r: RouterState,
  satellite: SatelliteInfo,
  address: Buffer,
  progress: unknown,
  now: number,
): void {
  const parsed = parseJobAddress(address);
  if (parsed === null) return;
  const token = { jobId: parsed.jobId, attempt: localAttempt(r, parsed.attempt) };
  r.trackerStep(
    { kind: "progress", jobId: token.jobId, attempt: token.attempt, satelliteId: satellite.id },
    now,
  );
  // Only the current attempt's progress is news; the tracker drops a stale one.
  const job = r.trackedJob(token.jobId);
  if (job !== undefined && job.attempt === token.attempt && job.satellite === satellite)
    r.publishEvent(`job.progress.${job.type}`, { id: job.id, attempt: token.attempt, progress });
}

export function onWorkerReply(
  r: RouterState,
  satellite: SatelliteInfo,
  trackerId: string,
  attempt: number,
  header: { s: "ok" | "error"; e?: string; r?: boolean } | null,
  body: Buffer[],
  now: number,
): void {
  const job = r.trackedJob(trackerId);
  const current = job !== undefined && job.attempt === attempt && job.satellite === satellite;
  if (job?.satellite === satellite && job.attempt === attempt) job.satellite = null;
  releaseSlot(r, satellite, current ? job : findRunning(r, satellite, trackerId, attempt), now);
  if (!current) {
    // A result from an earlier attempt (or for a step already ended): the tracker counts and drops it.
    r.counters.lateResults++;
  }
  // A plain worker's error in the documented shape [DSAT_ERR_<CODE>, message] (dsat's own
  // satellites in plain-MDP mode answer so): an error, not a result.
  if (header === null && isPlainError(body))
    header = { s: "error", e: body[1].toString(), r: !FINAL_PLAIN_ERRORS.has(body[0].toString()) };
  if (current && job.trace !== null)
    traceAttemptEnd(r, job, job.trace, header === null || header.s === "ok" ? "ok" : "failed", now);
  if (header === null || header.s === "ok") {
    satellite.done++;
    let bytes = 0;
    for (const frame of body) bytes += frame.length;
    if (current && bytes > r.config.limits.messageBytesMax) {
      r.counters.tooLarge++;
      job.errorCode = ErrorCode.tooLarge;
      const message = `the result of ${bytes} bytes exceeds the limit of ${r.config.limits.messageBytesMax}`;
      r.trackerStep(
        { kind: "failed", jobId: trackerId, attempt, satelliteId: satellite.id, retryable: false, message },
        now,
      );
      return;
    }
    if (current) job.result = body.length === 0 ? [NULL_PAYLOAD] : body;
    r.trackerStep({ kind: "succeeded", jobId: trackerId, attempt, satelliteId: satellite.id }, now);
    return;
  }
  satellite.failed++;
  r.trackerStep(
    {
      kind: "failed",
      jobId: trackerId,
      attempt,
      satelliteId: satellite.id,
      retryable: header.r !== false,
      message: header.e ?? "the satellite reported an error",
    },
    now,
  );
}

/** The job object a (possibly late) reply's slot belongs to. */
export function findRunning(
  _r: RouterState,
  satellite: SatelliteInfo,
  trackerId: string,
  attempt: number,
): Job | undefined {
  for (const job of satellite.running.keys())
    if (job.trackerId === trackerId || (job.attempt === attempt && job.id === trackerId)) return job;
  return undefined;
}

/** A satellite went silent, disconnected or re-registered: the tracker reroutes its jobs. */
export function loseSatellite(r: RouterState, satellite: SatelliteInfo, reason: string): void {
  r.registry.remove(satellite, r.now);
  updatePlaceable(r, satellite);
  for (const type of satellite.types) r.placements.get(type)?.setPlaceable(satellite.device, false);
  r.counters.satellitesLost++;
  r.publishEvent("satellite.lost", { satellite: satellite.id, reason, jobs: satellite.inFlight });
  r.log(`orchestrator: satellite ${satellite.id} lost (${reason})`);
  const now = r.now;
  for (const job of satellite.running.keys()) if (job.satellite === satellite) job.satellite = null;
  satellite.running.clear();
  satellite.inFlight = 0;
  // Right after this process stalled, a loss may be ours, not the satellite's or its jobs'.
  const blameless = now < r.blamelessUntil;
  r.trackerStep({ kind: "satellite-lost", satelliteId: satellite.id, blameless }, now);
  requeueQueued(r, satellite, now);
  runEffects(r, now);
}

/** Jobs waiting in a satellite's queue that can no longer go there are placed again. */
export function requeueQueued(r: RouterState, satellite: SatelliteInfo, now: number): void {
  const queued = satellite.queue.slice(satellite.queueHead);
  satellite.queue.length = 0;
  satellite.queueHead = 0;
  for (const trackerId of queued) {
    const job = r.trackedJob(trackerId);
    if (job !== undefined && job.queuedOn === satellite) place(r, job, job.attempt, [satellite.id], now);
  }
  // Jobs of its types waiting on disk may fit elsewhere now (new candidates, other queues).
  drainSpill(r, null, satellite.types, now);
}
