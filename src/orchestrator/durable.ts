// The orchestrator's side of the journal: records what happens to jobs, tells which records are on
// disk (so acceptances and replies wait for their group commit), and compacts the log with what
// the router says is live. Finished jobs are the router's to keep (src/orchestrator/router). The storage and the replay fold live in src/journal.

import {
  type CompletedRecord,
  type DirectoryLock,
  decodeRecord,
  encodeRecord,
  JobBook,
  type JournalRecord,
  type JournalStore,
  lockDirectory,
  type OperatorRecord,
  type SegmentDamage,
  SegmentLog,
  trimFinished,
  type UnfinishedJob,
} from "../journal/index.ts";
import type { RecencyMap } from "../util/index.ts";
import type { ResolvedJournal } from "./config.ts";

export interface Recovery {
  unfinished: UnfinishedJob[];
  /** Finished jobs within retention (at most finishedMax, the newest), in the order they ended. */
  finished: RecencyMap<string, CompletedRecord>;
  records: number;
  badRecords: number;
  /** Operators' decisions in force (drains, score locks, live settings), oldest first. */
  operator: OperatorRecord[];
  /** Damage found and repaired at open (empty normally): publish each as `journal.damaged`. */
  damage: SegmentDamage[];
  /** Bytes of a torn tail cut off at open (the normal result of a crash mid-commit). */
  truncatedBytes: number;
}

/** What a journal counts (status().journal, metrics); a replicated journal counts the same. */
export interface JournalCounters {
  records: number;
  commits: number;
  compactions: number;
  failures: number;
  probes: number;
  resumed: number;
}

export function newJournalCounters(): JournalCounters {
  return { records: 0, commits: 0, compactions: 0, failures: 0, probes: 0, resumed: 0 };
}

/** "Never durable": what append() returns for a record the journal cannot take (closed, too large). */
export const NEVER_DURABLE = Number.POSITIVE_INFINITY;

export class JobJournal {
  private readonly log: JournalStore;
  /** Damage found at open (also in the Recovery), kept for `dsat status`. */
  readonly damage: readonly SegmentDamage[];
  /** Bytes of the records a compaction would keep, roughly (re-estimated at each compaction). */
  private liveBytesAtCompaction = 0;
  private compacting = false;
  /** Why append() refused a record (closed, too large), if it did. */
  private refused: string | null = null;
  /** Date.now() of the failure the journal is in, or null while it works. */
  private failedAt: number | null = null;
  readonly counters: JournalCounters = newJournalCounters();

  private constructor(
    private readonly config: ResolvedJournal,
    log: JournalStore,
    private readonly lock: DirectoryLock,
    damage: SegmentDamage[],
  ) {
    this.log = log;
    this.damage = damage;
  }

  /**
   * Locks the directory, opens the log (repairing a torn tail, setting damaged segments aside) and
   * replays it. Throws JournalError with a one-line message: JOURNAL_LOCKED (another live process
   * holds the directory), JOURNAL_UNREADABLE or JOURNAL_REPAIR (see isJournalOpenError).
   */
  static open(
    config: ResolvedJournal,
    logLine: (line: string) => void,
    nowMs: number,
  ): [JobJournal, Recovery] {
    const lock = lockDirectory(config.dir, logLine);
    let log: SegmentLog;
    try {
      log = SegmentLog.open(config.dir, {
        fsync: config.fsync,
        commitWindowMs: config.commitWindowMs,
        segmentBytesMax: config.segmentBytesMax,
        log: logLine,
      });
    } catch (error) {
      lock.release();
      throw error;
    }
    const book = new JobBook();
    let records = 0;
    let badRecords = 0;
    for (const { seq, data } of log.replay()) {
      records++;
      try {
        book.apply(decodeRecord(data));
      } catch (error) {
        // The checksum held, so we wrote it: a record from another version. Skip it, loudly.
        badRecords++;
        logLine(`journal: record ${seq} skipped: ${(error as Error).message}`);
      }
    }
    book.expire(nowMs, config.retentionMs);
    trimFinished(book.finished, config.finishedMax);
    const { damage, truncatedBytes } = log.recovery;
    const journal = new JobJournal(config, log, lock, damage);
    journal.liveBytesAtCompaction = log.sizeBytes;
    return [
      journal,
      {
        unfinished: [...book.unfinished.values()],
        finished: book.finished,
        operator: [...book.operator.values()],
        records,
        badRecords,
        damage,
        truncatedBytes,
      },
    ];
  }

  /**
   * Buffers a record; returns its seq, durable once committedSeq reaches it. While the journal is
   * failed the record is kept in memory, in order, and written by a successful probe(). A record the
   * journal cannot take at all (closed, larger than 16 MiB) gets NEVER_DURABLE, which committedSeq
   * never reaches, and `failure` says why.
   */
  append(record: JournalRecord): number {
    this.counters.records++;
    try {
      return this.log.append(encodeRecord(record));
    } catch (error) {
      this.refused = (error as Error).message;
      return NEVER_DURABLE;
    }
  }

  /** Why records cannot be made durable now (null while the journal works). */
  get failure(): string | null {
    return this.log.failure?.message ?? this.refused;
  }

  /** Date.now() when the current failure began, or null while the journal works. */
  get failedSince(): number | null {
    return this.failure === null ? null : this.failedAt;
  }

  get appendedSeq(): number {
    return this.log.appendedSeq;
  }

  get committedSeq(): number {
    return this.log.committedSeq;
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** Resolves once every record appended before the call is on disk; rejects (JOURNAL_FAILED) while failed. */
  commit(): Promise<void> {
    this.counters.commits++;
    return this.log.commit().catch((error: unknown) => {
      this.noteFailure();
      throw error;
    });
  }

  /**
   * While failed: tries to write every record appended so far (those of the failed commit and those
   * appended since), in order, to a fresh segment. Resolves true once they are all on disk:
   * committedSeq has then reached the appendedSeq of the call and commit() works again. Resolves false
   * while the disk still fails (`failure` says why). Never rejects; true at once when not failed;
   * concurrent calls share one attempt. Meant to be called on a timer (say once a second) while failed.
   */
  async probe(): Promise<boolean> {
    if (this.failure === null) return true;
    if (this.refused !== null) return false; // closed or an oversized record: no disk will fix that
    this.counters.probes++;
    const resumed = await this.log.probe();
    if (resumed) {
      this.counters.resumed++;
      this.failedAt = null;
    }
    return resumed;
  }

  /**
   * Compacts when the log has grown well past its live part: `live()` gives every record to keep
   * (the router's finished jobs within retention, then its live jobs).
   */
  async maintain(live: () => Iterable<JournalRecord>): Promise<void> {
    const size = this.log.sizeBytes;
    if (this.failure !== null) return; // a snapshot would only pile up in memory until probe() succeeds
    if (this.compacting || size < this.config.compactBytes || size < 2 * this.liveBytesAtCompaction) return;
    this.compacting = true;
    try {
      const records: Buffer[] = [];
      let bytes = 0;
      for (const record of live()) {
        const encoded = encodeRecord(record);
        bytes += encoded.length;
        records.push(encoded);
      }
      await this.log.compact(records).catch((error: unknown) => {
        this.noteFailure();
        throw error;
      });
      this.liveBytesAtCompaction = bytes;
      this.counters.compactions++;
    } finally {
      this.compacting = false;
    }
  }

  /** Commits what it can, closes the log, then frees the directory (LOCK removed, OS lock released). */
  async close(): Promise<void> {
    try {
      await this.log.close();
    } finally {
      this.lock.release();
    }
  }

  private noteFailure(): void {
    if (this.failedAt !== null || this.log.failure === undefined) return;
    this.failedAt = Date.now();
    this.counters.failures++;
  }
}
