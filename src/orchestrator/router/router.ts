// The router: the orchestrator's decisions as a pure state machine, in the manner of etcd-raft
// (docs/router.md). The shell (../orchestrator.ts) turns frames, timers and journal callbacks
// into events, calls step(event, nowMs), then performs takeEffects(): frames to send, events to
// publish, journal records to append and commits to request, log lines. No sockets, no timers, no
// clock and no randomness of its own: time comes with each event, randomness through the ports,
// so the same events give the same effects (a simulation, a replicated follower).
//
// The state is one RouterState (state.ts); its parts are functions over it, one file a concern:
// clients.ts (requests, admission), dispatch.ts (placement, slots), waiting.ts (the waiting room
// and disk spill), satellites.ts, outcomes.ts (the tracker's effects, replies), commit.ts (the
// journal's gate and recovery), services.ts (Titanic, MMI), snapshots.ts, clock.ts.
import type { JournalRecord } from "../../journal/core.ts";
import type { Tracker } from "../../tracker/index.ts";
import type { ResolvedConfig } from "../config.ts";
import type { JobSummary } from "../job.ts";
import type { JobsPage } from "../jobs-page.ts";
import type { SatelliteRegistry } from "../registry.ts";
import { onFrontend, onIntake } from "./clients.ts";
import { noticeOwnStall, tick } from "./clock.ts";
import {
  liveRecords,
  onBound,
  onCommitted,
  onJournalFailed,
  onJournalResumed,
  placeRecovered,
  recover,
} from "./commit.ts";
import { flushPlacementCaches, getLiveConfig } from "./live-config.ts";
import { explainNear } from "./locality.ts";
import { configDecided, drainDecided, scoreLockDecided } from "./operator.ts";
import { type RebalanceMove, rebalance } from "./rebalance.ts";
import { onPeerGone, onUndelivered } from "./satellites.ts";
import { listJobs, retry, status } from "./snapshots.ts";
import { RouterState } from "./state.ts";
import type { RouterCounters, RouterEffect, RouterEvent, RouterPorts, RouterStatus } from "./types.ts";

export { tickPeriodMs } from "./shared.ts";

export class JobRouter {
  private readonly r: RouterState;

  constructor(config: ResolvedConfig, ports: RouterPorts) {
    this.r = new RouterState(config, ports);
  }

  get config(): ResolvedConfig {
    return this.r.config;
  }

  get registry(): SatelliteRegistry {
    return this.r.registry;
  }

  get tracker(): Tracker {
    return this.r.tracker;
  }

  get counters(): RouterCounters {
    return this.r.counters;
  }

  /**
   * One input, at `nowMs`. Its consequences are queued for takeEffects(); a `retry` command
   * returns its answer.
   */
  step(
    event: RouterEvent,
    nowMs: number,
  ):
    | {
        ok: boolean;
        id?: string;
        satellites?: string[];
        error?: string;
        value?: unknown;
        moves?: RebalanceMove[];
      }
    | undefined {
    this.r.now = nowMs;
    // Before anything else: messages that waited in a socket while this process stalled are read
    // before the late tick, and must not see the stall as time the satellites had (clock.ts).
    noticeOwnStall(this.r, nowMs);
    switch (event.kind) {
      case "frontend":
        onFrontend(this.r, event.frames);
        return;
      case "intake":
        onIntake(this.r, event.frames);
        return;
      case "peer-gone":
        onPeerGone(this.r, event.route);
        return;
      case "undelivered":
        onUndelivered(this.r, event.frames);
        return;
      case "tick":
        tick(this.r, nowMs);
        return;
      case "recovery-poll":
        placeRecovered(this.r);
        return;
      case "recovered":
        recover(this.r, event);
        return;
      case "bound":
        onBound(this.r);
        return;
      case "journal-compacted":
        // The journal numbers the rewritten records after the last one; ours follow them.
        this.r.appendedSeq += event.records;
        return;
      case "journal-committed":
        onCommitted(this.r, event.committedSeq);
        return;
      case "journal-failed":
        onJournalFailed(this.r, event.error, event.notLeader === true);
        return;
      case "journal-resumed":
        onJournalResumed(this.r, event.committedSeq, event.downMs);
        return;
      case "retry":
        return retry(this.r, event.id);
      case "drain":
        return drainDecided(this.r, event.target, event.drain);
      case "score-lock":
        return scoreLockDecided(this.r, event.target, event.score);
      case "config-set":
        return configDecided(this.r, event.key, event.value);
      case "cache-flush":
        return flushPlacementCaches(this.r);
      case "rebalance":
        return rebalance(this.r, event.maxMoves);
    }
  }

  /**
   * What the steps since the last call produced, in order. Batches (replies to dsat clients, jobs
   * to batch satellites) keep filling until a call with `flushBatches` (the shell's end of turn).
   */
  takeEffects(flushBatches = true): RouterEffect[] {
    if (flushBatches) this.r.outbox.flush();
    const effects = this.r.effects;
    this.r.effects = [];
    return effects;
  }

  /** The recovery window is open: the shell polls placeRecovered() often (RECOVERY_POLL_MS). */
  get isRecovering(): boolean {
    return this.r.recovering !== null;
  }

  /** Journal failure, while the journal cannot make records durable (the shell probes it). */
  get journalFailure(): string | null {
    return this.r.journalError;
  }

  /** What scores cost: changes put in force, load frames ignored, placement caches dropped for them. */
  scoreFigures(): { changes: number; badLoads: number; cacheFlushes: number } {
    let cacheFlushes = 0;
    for (const placement of this.r.placements.values()) cacheFlushes += placement.reweightFlushes;
    return { changes: this.r.scores.changes, badLoads: this.r.scores.badLoads, cacheFlushes };
  }

  /**
   * Where a job of `type` keyed `key` reading `inputs` would run now, best first, and how near its
   * data each candidate is (docs/locality.md); a string says why there is no answer.
   */
  placementNear(type: string, key: string, inputs: unknown): ReturnType<typeof explainNear> {
    return explainNear(this.r, type, key, inputs);
  }

  /** `dsat config get [KEY]`: the live settings (those `config set` may change), or one. */
  liveConfig(key?: string): { ok: boolean; settings?: Record<string, unknown>; error?: string } {
    return getLiveConfig(this.r, key);
  }

  /** A snapshot for `dsat status` (the shell adds what only it knows: files, sockets). */
  status(): RouterStatus {
    return status(this.r);
  }

  /** `dsat jobs`: live jobs and kept ones, newest first, one page (jobs-page.ts). */
  listJobs(
    request: { state?: unknown; id?: unknown },
    page?: JobsPage,
  ): { jobs: JobSummary[]; total: number; next: string | null } {
    return listJobs(this.r, request, page);
  }

  /** What a compaction keeps: finished jobs within retention, then live jobs. */
  liveRecords(): Iterable<JournalRecord> {
    return liveRecords(this.r);
  }
}
