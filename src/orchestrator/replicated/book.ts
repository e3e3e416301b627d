// The state machine of a replicated orchestrator: every node folds the committed journal records
// into a JobBook, the same fold an orchestrator's restart replays (journal/book.ts). The node that
// becomes leader starts its router from that book. Entries carry one group commit each: a
// MessagePack array of encoded records.

import {
  type CompletedRecord,
  decodeRecord,
  encodeRecord,
  JobBook,
  type JournalRecord,
  trimFinished,
} from "../../journal/index.ts";
import { decode, encode } from "../../protocol/index.ts";
import type { Entry, Snapshot } from "../../raft/index.ts";
import { RecencyMap } from "../../util/index.ts";
import type { Recovery } from "../durable.ts";

/** One Raft entry's data: the records of one group commit. */
export function encodeBatch(records: readonly Buffer[]): Buffer {
  return encode(records);
}

export class ReplicatedBook {
  private book = new JobBook();
  /** The term of the last entry applied: a new leader serves once its own term's first entry is applied. */
  lastAppliedTerm = 0;
  records = 0;
  badRecords = 0;
  /**
   * While this node serves, its router holds the live state: committed entries are kept as they are
   * and folded only when the book is read (a snapshot, the end of the leadership), which saves the
   * leader decoding every record it wrote itself.
   */
  private deferring = false;
  private deferred: Array<{ index: number; data: Uint8Array }> = [];

  constructor(private readonly log: (line: string) => void) {}

  /** Applies one committed entry (noop and configuration entries only move lastAppliedTerm). */
  apply(entry: Entry): void {
    this.lastAppliedTerm = entry.term;
    if (entry.kind !== "normal") return;
    if (this.deferring) this.deferred.push({ index: entry.index, data: entry.data });
    else this.applyBatch(entry.data, `entry ${entry.index}`);
  }

  /** Keep entries unfolded (this node serves) or fold them as they come (and what was kept, now). */
  defer(on: boolean): void {
    this.deferring = on;
    if (!on) this.catchUp();
  }

  private catchUp(): void {
    const deferred = this.deferred;
    this.deferred = [];
    for (const { index, data } of deferred) this.applyBatch(data, `entry ${index}`);
  }

  private applyBatch(data: Uint8Array, where: string): void {
    let batch: unknown;
    try {
      batch = decode(data);
    } catch (error) {
      this.badRecords++;
      this.log(`replicated journal: ${where} is not a record batch: ${(error as Error).message}`);
      return;
    }
    if (!Array.isArray(batch)) {
      this.badRecords++;
      this.log(`replicated journal: ${where} is not a record batch`);
      return;
    }
    for (const bytes of batch) {
      this.records++;
      try {
        this.book.apply(decodeRecord(bytes as Uint8Array));
      } catch (error) {
        // Committed, so an orchestrator wrote it: a record from another version. Skipped, loudly.
        this.badRecords++;
        this.log(`replicated journal: a record of ${where} skipped: ${(error as Error).message}`);
      }
    }
  }

  /** Forgets finished jobs past retention, and the oldest past finishedMax (as a restart would). */
  expire(nowMs: number, retentionMs: number, finishedMax: number): void {
    if (this.deferring) return; // the router expires its own; the book catches up when read
    this.book.expire(nowMs, retentionMs);
    trimFinished(this.book.finished, finishedMax);
  }

  /** The live records, as one batch: what log reduction keeps in place of the entries. */
  snapshot(): Uint8Array {
    this.catchUp();
    return encodeBatch([...this.liveRecords()].map(encodeRecord));
  }

  restore(snapshot: Snapshot): void {
    this.deferred = [];
    this.book = new JobBook();
    this.lastAppliedTerm = snapshot.term;
    if (snapshot.data.length > 0) this.applyBatch(snapshot.data, `snapshot ${snapshot.index}`);
  }

  private *liveRecords(): Iterable<JournalRecord> {
    yield* this.book.operator.values();
    for (const record of this.book.finished.values()) yield record;
    for (const job of this.book.unfinished.values()) {
      yield job.accepted;
      if (job.attempts > 0 && job.satelliteId !== null)
        yield {
          k: "dispatched",
          id: job.accepted.id,
          step: job.accepted.step,
          attempt: job.attempts,
          satelliteId: job.satelliteId,
        };
    }
  }

  /** What a new leader's router starts from: the replay of everything committed. */
  recovery(): Recovery {
    this.catchUp();
    return {
      unfinished: [...this.book.unfinished.values()],
      operator: [...this.book.operator.values()],
      finished: new RecencyMap<string, CompletedRecord>(this.book.finished),
      records: this.records,
      badRecords: this.badRecords,
      damage: [],
      truncatedBytes: 0,
    };
  }

  get jobs(): { unfinished: number; finished: number } {
    this.catchUp();
    return { unfinished: this.book.unfinished.size, finished: this.book.finished.size };
  }
}
