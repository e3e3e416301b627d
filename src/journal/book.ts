// Replay: folds the journal's records, in order, into the jobs they describe. Pure. An orchestrator
// starting up folds its own journal; a Raft follower will fold the replicated log the same way.
import { RecencyMap } from "../util/index.ts";
import type { AcceptedRecord, CompletedRecord, JournalRecord, OperatorRecord } from "./records.ts";

/** Operators' decisions kept (distinct targets and keys); beyond, the oldest is forgotten. */
export const OPERATOR_DECISIONS_MAX = 10_000;

/** A job that had not ended: its current step as accepted, and how far that step got. */
export interface UnfinishedJob {
  accepted: AcceptedRecord;
  /** The highest attempt of this step that was dispatched (0: never sent). */
  attempts: number;
  /** Where that attempt went. */
  satelliteId: string | null;
}

export class JobBook {
  readonly unfinished = new Map<string, UnfinishedJob>();
  /** Ended jobs, in the order they ended. */
  readonly finished = new RecencyMap<string, CompletedRecord>();
  /**
   * Operators' decisions in force (drains, score locks, live settings), by what they decide on,
   * oldest first; at most OPERATOR_DECISIONS_MAX (the oldest go).
   */
  readonly operator = new Map<string, OperatorRecord>();
  /** Records that named a job the book did not have (dispatched after completed, for example). */
  stray = 0;

  apply(record: JournalRecord): void {
    switch (record.k) {
      case "accepted":
        // A new job, its next pipeline step, or a retry of a finished one.
        this.finished.delete(record.id);
        this.unfinished.set(record.id, { accepted: record, attempts: 0, satelliteId: null });
        return;
      case "dispatched": {
        const job = this.unfinished.get(record.id);
        if (job === undefined || job.accepted.step !== record.step) {
          this.stray++;
          return;
        }
        if (record.attempt >= job.attempts) {
          job.attempts = record.attempt;
          job.satelliteId = record.satelliteId;
        }
        return;
      }
      case "completed":
        this.unfinished.delete(record.id);
        this.finished.set(record.id, record); // set again: newest, the map stays in completion order
        return;
      case "forgotten":
        this.finished.delete(record.id);
        return;
      case "operator":
        this.operator.delete(record.id); // re-inserted: the map stays in decision order
        this.operator.set(record.id, record);
        if (this.operator.size > OPERATOR_DECISIONS_MAX)
          this.operator.delete(this.operator.keys().next().value as string);
        return;
    }
  }

  /** Forgets finished jobs that ended before nowMs - ttlMs; returns how many. */
  expire(nowMs: number, ttlMs: number): number {
    return expireFinished(this.finished, nowMs, ttlMs);
  }
}

/** Drops entries of a completion-ordered map older than ttlMs; stops at the first younger one. */
export function expireFinished(
  finished: RecencyMap<string, CompletedRecord>,
  nowMs: number,
  ttlMs: number,
): number {
  let dropped = 0;
  for (let oldest = finished.oldestValue(); oldest !== undefined; oldest = finished.oldestValue()) {
    if (oldest.completedAt + ttlMs > nowMs) break;
    finished.deleteOldest();
    dropped++;
  }
  return dropped;
}

/** Forgets the oldest finished jobs past `max`; returns how many. */
export function trimFinished(finished: RecencyMap<string, CompletedRecord>, max: number): number {
  let dropped = 0;
  while (finished.size > max && finished.deleteOldest()) dropped++;
  return dropped;
}
