// Scores (OpenIO's service scores; docs/operations.md, "Scores"): each satellite's load, reported
// with its heartbeats (protocol/load.ts) or, for plain workers and older satellites, as the
// orchestrator sees it, becomes a score 0-100 by the topology's formula (scores-config.ts). The
// score is the satellite's CRUSH reweight (score/100 x 0x10000, the in/out vector apart from the
// CRUSH weights, as Ceph's `osd reweight`): a loaded satellite sheds that share of new placements
// to the next candidates, and no other placement moves. 0 takes no new job at all.
//
// Heartbeats only note the load; scores change on the tick (applyScores), in steps, and only when
// the load moved a whole step (hysteresis): each change drops the type's placement cache, so a
// fleet heartbeating every second must not drop it at every heartbeat.
import type { SatelliteLoad } from "../../protocol/index.ts";
import type { SatelliteInfo } from "../registry.ts";
import { pumpQueue, updatePlaceable } from "./dispatch.ts";
import { targetNames } from "./fleet.ts";
import { runEffects } from "./outcomes.ts";
import { requeueQueued } from "./satellites.ts";
import type { RouterState } from "./state.ts";

/** Per satellite connection: what its score is computed from. */
interface ScoreInput {
  /** Its last reported load (null: it reports none; the orchestrator's own view is used). */
  load: SatelliteLoad | null;
  /** The formula's last result, before steps. */
  raw: number;
  /** done and failed at the last sample (the error rate of satellites that report no load). */
  done: number;
  failed: number;
}

export class ScoreBook {
  /** Operator locks by satellite id: they survive its re-registering, not an orchestrator restart. */
  readonly locks = new Map<string, number>();
  /** Ids an operator unlocked: `startLocked` does not lock them again when they re-register. */
  readonly released = new Set<string>();
  /** Locks `startLocked` made (not an operator): the first dropped when the table is full. */
  readonly startLocks = new Set<string>();
  readonly inputs = new WeakMap<SatelliteInfo, ScoreInput>();
  /** Satellites whose load changed since the last tick. */
  readonly dirty = new Set<SatelliteInfo>();
  /** Load frames ignored (bad shape or values). */
  badLoads = 0;
  /** Score changes put in force (each drops the placement caches of the satellite's types once a tick at most). */
  changes = 0;
}

/** The reweight of a score: 0..0x10000. */
export function scoreReweight(score: number): number {
  return Math.round((score * 0x10000) / 100);
}

/** The formula (scores-config.ts) over one load, 0..100, before steps. */
export function formulaScore(r: RouterState, satellite: SatelliteInfo, load: SatelliteLoad): number {
  const { weights, lagMaxMs, errorRateMax } = r.config.scores;
  const capacity = Math.max(1, satellite.capacity);
  // Its own queue only: the orchestrator's queue for it is placement's doing, and counting it
  // would herd (a burst queued on one satellite would send the next burst to the others).
  const cost =
    weights.inFlight * Math.min(1, load.inFlight / capacity) +
    weights.queued * Math.min(1, load.queued / capacity) +
    weights.lag * Math.min(1, load.lagMs / lagMaxMs) +
    weights.errors * Math.min(1, load.errorRate / errorRateMax);
  return Math.max(0, Math.min(100, 100 - cost));
}

/** A satellite registers: its lock, or 0 if new satellites start locked, else 100 until it reports. */
export function initialScore(r: RouterState, satellite: SatelliteInfo): void {
  const book = r.scores;
  if (r.config.scores.startLocked && !book.locks.has(satellite.id) && !book.released.has(satellite.id)) {
    // Plain workers get a new id per connection: startLocked's locks of ids gone are dropped
    // rather than kept forever (the same id coming back is locked again all the same).
    if (book.locks.size >= r.config.limits.satellitesMax * 2)
      for (const id of book.startLocks)
        if (r.registry.byId(id) === undefined) {
          book.locks.delete(id);
          book.startLocks.delete(id);
        }
    book.locks.set(satellite.id, 0);
    book.startLocks.add(satellite.id);
  }
  satellite.score = book.locks.get(satellite.id) ?? 100;
  book.inputs.set(satellite, { load: null, raw: 100, done: 0, failed: 0 });
}

/** A HEARTBEAT: its load, if it carried one, is noted for the next tick. */
export function noteLoad(
  r: RouterState,
  satellite: SatelliteInfo,
  load: SatelliteLoad | undefined,
  problem: string | undefined,
): void {
  if (problem !== undefined) {
    r.scores.badLoads++;
    r.counters.badLoads++;
    return;
  }
  if (load === undefined) return;
  const input = r.scores.inputs.get(satellite);
  if (input === undefined) return;
  input.load = load;
  input.raw = formulaScore(r, satellite, load);
  r.scores.dirty.add(satellite);
}

/** Satellites that report no load (plain workers, older satellites): the orchestrator's view, each heartbeatMs. */
export function sampleOwnView(r: RouterState): void {
  for (const satellite of r.registry.all()) {
    const input = r.scores.inputs.get(satellite);
    if (input === undefined || input.load !== null) continue;
    const done = satellite.done - input.done;
    const failed = satellite.failed - input.failed;
    input.done = satellite.done;
    input.failed = satellite.failed;
    const finished = done + failed;
    input.raw = formulaScore(r, satellite, {
      inFlight: satellite.inFlight,
      queued: 0,
      lagMs: 0,
      errorRate: finished === 0 ? 0 : failed / finished,
    });
    r.scores.dirty.add(satellite);
  }
}

/** The score a raw result moves `current` to: steps of `step`, only past a whole step, at least `min`. */
export function steppedScore(current: number, raw: number, step: number, min: number): number {
  if (Math.abs(raw - current) < step) return current;
  return Math.max(min, Math.min(100, Math.round(raw / step) * step));
}

function stepOf(r: RouterState, raw: number): number {
  const { step, min } = r.config.scores;
  return Math.max(min, Math.min(100, Math.round(raw / step) * step));
}

/** On the tick: the scores that moved are put in force, one placement-cache drop per type. */
export function applyScores(r: RouterState): void {
  const book = r.scores;
  if (book.dirty.size === 0) return;
  const { step, min } = r.config.scores;
  const byType = new Map<string, Array<[number, number]>>();
  for (const satellite of book.dirty) {
    if (r.registry.byId(satellite.id) !== satellite) continue; // lost meanwhile
    const input = book.inputs.get(satellite);
    if (input === undefined || book.locks.has(satellite.id)) continue;
    const score = steppedScore(satellite.score, input.raw, step, min);
    if (score !== satellite.score) setScore(r, satellite, score, byType);
  }
  book.dirty.clear();
  flushReweights(r, byType);
}

function setScore(
  r: RouterState,
  satellite: SatelliteInfo,
  score: number,
  byType: Map<string, Array<[number, number]>>,
): void {
  const before = satellite.score;
  satellite.score = score;
  r.scores.changes++;
  for (const type of satellite.types) {
    let changes = byType.get(type);
    if (changes === undefined) byType.set(type, (changes = []));
    changes.push([satellite.device, scoreReweight(score)]);
  }
  // In or out of placement altogether: like a drain (queued jobs move) or its end.
  if ((before === 0) !== (score === 0)) {
    updatePlaceable(r, satellite);
    if (score === 0) requeueQueued(r, satellite, r.now);
    else pumpQueue(r, satellite, r.now);
  }
}

function flushReweights(r: RouterState, byType: Map<string, Array<[number, number]>>): void {
  for (const [type, changes] of byType) r.placements.get(type)?.setReweights(changes);
}

/**
 * `dsat score lock TARGET N` / `dsat score unlock TARGET` (control, admin): pins the score of the
 * satellites TARGET names (an id, a host, a rack, level=name), or releases it to the formula.
 * An id not registered now is locked when it registers.
 */
export function lockScore(
  r: RouterState,
  target: string,
  score: number | null,
): { ok: boolean; satellites?: string[]; error?: string } {
  if (target === "") return { ok: false, error: "name a satellite id, a host, a rack, or level=name" };
  if (score !== null && (!Number.isInteger(score) || score < 0 || score > 100))
    return { ok: false, error: `a score is an integer in 0..100, got ${JSON.stringify(score)}` };
  const book = r.scores;
  const named = [...r.registry.all()].filter((satellite) => targetNames(target, satellite));
  const ids = named.length > 0 ? named.map((satellite) => satellite.id) : [target];
  if (score !== null && book.locks.size + ids.length > r.config.limits.satellitesMax * 2)
    return { ok: false, error: `too many locks (at most ${r.config.limits.satellitesMax * 2})` };
  const byType = new Map<string, Array<[number, number]>>();
  for (const id of ids) {
    book.startLocks.delete(id);
    if (score === null) {
      book.locks.delete(id);
      // Bounded like the locks: the oldest releases are forgotten first.
      if (book.released.size >= r.config.limits.satellitesMax * 2)
        book.released.delete(book.released.values().next().value as string);
      book.released.add(id);
    } else {
      book.locks.set(id, score);
      book.released.delete(id);
    }
  }
  for (const satellite of named) {
    const input = book.inputs.get(satellite);
    // Unlocked: the formula's score now (100 until it has reported a load).
    const next = score ?? (input === undefined ? 100 : stepOf(r, input.raw));
    if (next !== satellite.score) setScore(r, satellite, next, byType);
    r.publishEvent("satellite.score", {
      satellite: satellite.id,
      score: satellite.score,
      locked: score !== null,
    });
  }
  flushReweights(r, byType);
  r.log(
    `orchestrator: score ${score === null ? "unlock" : `lock ${score}`} ${target}: ${named.length} satellites (${named.map((s) => s.id).join(", ")})`,
  );
  runEffects(r, r.now);
  return { ok: true, satellites: named.map((satellite) => satellite.id) };
}

/** What status shows of a satellite's score: 0 while its connection is gone (it is out of placement). */
export function scoreView(
  r: RouterState,
  satellite: SatelliteInfo,
): { score: number; scoreLocked: boolean; load: SatelliteLoad | null } {
  return {
    score: Number.isNaN(satellite.connectionGoneAt) ? satellite.score : 0,
    scoreLocked: r.scores.locks.has(satellite.id),
    load: r.scores.inputs.get(satellite)?.load ?? null,
  };
}
