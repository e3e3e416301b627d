// The orchestrator's side of the journal: records what happens to jobs, tells which records are on
// disk (so acceptances and replies wait for their group commit), keeps finished jobs for their
// retention time, and compacts the log. The storage and the replay fold live in src/journal.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CompletedRecord,
  decodeRecord,
  encodeRecord,
  expireFinished,
  JobBook,
  type JournalRecord,
  type JournalStore,
  SegmentLog,
  type UnfinishedJob,
} from "../journal/index.ts";
import { ConfigError, type ResolvedJournal } from "./config.ts";

export interface Recovery {
  unfinished: UnfinishedJob[];
  records: number;
  badRecords: number;
}

export class JobJournal {
  private readonly log: JournalStore;
  /** Finished jobs within their retention time, in the order they ended. */
  readonly finished: Map<string, CompletedRecord>;
  /** Bytes of the records a compaction would keep, roughly (re-estimated at each compaction). */
  private liveBytesAtCompaction = 0;
  private compacting = false;
  readonly counters = { records: 0, commits: 0, compactions: 0, expired: 0 };

  private constructor(
    private readonly config: ResolvedJournal,
    log: JournalStore,
    finished: Map<string, CompletedRecord>,
  ) {
    this.log = log;
    this.finished = finished;
  }

  /** Opens (repairing a torn tail) and replays the journal. */
  static open(
    config: ResolvedJournal,
    logLine: (line: string) => void,
    nowMs: number,
  ): [JobJournal, Recovery] {
    lockJournal(config.dir, logLine);
    const log = SegmentLog.open(config.dir, {
      fsync: config.fsync,
      commitWindowMs: config.commitWindowMs,
      segmentBytesMax: config.segmentBytesMax,
      log: logLine,
    });
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
    for (const id of book.finished.keys()) {
      if (book.finished.size <= config.finishedMax) break;
      book.finished.delete(id);
    }
    const journal = new JobJournal(config, log, book.finished);
    journal.liveBytesAtCompaction = log.sizeBytes;
    return [journal, { unfinished: [...book.unfinished.values()], records, badRecords }];
  }

  /** Buffers a record; returns its sequence number (durable once committedSeq reaches it). */
  append(record: JournalRecord): number {
    this.counters.records++;
    if (record.k === "completed") {
      this.finished.delete(record.id);
      this.finished.set(record.id, record);
      if (this.finished.size > this.config.finishedMax) {
        // Past the bound the oldest result is forgotten in memory; compaction drops it from disk.
        const oldest = this.finished.keys().next().value as string;
        this.finished.delete(oldest);
        this.counters.expired++;
      }
    }
    if (this.failure !== null) return 0;
    try {
      return this.log.append(encodeRecord(record));
    } catch (error) {
      // The log failed (an I/O error) or the record is too large: nothing more is durable.
      this.failure = (error as Error).message;
      return 0;
    }
  }

  /** Why the journal stopped taking records (null while it works). */
  failure: string | null = null;

  /** A finished job's result is dropped for good (titanic.close). */
  forget(id: string): boolean {
    if (!this.finished.delete(id)) return false;
    this.append({ k: "forgotten", id });
    return true;
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

  commit(): Promise<void> {
    this.counters.commits++;
    return this.log.commit();
  }

  /** Drops finished jobs past retention; compacts when the log has grown well past its live part. */
  async maintain(nowMs: number, live: () => Iterable<JournalRecord>): Promise<void> {
    this.counters.expired += expireFinished(this.finished, nowMs, this.config.retentionMs);
    const size = this.log.sizeBytes;
    if (this.compacting || size < this.config.compactBytes || size < 2 * this.liveBytesAtCompaction) return;
    this.compacting = true;
    try {
      const records: Buffer[] = [];
      let bytes = 0;
      for (const record of this.finished.values()) {
        const encoded = encodeRecord(record);
        bytes += encoded.length;
        records.push(encoded);
      }
      for (const record of live()) {
        const encoded = encodeRecord(record);
        bytes += encoded.length;
        records.push(encoded);
      }
      await this.log.compact(records);
      this.liveBytesAtCompaction = bytes;
      this.counters.compactions++;
    } finally {
      this.compacting = false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.log.close();
    } finally {
      rmSync(join(this.config.dir, "LOCK"), { force: true });
    }
  }
}

/**
 * One orchestrator per journal: two writers would interleave records. The LOCK file names the
 * owner's pid; a lock whose process is gone (kill -9) is taken over, with a log line.
 */
function lockJournal(dir: string, logLine: (line: string) => void): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "LOCK");
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const owner = Number.parseInt(readFileSync(file, "utf8"), 10);
  if (Number.isInteger(owner) && owner !== process.pid && alive(owner))
    throw new ConfigError(
      `journal.dir ${dir}: in use by process ${owner} (its LOCK file); one orchestrator per journal`,
    );
  if (owner !== process.pid)
    logLine(`journal: ${dir}: taking over the lock of process ${owner}, which is gone`);
  writeFileSync(file, `${process.pid}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // A killed process nobody has reaped yet (a zombie) still answers kill(pid, 0).
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}
