// Time: heartbeats, liveness, the tracker's timers, this process's own stalls, idle learnt types.
import { expireFinished } from "../../journal/core.ts";
import { loadWelcomeFrames, WorkerCommand, workerCommandFrames } from "../../protocol/index.ts";
import type { SatelliteInfo } from "../registry.ts";
import { runEffects } from "./outcomes.ts";
import { loseSatellite } from "./satellites.ts";
import { applyScores, sampleOwnView } from "./scores.ts";
import { STATS_EVERY_MS } from "./shared.ts";
import type { RouterState } from "./state.ts";

export function tick(r: RouterState, now: number): void {
  const limits = r.config.limits;
  const heartbeatDue = now - r.lastHeartbeatAt >= limits.heartbeatMs;
  if (heartbeatDue) r.lastHeartbeatAt = now;
  for (const satellite of [...r.registry.all()]) {
    const silentMs = now - satellite.lastHeardAt;
    if (silentMs > satellite.heartbeatMs * limits.heartbeatLiveness && !busyPlainWorker(r, satellite)) {
      loseSatellite(r, satellite, `silent for ${silentMs} ms`);
      continue;
    }
    // A satellite whose connection is gone has one liveness window (two, after our own stall) to
    // come back on a new one before its jobs are rerouted: a process reconnecting keeps them.
    const goneMs = now - satellite.connectionGoneAt; // NaN while connected
    const goneGraceMs = satellite.heartbeatMs * limits.heartbeatLiveness * (now < r.blamelessUntil ? 2 : 1);
    if (goneMs >= goneGraceMs) {
      loseSatellite(r, satellite, "its connection is gone");
      continue;
    }
    // A dsat satellite's HEARTBEAT carries the marker: it may send its load (protocol/load.ts).
    if (heartbeatDue)
      r.sendFrames([
        satellite.routingId,
        ...(satellite.dsat ? loadWelcomeFrames() : workerCommandFrames(WorkerCommand.heartbeat)),
      ]);
  }
  if (heartbeatDue) sampleOwnView(r);
  applyScores(r);
  const trackerNow = r.trackerNow(now);
  for (let round = 0; round < 10; round++) {
    if (r.tracker.tick(trackerNow) < r.tracker.config.timersPerTickMax) break;
  }
  runEffects(r, now);
  for (const type of r.registry.sweep(now)) r.placements.delete(type);
  if (r.guard.active) r.guard.sweep(now);
  if (now - r.lastMaintainAt >= 1000) {
    r.lastMaintainAt = now;
    r.challenges.sweep(now);
    evictIdleTypes(r);
    // Finished jobs past their retention are forgotten (compaction drops them from the disk).
    if (r.durable)
      r.counters.finishedExpired += expireFinished(r.finished, now, r.config.journal?.retentionMs ?? 0);
  }
  if (now - r.lastStatsAt >= STATS_EVERY_MS) {
    // DSAT's tracker counters, for dashboards listening on the events socket.
    r.lastStatsAt = now;
    r.publishEvent("stats", { types: r.tracker.stats().types, jobsInFlight: r.jobs.size });
  }
}

/**
 * 7/MDP's reference workers send no heartbeats while they work: while such a worker's current
 * attempt runs, the job's run timeout governs it, not silence, so the job does not run twice.
 * A plain worker seen heartbeating while busy is judged by silence like any other.
 */
export function busyPlainWorker(r: RouterState, satellite: SatelliteInfo): boolean {
  return !satellite.dsat && !satellite.heartbeatsWhileBusy && hasCurrentAttempt(r, satellite);
}

export function hasCurrentAttempt(_r: RouterState, satellite: SatelliteInfo): boolean {
  if (satellite.inFlight === 0) return false;
  for (const job of satellite.running.keys()) if (job.satellite === satellite) return true;
  return false;
}

/**
 * A tick much later than its period means this process did not run (GC, a slow disk, a burst
 * of work): peers' heartbeats and progress may sit unread in the sockets. So every satellite
 * gets a fresh liveness window, losses within it do not count toward poison, and the tracker's
 * clock skips the stall (its ack, stall and run timers measure time we were running).
 */
export function noticeOwnStall(r: RouterState, now: number): void {
  const gapMs = now - r.lastStepAt;
  const late = r.lastStepAt > 0 && gapMs > Math.max(1000, r.config.limits.heartbeatMs);
  r.lastStepAt = now;
  if (!late) return;
  const stalledMs = gapMs - r.tickMs;
  r.stalledMs += stalledMs;
  r.counters.ownStalls++;
  const limits = r.config.limits;
  let window = 0;
  for (const satellite of r.registry.all()) {
    satellite.lastHeardAt = Math.max(satellite.lastHeardAt, now);
    window = Math.max(window, satellite.heartbeatMs * limits.heartbeatLiveness);
  }
  r.blamelessUntil = now + Math.max(window, limits.heartbeatMs * limits.heartbeatLiveness);
  r.log(`orchestrator: this process stalled for ${stalledMs} ms; peers get a fresh liveness window`);
  r.publishEvent("orchestrator.stalled", { ms: stalledMs });
}

/** Learnt types with no satellite (even within its grace window) and no job are forgotten. */
export function evictIdleTypes(r: RouterState): void {
  if (r.dynamicTypes.size === 0) return;
  const idle = [...r.dynamicTypes].filter((type) => !r.registry.knowsType(type));
  if (idle.length === 0) return;
  const busy = new Set<string>();
  for (const job of r.jobs.values()) {
    busy.add(job.type);
    for (const step of job.steps) busy.add(step);
  }
  for (const type of idle) {
    if (busy.has(type) || !r.tracker.evictType(type)) continue;
    r.dynamicTypes.delete(type);
    r.config.types.delete(type);
    r.placements.delete(type);
    r.pipelines.delete(type);
  }
}
