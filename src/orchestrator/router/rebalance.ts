// `dsat rebalance` applied (docs/operations.md, "Rebalance"): after a change to the fleet (an
// undrain, a score, a satellite that registered or came back with another weight) new jobs follow
// the new placement at once, but keyed jobs already queued on a satellite stay where they were
// queued. This moves those whose first placeable candidate is now another satellite to it, so
// queued work follows its key. Running jobs never move; nor do retries (their attempt avoids the
// satellite that failed them) nor jobs waiting in the waiting room or the disk spill (they are
// placed when a slot frees, by the placement in force then).
import type { Job } from "../job.ts";
import type { SatelliteInfo } from "../registry.ts";
import { isPlaceable, queueMax, send } from "./dispatch.ts";
import { jobCandidates } from "./locality.ts";
import { runEffects } from "./outcomes.ts";
import type { RouterState } from "./state.ts";

/** One queued job moved: from the satellite whose queue held it to its first placeable candidate now. */
export interface RebalanceMove {
  id: string;
  key: string;
  type: string;
  from: string;
  to: string;
}

export interface RebalanceAnswer {
  ok: boolean;
  moves?: RebalanceMove[];
  /** Jobs that should move but whose new satellite's queue is full (they stay where they are). */
  full?: number;
  /** Jobs that should move, left where they are by maxMoves. */
  left?: number;
  error?: string;
}

/** The queued keyed jobs to move, in queue order, satellite by satellite (registration order). */
function pending(r: RouterState): Array<{ job: Job; from: SatelliteInfo; to: SatelliteInfo }> {
  const found: Array<{ job: Job; from: SatelliteInfo; to: SatelliteInfo }> = [];
  for (const from of r.registry.all()) {
    for (let i = from.queueHead; i < from.queue.length; i++) {
      const job = r.trackedJob(from.queue[i]);
      if (job === undefined || job.queuedOn !== from || job.key === undefined || job.attempt > 1) continue;
      const to = firstPlaceable(r, job);
      if (to !== undefined && to !== from) found.push({ job, from, to });
    }
  }
  return found;
}

function firstPlaceable(r: RouterState, job: Job): SatelliteInfo | undefined {
  for (const id of jobCandidates(r, job)) {
    const satellite = r.registry.byId(id);
    if (isPlaceable(r, satellite)) return satellite;
  }
  return undefined;
}

/** Drops from `satellite`'s queue the entries of jobs no longer queued there. */
function compactQueue(r: RouterState, satellite: SatelliteInfo): void {
  const kept = satellite.queue
    .slice(satellite.queueHead)
    .filter((trackerId) => r.trackedJob(trackerId)?.queuedOn === satellite);
  satellite.queue.length = 0;
  satellite.queueHead = 0;
  satellite.queue.push(...kept);
}

/** Moves at most `maxMoves` (null: all) queued keyed jobs to their first placeable candidate now. */
export function rebalance(r: RouterState, maxMoves: number | null): RebalanceAnswer {
  if (maxMoves !== null && (!Number.isSafeInteger(maxMoves) || maxMoves < 0))
    return { ok: false, error: "maxMoves: expected a non-negative integer" };
  const now = r.now;
  const moves: RebalanceMove[] = [];
  const emptied = new Set<SatelliteInfo>();
  let full = 0;
  let left = 0;
  for (const { job, from, to } of pending(r)) {
    if (maxMoves !== null && moves.length >= maxMoves) {
      left++;
      continue;
    }
    // Behind the jobs already queued there (they were there first), or straight on when it is idle.
    if (to.inFlight < to.capacity && to.queueHead === to.queue.length) send(r, job, to, now);
    else if (to.dsat && to.queue.length - to.queueHead < queueMax(r)) {
      job.queuedOn = to;
      to.queue.push(job.trackerId);
    } else {
      full++;
      continue;
    }
    emptied.add(from);
    moves.push({ id: job.id, key: job.key as string, type: job.type, from: from.id, to: to.id });
  }
  for (const satellite of emptied) compactQueue(r, satellite);
  r.publishEvent("rebalance.applied", { moves: moves.length, full, left, by: "operator" });
  r.log(
    `orchestrator: rebalance: ${moves.length} queued jobs moved (${full} full, ${left} left by maxMoves)`,
  );
  runEffects(r, now);
  return { ok: true, moves, full, left };
}
