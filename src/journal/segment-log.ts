// A segmented append-only log: the storage under the durable job journal, and the shape a Raft log
// will need later. Records are opaque bytes; each gets a seq (1-based, contiguous, strictly increasing).
//
// append() only buffers (framed and checksummed into a few large chunks). commit() writes everything
// buffered with one positional writev at the end of the active segment and one fdatasync, and every
// commit() issued meanwhile shares that write: group commit. At most one batch is in flight; records
// appended during it go into the next batch, which starts as soon as the current one lands.
//
// On disk a log is a directory of segment files named after their first seq, so lexical order is seq
// order (segment-format.ts). Files are created whole (temp name, fsync, rename, fsync the directory:
// segment-writer.ts does the writes, this file decides when and what), so a segment that has its real name never has a torn header. open() verifies every header and record
// checksum and repairs what a crash or bad disk left (segment-recovery.ts): a torn tail is truncated,
// a damaged segment is set aside and replaced by the records that could be read. Compaction writes the
// live state as one new segment flagged "base": once that file has its name the old segments are
// superseded, so a crash at any point leaves the old log or the new one, never a mix.
//
// A failed write or fsync does not lose records: the log keeps every record not known to be on disk,
// in order, refuses commits, and probe() writes them again into a fresh segment once the disk allows.
//
//   const log = SegmentLog.open("/var/lib/dsat/journal");
//   for (const { seq, data } of log.replay()) apply(seq, data);
//   const seq = log.append(encode(event));
//   await log.commit();                     // seq, and every record before it, is now durable
import fs from "node:fs";
import path from "node:path";
import { describeIoError, JournalError } from "./errors.ts";
import type { Recovered, RecoveryReport, SegmentFile } from "./recovery-types.ts";
import {
  FLAG_BASE,
  FRAME_HEADER_BYTES,
  FrameBatch,
  FrameReader,
  newSalt,
  RECORD_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  seedOf,
} from "./segment-format.ts";
import type { LogRecord, SegmentLogOptions, SegmentLogStats } from "./segment-log-types.ts";
import { recoverDirectory } from "./segment-recovery.ts";
import { type BatchError, type Group, SegmentWriter } from "./segment-writer.ts";

const SEGMENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

interface Settings {
  segmentBytesMax: number;
  fsync: boolean;
  commitWindowMs: number;
  log: (line: string) => void;
  now: () => number;
}

function settingsOf(options: SegmentLogOptions): Settings {
  const settings: Settings = {
    segmentBytesMax: options.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT,
    fsync: options.fsync ?? true,
    commitWindowMs: options.commitWindowMs ?? 0,
    log: options.log ?? ((line) => console.error(line)),
    now: options.now ?? Date.now,
  };
  if (!Number.isSafeInteger(settings.segmentBytesMax) || settings.segmentBytesMax <= SEGMENT_HEADER_BYTES) {
    throw new RangeError(`segmentBytesMax must be an integer above ${SEGMENT_HEADER_BYTES}`);
  }
  if (!Number.isFinite(settings.commitWindowMs) || settings.commitWindowMs < 0) {
    throw new RangeError("commitWindowMs must be a finite number of milliseconds, 0 or more");
  }
  return settings;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

function checkRecord(data: Uint8Array): void {
  if (data.length === 0 || data.length > RECORD_BYTES_MAX) {
    throw new JournalError(
      "JOURNAL_RECORD_SIZE",
      `a journal record is 1 byte to ${RECORD_BYTES_MAX} bytes, not ${data.length}`,
    );
  }
}

export class SegmentLog {
  readonly recovery: RecoveryReport;
  readonly stats: SegmentLogStats = { batches: 0, fsyncs: 0, bytesWritten: 0, failures: 0, probes: 0 };
  private readonly dir: string;
  private readonly settings: Settings;
  private readonly writer: SegmentWriter;
  /** What open() found, for replay(); undefined once a compaction replaces those files. */
  private opened: readonly SegmentFile[] | undefined;
  /** Appended, not yet handed to a batch (after a failure: everything not known to be on disk). */
  private pending: Group[] = [];
  /** Size, record count and salt the segment the last pending group writes to will have: decides rolls. */
  private tailBytes: number;
  private tailRecords: number;
  private tailSalt: number;
  private lastAppendedSeq: number;
  private lastCommittedSeq: number;
  /** commit() calls served by the next batch. */
  private waiting: Waiter[] = [];
  /** commit() calls served by the batch being written, if one is. */
  private inFlight: Waiter[] | undefined;
  private scheduled = false;
  private failed: JournalError | undefined;
  private probing: Promise<boolean> | undefined;
  private closing: Promise<void> | undefined;

  /**
   * Synchronous: creates dir, verifies every segment and repairs before returning. Throws JournalError
   * JOURNAL_UNREADABLE (a segment is a directory, unreadable...) or JOURNAL_REPAIR (a repair could not
   * be written), with a one-line message.
   */
  static open(dir: string, options: SegmentLogOptions = {}): SegmentLog {
    const settings = settingsOf(options);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new JournalError(
        "JOURNAL_UNREADABLE",
        `journal ${dir}: cannot create the directory (${describeIoError(error)})`,
        { cause: error },
      );
    }
    return new SegmentLog(dir, settings, recoverDirectory(dir, settings.log, settings.now));
  }

  private constructor(dir: string, settings: Settings, recovered: Recovered) {
    this.dir = dir;
    this.settings = settings;
    this.recovery = recovered.report;
    this.writer = new SegmentWriter(dir, settings.fsync, this.stats, recovered.segments, recovered.activeFd);
    this.opened = recovered.segments.map((segment) => ({ ...segment }));
    const active = recovered.segments.at(-1)!;
    this.tailBytes = active.bytes;
    this.tailRecords = active.records;
    this.tailSalt = active.salt;
    this.lastAppendedSeq = active.firstSeq + active.records - 1;
    this.lastCommittedSeq = this.lastAppendedSeq;
  }

  get appendedSeq(): number {
    return this.lastAppendedSeq;
  }

  get committedSeq(): number {
    return this.lastCommittedSeq;
  }

  /** Bytes written to segment files (committed or being committed), for compaction decisions. */
  get sizeBytes(): number {
    return this.writer.sizeBytes;
  }

  /** Why the log cannot write (JOURNAL_FAILED), or undefined while it can. */
  get failure(): JournalError | undefined {
    return this.failed;
  }

  /**
   * The records found at open, in order, read from disk as iterated (each `data` is a copy the caller
   * may keep). Iterable more than once; throws once a compaction has replaced those segments.
   */
  replay(): Iterable<LogRecord> {
    return { [Symbol.iterator]: () => this.readOpened() };
  }

  /**
   * Buffers a record (copied); returns its seq. Not durable until a commit() that starts after it
   * resolves. Also while the log is failed: the record waits, in order, for probe().
   */
  append(data: Uint8Array): number {
    if (this.closing !== undefined) throw new JournalError("JOURNAL_CLOSED", `journal ${this.dir} is closed`);
    checkRecord(data);
    const seq = this.lastAppendedSeq + 1;
    const frameBytes = FRAME_HEADER_BYTES + data.length;
    let group = this.pending.at(-1);
    if (this.tailRecords > 0 && this.tailBytes + frameBytes > this.settings.segmentBytesMax) {
      group = this.newSegmentGroup("roll", seq);
      this.pending.push(group);
    } else if (group === undefined) {
      group = {
        kind: "append",
        firstSeq: seq,
        frames: new FrameBatch(seedOf(this.tailSalt)),
        salt: this.tailSalt,
        flags: 0,
      };
      this.pending.push(group);
    }
    group.frames.add(data);
    this.tailBytes += frameBytes;
    this.tailRecords += 1;
    this.lastAppendedSeq = seq;
    return seq;
  }

  /**
   * Resolves once every record appended before the call is durable. Calls that arrive before the
   * batch starts share one write and fsync; calls during a write are served by the next batch. Rejects
   * (never throws) with JOURNAL_FAILED on an I/O error and while the log is failed (until probe()
   * succeeds): a rejected commit acknowledges nothing.
   */
  commit(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.pending.length === 0) {
      const inFlight = this.inFlight;
      if (inFlight === undefined) return Promise.resolve();
      return new Promise((resolve, reject) => inFlight.push({ resolve, reject }));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  /**
   * After a failure: checks that the active segment is still the file in the log directory, cuts it
   * back to its last durable byte, and writes every record not known to be on disk, in order, into a
   * new segment (plus any segments a roll or compaction needed). Resolves true once they are all
   * durable (committedSeq is then appendedSeq as of the call, and commit() works again), false if the
   * disk still fails (failure says why). Never rejects; true at once when the log is not failed;
   * concurrent calls share one attempt.
   */
  probe(): Promise<boolean> {
    if (this.failed === undefined) return Promise.resolve(true);
    if (this.closing !== undefined) return Promise.resolve(false);
    this.probing ??= this.retry().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /**
   * Replaces the whole log with `records` (the live state, re-encoded by the caller), which get fresh
   * seqs after appendedSeq; records appended after this call follow them. Anything buffered is written
   * first. The new segment is written under a temp name, fsynced and renamed into place with the base
   * flag, then the old segments are deleted: a crash at any point leaves the old log or the new one.
   * The records are copied before this returns; the compacted log is one segment, however large.
   * Rejects while the log is failed.
   */
  compact(records: Iterable<Uint8Array>): Promise<void> {
    try {
      if (this.closing !== undefined)
        throw new JournalError("JOURNAL_CLOSED", `journal ${this.dir} is closed`);
      if (this.failed !== undefined) throw this.failed;
      const salt = newSalt();
      const frames = new FrameBatch(seedOf(salt));
      for (const data of records) {
        checkRecord(data);
        frames.add(data);
      }
      this.pending.push({ kind: "base", firstSeq: this.lastAppendedSeq + 1, frames, salt, flags: FLAG_BASE });
      this.lastAppendedSeq += frames.records;
      this.tailBytes = SEGMENT_HEADER_BYTES + frames.bytes;
      this.tailRecords = frames.records;
      this.tailSalt = salt;
      this.opened = undefined;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.commit();
  }

  /** Commits what is buffered, then closes the active segment. Later appends throw. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    try {
      await this.probing;
      await this.commit();
    } finally {
      await this.writer.close();
    }
  }

  /** A group rolling to a new segment (fresh salt); the tail is that segment from now on. */
  private newSegmentGroup(kind: "roll", firstSeq: number): Group {
    const salt = newSalt();
    this.tailBytes = SEGMENT_HEADER_BYTES;
    this.tailRecords = 0;
    this.tailSalt = salt;
    return { kind, firstSeq, frames: new FrameBatch(seedOf(salt)), salt, flags: 0 };
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight !== undefined) return;
    this.scheduled = true;
    const start = () => {
      this.scheduled = false;
      this.startBatch();
    };
    if (this.settings.commitWindowMs === 0) setImmediate(start);
    else setTimeout(start, this.settings.commitWindowMs);
  }

  private startBatch(): void {
    if (this.failed !== undefined) return; // the waiters were rejected when it failed
    const groups = this.pending;
    const waiters = this.waiting;
    this.pending = [];
    this.waiting = [];
    const last = groups.at(-1);
    if (last === undefined) {
      // Their records went out with an earlier batch (or a probe) that landed.
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    this.inFlight = waiters;
    this.writer.writeBatch(groups).then(
      () => {
        this.lastCommittedSeq = Math.max(this.lastCommittedSeq, last.firstSeq + last.frames.records - 1);
        this.inFlight = undefined;
        for (const waiter of waiters) waiter.resolve();
        // Commits that arrived during the write have waited long enough: no second window.
        if (this.waiting.length > 0) this.startBatch();
      },
      (error: BatchError) => {
        this.inFlight = undefined;
        this.fail(error);
        for (const waiter of waiters) waiter.reject(this.failed!);
      },
    );
  }

  /**
   * A batch failed: nothing from its first unwritten group on is known to be on disk. Those records
   * go back in front of the pending ones; the active segment's in-doubt tail is never written to again
   * (after a failed fsync the kernel may have dropped its pages): probe() cuts it and writes the first
   * unwritten append as a new segment instead.
   */
  private fail(error: BatchError): void {
    this.failed = new JournalError(
      "JOURNAL_FAILED",
      `journal ${this.dir} cannot write (${error.message}); its unwritten records are kept until the disk takes them`,
      { cause: error.ioError },
    );
    this.stats.failures += 1;
    this.writer.rewindToDurable();
    const active = this.writer.active;
    this.pending = [...error.unwritten, ...this.pending];
    const first = this.pending[0];
    if (first?.kind === "append") {
      first.kind = "roll";
      // An empty active segment is replaced by name: keep its base flag.
      first.flags = first.firstSeq === active.firstSeq ? active.flags & FLAG_BASE : 0;
      if (first.salt === 0) {
        first.salt = newSalt();
        first.frames.reframe(seedOf(first.salt));
      }
    }
    this.projectTail();
    for (const waiter of this.waiting) waiter.reject(this.failed);
    this.waiting = [];
  }

  /** Recomputes what the segment the last pending group writes to will hold. */
  private projectTail(): void {
    const active = this.writer.active;
    let bytes = active.bytes;
    let records = active.records;
    let salt = active.salt;
    for (const group of this.pending) {
      if (group.kind !== "append") {
        bytes = SEGMENT_HEADER_BYTES;
        records = 0;
        salt = group.salt;
      }
      bytes += group.frames.bytes;
      records += group.frames.records;
    }
    this.tailBytes = bytes;
    this.tailRecords = records;
    this.tailSalt = salt;
  }

  private async retry(): Promise<boolean> {
    this.stats.probes += 1;
    try {
      await this.writer.checkActiveFile();
      await this.writer.cutInDoubtTail();
    } catch (error) {
      this.failed = new JournalError(
        "JOURNAL_FAILED",
        `journal ${this.dir} cannot write (${describeIoError(error)}); its unwritten records are kept until the disk takes them`,
        { cause: error },
      );
      return false;
    }
    const groups = this.pending;
    this.pending = [];
    try {
      await this.writer.writeBatch(groups);
    } catch (error) {
      this.fail(error as BatchError);
      return false;
    }
    const last = groups.at(-1);
    if (last !== undefined)
      this.lastCommittedSeq = Math.max(this.lastCommittedSeq, last.firstSeq + last.frames.records - 1);
    this.failed = undefined;
    return true;
  }

  private *readOpened(): Generator<LogRecord> {
    for (const segment of this.opened ?? []) {
      if (this.opened === undefined) break;
      const fd = fs.openSync(path.join(this.dir, segment.name), "r");
      try {
        const reader = new FrameReader(fd, segment.bytes, SEGMENT_HEADER_BYTES, seedOf(segment.salt));
        for (let index = 0; index < segment.records; index++) {
          const frame = reader.next();
          if (frame === undefined || "problem" in frame) {
            const problem = frame === undefined ? "ended early" : frame.problem;
            throw new JournalError(
              "JOURNAL_CHANGED",
              `journal: ${segment.name} changed on disk since open (${problem} at byte ${reader.offset})`,
            );
          }
          yield { seq: segment.firstSeq + index, data: Buffer.from(frame.data) };
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    if (this.opened === undefined) {
      throw new JournalError(
        "JOURNAL_COMPACTED",
        "journal replay: a compaction replaced the segments found at open",
      );
    }
  }
}
