// A segmented append-only log: the storage under the durable job journal, and the shape a Raft log
// will need later. Records are opaque bytes; each gets a seq (1-based, contiguous, strictly increasing).
//
// append() only buffers (framed and checksummed into a few large chunks). commit() writes everything
// buffered with one positional writev at the end of the active segment and one fdatasync, and every
// commit() issued meanwhile shares that write: group commit. At most one batch is in flight; records
// appended during it go into the next batch, which starts as soon as the current one lands.
//
// On disk a log is a directory of segment files named after their first seq, so lexical order is seq
// order. Files are created whole (temp name, fsync, rename, fsync the directory), so a segment that
// has its real name never has a torn header. open() verifies every header and record checksum and
// repairs what a crash or bad disk leaves behind: the bytes after the last good record are truncated,
// and segments after a damaged one are set aside as *.corrupt, since records after a hole cannot be
// trusted in order. Compaction writes the live state as one new segment flagged "base": once that
// file has its name the old segments are superseded, so a crash at any point leaves the old log or
// the new one, never a mix. The format is described in docs/journal.md ("Storage: segment files").
//
//   const log = SegmentLog.open("/var/lib/dsat/journal");
//   for (const { seq, data } of log.replay()) apply(seq, data);
//   const seq = log.append(encode(event));
//   await log.commit();                     // seq, and every record before it, is now durable
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { crc32 } from "./crc32.ts";

export interface SegmentLogOptions {
  /** Roll to a new segment file past this size (default 64 MiB). */
  segmentBytesMax?: number;
  /** fdatasync on commit (default true). false: a process crash loses nothing, a power loss may. */
  fsync?: boolean;
  /** Group commit window: commit() waits this long to gather more appends before writing (default 0 = next macrotask, setImmediate). */
  commitWindowMs?: number;
  /** Where recovery messages go (one clear line each), default console.error. */
  log?: (line: string) => void;
}

/** seq: 1-based, strictly increasing, never reused while the log lives. */
export interface LogRecord {
  seq: number;
  data: Uint8Array;
}

export interface RecoveryReport {
  /** Records in the log after recovery. */
  records: number;
  /** Segment files in the log after recovery. */
  segments: number;
  /** Bytes cut off the end of a torn or corrupted segment (set-aside segments are not counted). */
  truncatedBytes: number;
  /** New names (in the log directory) of segments set aside because they followed corruption. */
  corruptSegmentsSetAside: string[];
}

export interface SegmentLogStats {
  /** Batches written: each is one group commit, however many commit() calls it served. */
  batches: number;
  /** fdatasync/fsync calls, on segment files and on the directory. */
  fsyncs: number;
  bytesWritten: number;
}

export type JournalErrorCode =
  | "JOURNAL_CLOSED"
  | "JOURNAL_FAILED"
  | "JOURNAL_RECORD_SIZE"
  | "JOURNAL_COMPACTED"
  | "JOURNAL_CHANGED";

export class JournalError extends Error {
  override name = "JournalError";
  constructor(
    readonly code: JournalErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// ---- Format ---------------------------------------------------------------------------------------

/** Segment header: magic, version, flags, first seq, reserved, crc32 of the 28 bytes before it. */
export const SEGMENT_HEADER_BYTES = 32;
/** Record frame header: payload length, crc32 of (length field + payload). */
export const FRAME_HEADER_BYTES = 8;
export const RECORD_BYTES_MAX = 16 * 1024 * 1024;
const MAGIC = "DSATJRN1";
const FORMAT_VERSION = 1;
/** This segment starts the log: every segment before it was superseded by a compaction. */
const FLAG_BASE = 1;
const SEGMENT_NAME = /^\d{20}\.log$/;
const TEMP_NAME = /^\d{20}\.log\.tmp$/;
const TEMP_SUFFIX = ".tmp";
const CORRUPT_SUFFIX = ".corrupt";
const SEGMENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const CHUNK_BYTES_MIN = 4 * 1024;
const CHUNK_BYTES_MAX = 1024 * 1024;
const READ_WINDOW_BYTES = 1024 * 1024;

interface SegmentHeader {
  firstSeq: number;
  flags: number;
}

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, "0")}.log`;
}

function encodeHeader(firstSeq: number, flags: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  header.write(MAGIC, 0, "latin1");
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(flags, 12);
  header.writeBigUInt64LE(BigInt(firstSeq), 16);
  header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
  return header;
}

/** The header's fields, or why it cannot be trusted. The name must agree, so a renamed file is caught. */
function decodeHeader(bytes: Buffer, name: string): SegmentHeader | { problem: string } {
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    return { problem: `file is ${bytes.length} bytes, shorter than the header` };
  }
  if (bytes.toString("latin1", 0, 8) !== MAGIC) return { problem: "bad magic" };
  if (crc32(bytes.subarray(0, 28)) !== bytes.readUInt32LE(28)) return { problem: "header crc mismatch" };
  const version = bytes.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return { problem: `unknown format version ${version}` };
  const flags = bytes.readUInt32LE(12);
  if ((flags & ~FLAG_BASE) !== 0) return { problem: `unknown flags ${flags}` };
  const firstSeq = bytes.readBigUInt64LE(16);
  if (name !== segmentName(Number(firstSeq)) || firstSeq < 1n || firstSeq > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { problem: `first seq ${firstSeq} does not match the file name` };
  }
  return { firstSeq: Number(firstSeq), flags };
}

/**
 * Frames records into a few large buffers: a commit hands writev a handful of buffers, not one per
 * record, and the caller may reuse its buffer as soon as append() returns.
 */
class FrameBatch {
  bytes = 0;
  records = 0;
  private readonly sealed: Buffer[] = [];
  private chunk: Buffer | undefined;
  private used = 0;

  add(data: Uint8Array): void {
    const frameBytes = FRAME_HEADER_BYTES + data.length;
    if (this.chunk === undefined || this.used + frameBytes > this.chunk.length) this.grow(frameBytes);
    const chunk = this.chunk!;
    const at = this.used;
    chunk.writeUInt32LE(data.length, at);
    chunk.writeUInt32LE(crc32(data, crc32(chunk.subarray(at, at + 4))), at + 4);
    chunk.set(data, at + FRAME_HEADER_BYTES);
    this.used += frameBytes;
    this.bytes += frameBytes;
    this.records += 1;
  }

  buffers(): Buffer[] {
    this.seal();
    return this.sealed;
  }

  /** Chunks start small (single-record commits are common) and double up to CHUNK_BYTES_MAX. */
  private grow(frameBytes: number): void {
    this.seal();
    const chunkBytes = Math.min(CHUNK_BYTES_MAX, CHUNK_BYTES_MIN * 2 ** this.sealed.length);
    this.chunk = Buffer.allocUnsafe(Math.max(frameBytes, chunkBytes));
    this.used = 0;
  }

  private seal(): void {
    if (this.chunk !== undefined && this.used > 0) this.sealed.push(this.chunk.subarray(0, this.used));
    this.chunk = undefined;
  }
}

type Frame = { data: Buffer } | { problem: string } | undefined;

/** Reads a segment's records in order through a window, so memory stays near one record per reader. */
class FrameReader {
  offset: number;
  private window = Buffer.allocUnsafe(READ_WINDOW_BYTES);
  private windowOffset = 0;
  private windowBytes = 0;

  constructor(
    private readonly fd: number,
    private readonly fileBytes: number,
    offset: number,
  ) {
    this.offset = offset;
  }

  /** The next record (a view, valid until the next call), why it is bad, or undefined at a clean end. */
  next(): Frame {
    const left = this.fileBytes - this.offset;
    if (left === 0) return undefined;
    if (left < FRAME_HEADER_BYTES)
      return { problem: `torn frame header, ${left} of ${FRAME_HEADER_BYTES} bytes` };
    let at = this.load(FRAME_HEADER_BYTES);
    const length = this.window.readUInt32LE(at);
    const checksum = this.window.readUInt32LE(at + 4);
    if (length === 0 || length > RECORD_BYTES_MAX) return { problem: `bad length ${length}` };
    const frameBytes = FRAME_HEADER_BYTES + length;
    if (left < frameBytes) return { problem: `torn record, ${left} of ${frameBytes} bytes` };
    at = this.load(frameBytes);
    const data = this.window.subarray(at + FRAME_HEADER_BYTES, at + frameBytes);
    if (crc32(data, crc32(this.window.subarray(at, at + 4))) !== checksum) return { problem: "crc mismatch" };
    this.offset += frameBytes;
    return { data };
  }

  /** Makes file bytes [offset, offset + bytes) resident; returns where they start in the window. */
  private load(bytes: number): number {
    const start = this.offset - this.windowOffset;
    if (start >= 0 && start + bytes <= this.windowBytes) return start;
    if (bytes > this.window.length) this.window = Buffer.allocUnsafe(bytes);
    const wanted = Math.min(this.window.length, this.fileBytes - this.offset);
    let got = 0;
    while (got < wanted) {
      const read = fs.readSync(this.fd, this.window, got, wanted - got, this.offset + got);
      if (read === 0) throw new JournalError("JOURNAL_CHANGED", "journal segment shrank while being read");
      got += read;
    }
    this.windowOffset = this.offset;
    this.windowBytes = got;
    return 0;
  }
}

// ---- Recovery (synchronous, at open) -------------------------------------------------------------

interface SegmentFile {
  name: string;
  firstSeq: number;
  /** Bytes of the file that hold the header and whole, verified records. */
  bytes: number;
  records: number;
}

interface Probe {
  name: string;
  fileBytes: number;
  header: SegmentHeader | { problem: string };
}

interface Damage {
  index: number;
  /** 0: the whole segment is untrusted (bad header, or a seq gap before it). */
  offset: number;
  reason: string;
}

interface Recovered {
  segments: SegmentFile[];
  activeFd: number;
  report: RecoveryReport;
}

function recoverDirectory(dir: string, log: (line: string) => void): Recovered {
  const entries = fs.readdirSync(dir).sort();
  for (const entry of entries.filter((name) => TEMP_NAME.test(name))) {
    fs.unlinkSync(path.join(dir, entry));
    log(`journal: ${entry}: removed a temp file left by an interrupted segment roll or compaction`);
  }
  let probes = entries.filter((name) => SEGMENT_NAME.test(name)).map((name) => probeSegment(dir, name));
  const start = probes.findLastIndex((probe) => "flags" in probe.header && probe.header.flags & FLAG_BASE);
  if (start > 0) {
    for (const probe of probes.slice(0, start)) fs.unlinkSync(path.join(dir, probe.name));
    log(`journal: removed ${start} segment(s) superseded by the compaction in ${probes[start].name}`);
    probes = probes.slice(start);
  }
  const report: RecoveryReport = { records: 0, segments: 0, truncatedBytes: 0, corruptSegmentsSetAside: [] };
  const segments: SegmentFile[] = [];
  let nextSeq = probes.length > 0 ? Number(probes[0].name.slice(0, 20)) : 1;
  let damage: Damage | undefined;
  for (let index = 0; index < probes.length && damage === undefined; index++) {
    const { name, header } = probes[index];
    if ("problem" in header) damage = { index, offset: 0, reason: header.problem };
    else if (header.firstSeq !== nextSeq) {
      damage = { index, offset: 0, reason: `seq gap: starts at ${header.firstSeq}, expected ${nextSeq}` };
    } else {
      const scan = scanRecords(dir, probes[index]);
      segments.push({ name, firstSeq: nextSeq, bytes: scan.bytes, records: scan.records });
      nextSeq += scan.records;
      if (scan.problem !== undefined) damage = { index, offset: scan.bytes, reason: scan.problem };
    }
  }
  if (damage !== undefined) repair(dir, probes, damage, nextSeq - 1, report, log);
  if (entries.length > 0) syncDirectorySync(dir);
  let activeFd: number;
  if (segments.length === 0) {
    activeFd = createSegmentSync(dir, nextSeq);
    segments.push({ name: segmentName(nextSeq), firstSeq: nextSeq, bytes: SEGMENT_HEADER_BYTES, records: 0 });
  } else {
    activeFd = fs.openSync(path.join(dir, segments.at(-1)!.name), "r+");
  }
  report.segments = segments.length;
  report.records = segments.reduce((sum, segment) => sum + segment.records, 0);
  return { segments, activeFd, report };
}

function probeSegment(dir: string, name: string): Probe {
  const fd = fs.openSync(path.join(dir, name), "r");
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const bytes = Buffer.alloc(Math.min(fileBytes, SEGMENT_HEADER_BYTES));
    const read = fs.readSync(fd, bytes, 0, bytes.length, 0);
    return { name, fileBytes, header: decodeHeader(bytes.subarray(0, read), name) };
  } finally {
    fs.closeSync(fd);
  }
}

function scanRecords(dir: string, probe: Probe): { bytes: number; records: number; problem?: string } {
  const fd = fs.openSync(path.join(dir, probe.name), "r");
  try {
    const reader = new FrameReader(fd, probe.fileBytes, SEGMENT_HEADER_BYTES);
    let records = 0;
    for (let frame = reader.next(); frame !== undefined; frame = reader.next()) {
      if ("problem" in frame) return { bytes: reader.offset, records, problem: frame.problem };
      records += 1;
    }
    return { bytes: reader.offset, records };
  } finally {
    fs.closeSync(fd);
  }
}

/** Cuts the log at the damage: truncates the damaged segment (or sets it aside) and every later one. */
function repair(
  dir: string,
  probes: Probe[],
  damage: Damage,
  recoveredSeq: number,
  report: RecoveryReport,
  log: (line: string) => void,
): void {
  const damaged = probes[damage.index];
  const firstSetAside = damage.offset > 0 ? damage.index + 1 : damage.index;
  let line: string;
  if (damage.offset > 0) {
    const fd = fs.openSync(path.join(dir, damaged.name), "r+");
    try {
      fs.ftruncateSync(fd, damage.offset);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    report.truncatedBytes = damaged.fileBytes - damage.offset;
    line = `journal: ${damaged.name}: corrupt record at byte ${damage.offset} (${damage.reason}); truncated ${report.truncatedBytes} bytes, recovered to seq ${recoveredSeq}`;
  } else {
    line = `journal: ${damaged.name}: bad segment at byte 0 (${damage.reason}); recovered to seq ${recoveredSeq}`;
  }
  for (const probe of probes.slice(firstSetAside))
    report.corruptSegmentsSetAside.push(setAside(dir, probe.name));
  if (report.corruptSegmentsSetAside.length > 0) {
    line += `; set aside ${report.corruptSegmentsSetAside.length} segment(s): ${report.corruptSegmentsSetAside.join(", ")}`;
  }
  log(line);
}

/** Renames a segment out of the log (never deletes it: it may hold the only copy of something). */
function setAside(dir: string, name: string): string {
  for (let attempt = 1; attempt <= 1000; attempt++) {
    const target = attempt === 1 ? `${name}${CORRUPT_SUFFIX}` : `${name}${CORRUPT_SUFFIX}.${attempt}`;
    if (fs.existsSync(path.join(dir, target))) continue;
    fs.renameSync(path.join(dir, name), path.join(dir, target));
    return target;
  }
  throw new Error(`journal: ${name}: 1000 set-aside copies already exist; clean up ${dir}`);
}

/** A new, empty base segment, created whole under its real name; returns its fd (open for writing). */
function createSegmentSync(dir: string, firstSeq: number): number {
  const file = path.join(dir, segmentName(firstSeq));
  const fd = fs.openSync(file + TEMP_SUFFIX, "w");
  try {
    fs.writeSync(fd, encodeHeader(firstSeq, FLAG_BASE), 0, SEGMENT_HEADER_BYTES, 0);
    fs.fdatasyncSync(fd);
    fs.renameSync(file + TEMP_SUFFIX, file);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  syncDirectorySync(dir);
  return fd;
}

/** A rename or unlink is durable only once the directory is synced (Linux; Windows cannot open one). */
function syncDirectorySync(dir: string): void {
  if (process.platform === "win32") return;
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// ---- Asynchronous I/O ------------------------------------------------------------------------------

const openAsync = promisify(fs.open);
const closeAsync = promisify(fs.close);
const writevAsync = promisify(fs.writev);
const fdatasyncAsync = promisify(fs.fdatasync);
const fsyncAsync = promisify(fs.fsync);

/** writev until every byte is written: the kernel may write fewer bytes than asked. */
async function writeAll(fd: number, buffers: Buffer[], position: number): Promise<number> {
  let left = buffers;
  let at = position;
  while (left.length > 0) {
    const { bytesWritten } = await writevAsync(fd, left, at);
    if (bytesWritten === 0) throw new Error("journal: writev wrote 0 bytes");
    at += bytesWritten;
    left = dropBytes(left, bytesWritten);
  }
  return at - position;
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (count >= buffer.length) count -= buffer.length;
    else {
      rest.push(count > 0 ? buffer.subarray(count) : buffer);
      count = 0;
    }
  }
  return rest;
}

async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const fd = await openAsync(dir, "r");
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

// ---- The log ---------------------------------------------------------------------------------------

interface Settings {
  segmentBytesMax: number;
  fsync: boolean;
  commitWindowMs: number;
  log: (line: string) => void;
}

function settingsOf(options: SegmentLogOptions): Settings {
  const settings: Settings = {
    segmentBytesMax: options.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT,
    fsync: options.fsync ?? true,
    commitWindowMs: options.commitWindowMs ?? 0,
    log: options.log ?? ((line) => console.error(line)),
  };
  if (!Number.isSafeInteger(settings.segmentBytesMax) || settings.segmentBytesMax <= SEGMENT_HEADER_BYTES) {
    throw new RangeError(`segmentBytesMax must be an integer above ${SEGMENT_HEADER_BYTES}`);
  }
  if (!Number.isFinite(settings.commitWindowMs) || settings.commitWindowMs < 0) {
    throw new RangeError("commitWindowMs must be a finite number of milliseconds, 0 or more");
  }
  return settings;
}

/**
 * Records waiting to be written, in seq order. "append" goes at the end of the active segment; "roll"
 * starts a new segment; "base" starts a new segment that supersedes every earlier one (compaction).
 */
interface Group {
  kind: "append" | "roll" | "base";
  firstSeq: number;
  frames: FrameBatch;
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
  readonly stats: SegmentLogStats = { batches: 0, fsyncs: 0, bytesWritten: 0 };
  private readonly dir: string;
  private readonly settings: Settings;
  /** Segment files on disk, oldest first; the last is the active one, open as activeFd. */
  private segments: SegmentFile[];
  private activeFd: number;
  /** What open() found, for replay(); undefined once a compaction replaces those files. */
  private opened: readonly SegmentFile[] | undefined;
  /** Appended, not yet handed to a batch. */
  private pending: Group[] = [];
  /** Size and record count the active segment will have once pending is written: decides rolls. */
  private tailBytes: number;
  private tailRecords: number;
  private lastAppendedSeq: number;
  private lastCommittedSeq: number;
  /** commit() calls served by the next batch. */
  private waiting: Waiter[] = [];
  /** commit() calls served by the batch being written, if one is. */
  private inFlight: Waiter[] | undefined;
  private scheduled = false;
  private failure: JournalError | undefined;
  private closing: Promise<void> | undefined;

  /** Synchronous: creates dir, verifies every segment and repairs the tail before returning. */
  static open(dir: string, options: SegmentLogOptions = {}): SegmentLog {
    const settings = settingsOf(options);
    fs.mkdirSync(dir, { recursive: true });
    return new SegmentLog(dir, settings, recoverDirectory(dir, settings.log));
  }

  private constructor(dir: string, settings: Settings, recovered: Recovered) {
    this.dir = dir;
    this.settings = settings;
    this.recovery = recovered.report;
    this.segments = recovered.segments;
    this.activeFd = recovered.activeFd;
    this.opened = recovered.segments.map((segment) => ({ ...segment }));
    const active = recovered.segments.at(-1)!;
    this.tailBytes = active.bytes;
    this.tailRecords = active.records;
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
    return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  /**
   * The records found at open, in order, read from disk as iterated (each `data` is a copy the caller
   * may keep). Iterable more than once; throws once a compaction has replaced those segments.
   */
  replay(): Iterable<LogRecord> {
    return { [Symbol.iterator]: () => this.readOpened() };
  }

  /** Buffers a record (copied); returns its seq. Not durable until a commit() that starts after it resolves. */
  append(data: Uint8Array): number {
    this.checkWritable();
    checkRecord(data);
    const seq = this.lastAppendedSeq + 1;
    const frameBytes = FRAME_HEADER_BYTES + data.length;
    let group = this.pending.at(-1);
    if (this.tailRecords > 0 && this.tailBytes + frameBytes > this.settings.segmentBytesMax) {
      group = { kind: "roll", firstSeq: seq, frames: new FrameBatch() };
      this.pending.push(group);
      this.tailBytes = SEGMENT_HEADER_BYTES;
      this.tailRecords = 0;
    } else if (group === undefined) {
      group = { kind: "append", firstSeq: seq, frames: new FrameBatch() };
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
   * (never throws) on I/O errors, after which the log is failed: fsync errors cannot be retried safely.
   */
  commit(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
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
   * Replaces the whole log with `records` (the live state, re-encoded by the caller), which get fresh
   * seqs after appendedSeq; records appended after this call follow them. Anything buffered is written
   * first. The new segment is written under a temp name, fsynced and renamed into place with the base
   * flag, then the old segments are deleted: a crash at any point leaves the old log or the new one.
   * The records are copied before this returns; the compacted log is one segment, however large.
   */
  compact(records: Iterable<Uint8Array>): Promise<void> {
    try {
      this.checkWritable();
      const frames = new FrameBatch();
      for (const data of records) {
        checkRecord(data);
        frames.add(data);
      }
      this.pending.push({ kind: "base", firstSeq: this.lastAppendedSeq + 1, frames });
      this.lastAppendedSeq += frames.records;
      this.tailBytes = SEGMENT_HEADER_BYTES + frames.bytes;
      this.tailRecords = frames.records;
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
      await this.commit();
    } finally {
      await closeAsync(this.activeFd);
    }
  }

  private checkWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing !== undefined) throw new JournalError("JOURNAL_CLOSED", `journal ${this.dir} is closed`);
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
    const groups = this.pending;
    const waiters = this.waiting;
    this.pending = [];
    this.waiting = [];
    const last = groups.at(-1);
    if (last === undefined)
      throw new Error("journal: a batch started with nothing to write (waiters without records)");
    this.inFlight = waiters;
    this.writeBatch(groups).then(
      () => {
        this.lastCommittedSeq = Math.max(this.lastCommittedSeq, last.firstSeq + last.frames.records - 1);
        this.inFlight = undefined;
        for (const waiter of waiters) waiter.resolve();
        // Commits that arrived during the write have waited long enough: no second window.
        if (this.waiting.length > 0) this.startBatch();
      },
      (error: unknown) => {
        this.inFlight = undefined;
        this.fail(error);
        for (const waiter of waiters) waiter.reject(this.failure!);
      },
    );
  }

  private fail(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.failure ??= new JournalError(
      "JOURNAL_FAILED",
      `journal ${this.dir} failed writing (${reason}); reopen it to recover`,
      { cause: error },
    );
    for (const waiter of this.waiting) waiter.reject(this.failure);
    this.waiting = [];
    this.pending = [];
  }

  private async writeBatch(groups: readonly Group[]): Promise<void> {
    this.stats.batches += 1;
    let unsynced = false;
    for (const group of groups) {
      if (group.kind === "append") {
        await this.writeToActive(group.frames);
        unsynced = true;
        continue;
      }
      // With fsync on, a segment is durable before the next one exists: a power loss leaves no hole mid-log.
      if (unsynced) await this.syncActive();
      unsynced = false;
      await this.startSegment(group);
    }
    if (unsynced) await this.syncActive();
  }

  private async writeToActive(frames: FrameBatch): Promise<void> {
    const active = this.segments.at(-1)!;
    const bytes = await writeAll(this.activeFd, frames.buffers(), active.bytes);
    active.bytes += bytes;
    active.records += frames.records;
    this.stats.bytesWritten += bytes;
  }

  private async syncActive(): Promise<void> {
    if (!this.settings.fsync) return;
    await fdatasyncAsync(this.activeFd);
    this.stats.fsyncs += 1;
  }

  /**
   * Writes a new segment whole under a temp name and renames it into place. Synced even with
   * fsync: false, because a renamed file found empty after a power loss would cost the log from that
   * point on (and, for a compaction, the whole log), not just the last commits.
   */
  private async startSegment(group: Group): Promise<void> {
    const base = group.kind === "base";
    const name = segmentName(group.firstSeq);
    const file = path.join(this.dir, name);
    const header = encodeHeader(group.firstSeq, base ? FLAG_BASE : 0);
    const fd = await openAsync(file + TEMP_SUFFIX, "w");
    let bytes: number;
    try {
      bytes = await writeAll(fd, [header, ...group.frames.buffers()], 0);
      await fdatasyncAsync(fd);
      await fs.promises.rename(file + TEMP_SUFFIX, file);
      await syncDirectory(this.dir);
    } catch (error) {
      await closeAsync(fd).catch(() => {});
      throw error;
    }
    this.stats.fsyncs += 2;
    this.stats.bytesWritten += bytes;
    const previousFd = this.activeFd;
    this.activeFd = fd;
    await closeAsync(previousFd);
    const segment = { name, firstSeq: group.firstSeq, bytes, records: group.frames.records };
    if (!base) {
      this.segments.push(segment);
      return;
    }
    // The base segment is durable under its name: from here on open() ignores (and deletes) these.
    const superseded = this.segments.filter((old) => old.name !== name);
    this.segments = [segment];
    for (const old of superseded) await fs.promises.unlink(path.join(this.dir, old.name));
    await syncDirectory(this.dir);
    this.stats.fsyncs += 1;
  }

  private *readOpened(): Generator<LogRecord> {
    for (const segment of this.opened ?? []) {
      if (this.opened === undefined) break;
      const fd = fs.openSync(path.join(this.dir, segment.name), "r");
      try {
        const reader = new FrameReader(fd, segment.bytes, SEGMENT_HEADER_BYTES);
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
