// The Raft log, hard state and snapshot on disk (docs/raft.md, "On disk"), behind the core's Storage.
//
//   <dir>/LOCK       the journal's directory lock: one process per data directory
//   <dir>/log/       a SegmentLog (the journal's checksummed segments) of entry and reset records
//   <dir>/hardstate  term, vote, commit: checksummed, replaced atomically
//   <dir>/snapshot   the latest snapshot: checksummed, replaced atomically
//
// The entry log is append-only and never rewritten in place. Truncating a conflicting suffix is an
// append too: a record for index i supersedes every record at i or after it written before, and open()
// replays the records in order. One record is atomic (framed and checksummed; a torn tail is cut at
// open), so a crash at any point leaves either the old log or a prefix of the new one: never a mix with
// a hole. Superseded records are dropped when the log is rewritten (SegmentLog.compact: a new base
// segment, atomic) once they outnumber the live ones.
//
// Like etcd's WAL + MemoryStorage, the live entries are also held in memory (the core reads them
// synchronously); compaction (snapshot + compact) is what bounds both.
//
// Writes are buffered; sync() makes them durable: the log first (one group commit, fdatasync), then the
// hard state file if its term or vote changed. A commit index alone is not worth an fsync (a commit
// index lost in a crash is learnt again from the leader): it is written with the next term or vote
// change, a snapshot, or at close.
import path from "node:path";
import { type DirectoryLock, lockDirectory, SegmentLog } from "../../journal/index.ts";
import type { ConfigState, Entry, HardState, Snapshot } from "../index.ts";
import { EMPTY_CONFIG, StorageError, StoredLog } from "../index.ts";
import {
  decodeLogRecord,
  encodeEntryRecord,
  encodeResetRecord,
  readHardState,
  readSnapshot,
  removeTempFiles,
  writeHardState,
  writeSnapshot,
} from "./disk-format.ts";

export interface DiskStorageOptions {
  /** fsync the log, the hard state and the snapshot (default true). false: a process crash loses nothing, a power loss may. */
  fsync?: boolean;
  /** Segment size of the entry log (default 64 MiB). */
  segmentBytesMax?: number;
  /** Rewrite the entry log once it holds this many superseded records, and more than live ones (default 10,000). */
  rewriteAfterRecords?: number;
  /**
   * A fresh directory (no snapshot, no hard state, no log) starts as a founding member of a cluster with
   * this configuration (MemoryStorage.bootstrap's snapshot at (1, 1)). Ignored once the directory holds
   * anything.
   */
  bootstrap?: ConfigState;
  /** Where recovery messages go (default console.error). */
  log?: (line: string) => void;
}

const EMPTY_DATA = new Uint8Array(0);

/** What open() rebuilt from the log: entries after (start, startTerm), in order. */
interface Replayed {
  start: number;
  startTerm: number;
  entries: Entry[];
  records: number;
}

function replayLog(log: SegmentLog, where: string): Replayed {
  let start = 0;
  let startTerm = 0;
  let entries: Entry[] = [];
  let records = 0;
  for (const { seq, data } of log.replay()) {
    records += 1;
    const record = decodeLogRecord(data, `${where} record ${seq}`);
    if (record.type === "reset") {
      start = record.index;
      startTerm = record.term;
      entries = [];
      continue;
    }
    const { index } = record.entry;
    if (index <= start) continue;
    if (index > start + entries.length + 1) {
      throw new StorageError(
        `${where} record ${seq}: entry ${index} leaves a gap after ${start + entries.length}`,
      );
    }
    entries.length = index - start - 1; // supersedes what followed
    entries.push(record.entry);
  }
  return { start, startTerm, entries, records };
}

export class DiskStorage extends StoredLog {
  /** The hard state as last written to the file. */
  private written: HardState;
  /** Records in the segment log since it was last rewritten. */
  private logRecords: number;
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly log: SegmentLog,
    private readonly lock: DirectoryLock,
    private readonly fsync: boolean,
    private readonly rewriteAfter: number,
    state: { hard: HardState; written: HardState; snap: Snapshot; slots: Entry[]; logRecords: number },
  ) {
    super();
    this.hard = state.hard;
    this.written = state.written;
    this.snap = state.snap;
    this.slots = state.slots;
    this.logRecords = state.logRecords;
  }

  /**
   * Takes the directory (JournalError JOURNAL_LOCKED if another process holds it), repairs the entry
   * log (a torn tail is cut), replays it and reads the hard state and snapshot. Damage that is not a
   * torn tail throws a StorageError saying which file.
   */
  static async open(dir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
    const say = options.log ?? ((line: string) => console.error(line));
    const fsync = options.fsync ?? true;
    const lock = lockDirectory(dir, say);
    let log: SegmentLog | undefined;
    try {
      removeTempFiles(dir);
      const logDir = path.join(dir, "log");
      log = SegmentLog.open(logDir, { fsync, segmentBytesMax: options.segmentBytesMax, log: say });
      const replayed = replayLog(log, logDir);
      const storedSnapshot = readSnapshot(dir);
      const storedHard = readHardState(dir);
      const fresh = storedSnapshot === undefined && storedHard === undefined && replayed.records === 0;
      const snap = storedSnapshot ?? { index: 0, term: 0, config: EMPTY_CONFIG, data: EMPTY_DATA };
      const slots = DiskStorage.liveEntries(replayed, snap, logDir);
      const last = slots[0].index + slots.length - 1;
      const hard = DiskStorage.normalise(
        storedHard ?? { term: 0, vote: null, commit: 0 },
        snap,
        slots.at(-1)!.term,
      );
      if (hard.commit > last) {
        throw new StorageError(
          `${dir}: the hard state's commit index ${hard.commit} is past the last entry on disk (${last}); entries were lost`,
        );
      }
      const storage = new DiskStorage(dir, log, lock, fsync, options.rewriteAfterRecords ?? 10_000, {
        hard,
        written: storedHard ?? hard,
        snap,
        slots,
        logRecords: replayed.records,
      });
      if (fresh && options.bootstrap !== undefined) await storage.bootstrap(options.bootstrap);
      return storage;
    } catch (error) {
      await log?.close().catch(() => {});
      lock.release();
      throw error;
    }
  }

  /**
   * The entries after the snapshot. The log's suffix after the snapshot is kept only if the log holds
   * the snapshot's own (index, term): otherwise the snapshot was installed over a conflicting log and
   * the crash came before its reset record was durable.
   */
  private static liveEntries(replayed: Replayed, snap: Snapshot, where: string): Entry[] {
    const placeholder: Entry = { index: snap.index, term: snap.term, kind: "noop" };
    const { start, startTerm, entries } = replayed;
    if (start > snap.index) {
      throw new StorageError(
        `${where}: the log starts after entry ${start} but the snapshot only covers up to ${snap.index} (the snapshot file was lost or replaced)`,
      );
    }
    const offset = snap.index - start;
    const termThere = offset === 0 ? startTerm : entries[offset - 1]?.term;
    if (termThere !== snap.term) return [placeholder];
    return [placeholder, ...entries.slice(offset)];
  }

  /**
   * The log is synced before the hard state file is written, so a crash between the two can leave
   * entries (or a snapshot) of a term newer than the stored one. Such a node never voted in that newer
   * term as far as anyone knows: a vote is only sent after both are durable. So the term is raised to
   * the newest term on disk with no vote, and the commit index to at least the snapshot's (a snapshot
   * covers committed entries only).
   */
  private static normalise(hard: HardState, snap: Snapshot, lastTerm: number): HardState {
    const newest = Math.max(snap.term, lastTerm);
    const raised = hard.term < newest ? { term: newest, vote: null, commit: hard.commit } : hard;
    return { ...raised, commit: Math.max(raised.commit, snap.index) };
  }

  private async bootstrap(config: ConfigState): Promise<void> {
    if (config.voters.length === 0) throw new StorageError("a cluster needs at least one voter");
    await this.applySnapshot({ index: 1, term: 1, config, data: EMPTY_DATA });
    this.setHardState({ term: 1, vote: null, commit: 1 });
    await this.sync();
  }

  // ---- Storage (what the core reads) ---------------------------------------------------------------

  // ---- Writes (from a Ready, and compaction) -------------------------------------------------------

  /**
   * Buffers entries (contiguous, increasing); durable after sync(). An entry at an index already held
   * replaces it and everything after it. Entries the snapshot covers are skipped.
   */
  append(entries: readonly Entry[]): void {
    this.checkOpen();
    if (entries.length === 0) return;
    for (let i = 1; i < entries.length; i += 1) {
      if (entries[i].index !== entries[i - 1].index + 1)
        throw new StorageError("appended entries must be contiguous");
    }
    const first = entries[0].index;
    if (first > this.lastIndex() + 1)
      throw new StorageError(`append at ${first} leaves a gap after ${this.lastIndex()}`);
    const skip = Math.max(0, this.offset + 1 - first);
    if (skip >= entries.length) return;
    // Encode everything first: a record the log refuses (too large) must not leave memory and disk apart.
    const records = entries.slice(skip).map(encodeEntryRecord);
    for (const record of records) this.log.append(record);
    this.logRecords += records.length;
    this.slots.length = first + skip - this.offset;
    for (let i = skip; i < entries.length; i += 1) this.slots.push(entries[i]);
  }

  /** Kept in memory; written by sync() when term or vote changed (see the header). */
  setHardState(hardState: HardState): void {
    this.checkOpen();
    this.hard = hardState;
  }

  /** Makes every write so far durable: the entry log, then the hard state if term or vote changed. */
  sync(): Promise<void> {
    const run = this.syncing.then(() => this.syncNow());
    this.syncing = run.catch(() => {});
    return run;
  }

  private async syncNow(): Promise<void> {
    await this.log.commit();
    const hard = this.hard;
    if (hard.term !== this.written.term || hard.vote !== this.written.vote) await this.writeHard(hard);
  }

  private async writeHard(hard: HardState): Promise<void> {
    await writeHardState(this.dir, hard, this.fsync);
    this.written = hard;
  }

  /**
   * Installs a snapshot from the leader, replacing the log: the snapshot file first (atomic), then a
   * reset record (durable at the next sync). A crash between the two is handled at open.
   */
  async applySnapshot(snapshot: Snapshot): Promise<void> {
    this.checkOpen();
    if (snapshot.index <= this.snap.index && this.snap.index > 0) {
      throw new StorageError(
        `snapshot ${snapshot.index} is not newer than the one held (${this.snap.index})`,
      );
    }
    await writeSnapshot(this.dir, snapshot, this.fsync);
    this.snap = snapshot;
    this.slots = [{ index: snapshot.index, term: snapshot.term, kind: "noop" }];
    this.log.append(encodeResetRecord(snapshot.index, snapshot.term));
    this.logRecords += 1;
    await this.maybeRewrite();
  }

  /**
   * Records a snapshot of the application's state at `index` (applied), with the membership in force
   * there. Durable when it resolves. The entries stay in memory until compact(); on disk, the next
   * open() starts after the snapshot.
   */
  async createSnapshot(index: number, config: ConfigState, data: Uint8Array): Promise<Snapshot> {
    this.checkOpen();
    if (index <= this.snap.index) {
      throw new StorageError(`snapshot at ${index} is not newer than the one held (${this.snap.index})`);
    }
    if (index > this.lastIndex()) throw new StorageError(`cannot snapshot at ${index}, past the last entry`);
    const snapshot: Snapshot = { index, term: this.term(index), config, data };
    await writeSnapshot(this.dir, snapshot, this.fsync);
    this.snap = snapshot;
    return snapshot;
  }

  /** Drops the entries up to `index`, which the snapshot must cover; rewrites the log when worth it. */
  async compact(index: number): Promise<void> {
    this.checkOpen();
    if (index <= this.offset) return;
    if (index > this.snap.index) {
      throw new StorageError(`cannot compact to ${index}: the snapshot only covers up to ${this.snap.index}`);
    }
    const kept = this.slots.slice(index - this.offset);
    kept[0] = { index, term: kept[0].term, kind: "noop" };
    this.slots = kept;
    await this.maybeRewrite();
  }

  /** Records in the entry log that open() would skip or override. */
  get supersededRecords(): number {
    return this.logRecords - this.slots.length;
  }

  /** Rewrites the entry log as one base segment: a reset at the first kept position, then the live entries. */
  private async maybeRewrite(): Promise<void> {
    const live = this.slots.length;
    if (this.logRecords - live < Math.max(this.rewriteAfter, live)) return;
    const [start, ...entries] = this.slots;
    const records = [encodeResetRecord(start.index, start.term), ...entries.map(encodeEntryRecord)];
    await this.log.compact(records);
    this.logRecords = records.length;
  }

  /** Makes everything durable (commit index included), then frees the directory, even if a write fails. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
      this.closed = true;
      if (this.hard.commit !== this.written.commit) await this.writeHard(this.hard);
    } finally {
      this.closed = true;
      await this.log.close().catch(() => {});
      this.lock.release();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(`raft storage ${this.dir} is closed`);
  }
}
