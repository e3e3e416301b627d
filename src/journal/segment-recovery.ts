// Recovery at open (synchronous): verifies every segment and repairs what a crash or a bad disk left,
// without ever deleting bytes it could not read (docs/journal.md "Recovery at open" and "Damage").
//
// - A torn tail (an incomplete last record of the last segment, or zero fill after it, with no valid
//   record behind it) is what a crash mid-commit leaves: those records were never reported committed,
//   so the file is truncated.
// - Anything else is damage: the segment is set aside whole (renamed <name>.damaged-<time>, never
//   deleted) and replaced by a segment holding every record that could be read: those before the
//   damage and, for salted (format 2) segments, those after it, found by scanning for the next frame
//   whose salted CRC holds. Later segments are kept and replayed.
// - A seq gap (a missing segment file, or records lost in a damaged segment that is not the last) is
//   reported once; the segment before it is flagged "hole after" so later opens accept the gap.
import fs from "node:fs";
import path from "node:path";
import { describeIoError, JournalError } from "./errors.ts";
import {
  type BadHeader,
  decodeHeader,
  encodeHeader,
  FLAG_BASE,
  FLAG_HOLE_AFTER,
  FRAME_HEADER_BYTES,
  FrameBatch,
  FrameReader,
  frameBytesAt,
  newSalt,
  RECORD_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  SEGMENT_NAME,
  type SegmentHeader,
  seedOf,
  segmentName,
  seqOfName,
  TEMP_NAME,
  TEMP_SUFFIX,
} from "./segment-format.ts";

/** A segment file of the log, as verified (or written) at open and kept up to date by the writer. */
export interface SegmentFile {
  name: string;
  firstSeq: number;
  /** Bytes of the file that hold the header and whole, verified records. */
  bytes: number;
  records: number;
  flags: number;
  /** Its record CRC salt (0: a format 1 segment). */
  salt: number;
}

/** One damaged place found at open: what was lost, what was kept, and where the original went. */
export interface SegmentDamage {
  /** The segment file the damage is in (for a seq gap: the segment after the gap). */
  segment: string;
  /** Byte offset of the first bad byte in that file (0: its header, or the whole file). */
  offset: number;
  reason: string;
  /** Records recovered from the segment before the damage (they keep their seqs). */
  recordsBefore: number;
  /** Records recovered after the damage by resynchronising (they follow the records before, in order). */
  recordsAfter: number;
  /** Records lost, when the next segment's first seq tells (null: the last segment, unknown). */
  recordsLost: number | null;
  /** Bytes of the segment not recovered into the log (header excepted); they are in the set-aside file. */
  bytesSetAside: number;
  /** The original file's new name in the log directory (null: nothing was set aside, e.g. a seq gap). */
  setAsideAs: string | null;
}

export interface RecoveryReport {
  /** Records in the log after recovery. */
  records: number;
  /** Segment files in the log after recovery. */
  segments: number;
  /** Bytes of a torn tail cut off the last segment (a crash mid-commit). */
  truncatedBytes: number;
  /** New names (in the log directory) of the files set aside at this open. */
  setAside: string[];
  /** Every damaged place found at this open (empty after a clean shutdown or a mere torn tail). */
  damage: SegmentDamage[];
}

export interface Recovered {
  segments: SegmentFile[];
  activeFd: number;
  report: RecoveryReport;
}

/** Past this, the bytes after a damage are not scanned (default segments are 64 MiB). */
const SCAN_REGION_BYTES_MAX = 256 * 1024 * 1024;
/** Replacement segments are written in chunks of about this size. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

interface Probe {
  name: string;
  firstSeq: number;
  fileBytes: number;
  header: SegmentHeader | BadHeader;
}

/** Whole, verified records in [offset, offset + bytes) of a segment. */
interface Run {
  offset: number;
  bytes: number;
  records: number;
}

interface Scan {
  /** runs[0] starts right after the header (it may hold nothing); later runs follow damage. */
  runs: Run[];
  problem?: { offset: number; reason: string };
  /** The problem is a torn tail: an incomplete last record or zero fill, and no record after it. */
  torn: boolean;
  /** Why the bytes after the damage were not (all) scanned. */
  note?: string;
}

interface Context {
  dir: string;
  log: (line: string) => void;
  now: () => number;
  report: RecoveryReport;
}

export function recoverDirectory(dir: string, log: (line: string) => void, now: () => number): Recovered {
  const report: RecoveryReport = { records: 0, segments: 0, truncatedBytes: 0, setAside: [], damage: [] };
  const context: Context = { dir, log, now, report };
  const entries = listDirectory(dir);
  removeTempFiles(context, entries);
  const probes = dropSuperseded(
    context,
    entries.filter((name) => SEGMENT_NAME.test(name)).map((name) => probeSegment(dir, name)),
  );
  const kept: SegmentFile[] = [];
  // The seqs missing before the next segment were those of a segment set aside whole: no second report.
  let gapExplained = false;
  for (let index = 0; index < probes.length; index++) {
    const probe = probes[index];
    const last = index === probes.length - 1;
    const previous = kept.at(-1);
    const expected = previous === undefined ? probe.firstSeq : previous.firstSeq + previous.records;
    if (probe.firstSeq < expected) {
      setAsideOverlap(context, probe, expected);
      gapExplained = true;
      continue;
    }
    if (previous !== undefined && probe.firstSeq > expected && (previous.flags & FLAG_HOLE_AFTER) === 0) {
      if (!gapExplained) reportGap(context, probe, expected);
      kept.push(repairing(context, probe.name, () => installMarker(dir, expected)));
    }
    gapExplained = false;
    const scan = scanSegment(dir, probe);
    if (scan.problem === undefined) {
      kept.push(segmentOf(probe, scan.runs[0]));
    } else if (last && scan.torn) {
      kept.push(truncateTornTail(context, probe, scan));
    } else {
      const capacity = last ? null : probes[index + 1].firstSeq - probe.firstSeq;
      kept.push(replaceDamaged(context, probe, scan, { first: kept.length === 0, last, capacity }));
    }
  }
  if (kept.length === 0) kept.push(repairing(context, segmentName(1), () => installEmptyLog(dir)));
  const active = kept.at(-1)!;
  let activeFd: number;
  try {
    activeFd = fs.openSync(path.join(dir, active.name), "r+");
  } catch (error) {
    throw unreadable(dir, `cannot open segment ${active.name} for writing`, error);
  }
  report.segments = kept.length;
  report.records = kept.reduce((sum, segment) => sum + segment.records, 0);
  return { segments: kept, activeFd, report };
}

// ---- Reading -------------------------------------------------------------------------------------

function unreadable(dir: string, what: string, error: unknown): JournalError {
  return new JournalError("JOURNAL_UNREADABLE", `journal ${dir}: ${what} (${describeIoError(error)})`, {
    cause: error,
  });
}

function listDirectory(dir: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    throw unreadable(dir, "cannot read the journal directory", error);
  }
  if (!stat.isDirectory()) throw new JournalError("JOURNAL_UNREADABLE", `journal ${dir}: not a directory`);
  try {
    return fs.readdirSync(dir).sort();
  } catch (error) {
    throw unreadable(dir, "cannot list the journal directory", error);
  }
}

/** The header of a segment. Anything but a readable regular file stops the open: we must not guess. */
function probeSegment(dir: string, name: string): Probe {
  const file = path.join(dir, name);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw unreadable(dir, `cannot read segment ${name}`, error);
  }
  if (stat.isDirectory()) {
    throw new JournalError(
      "JOURNAL_UNREADABLE",
      `journal ${dir}: ${name} is a directory, not a segment file; move it out of the journal directory`,
    );
  }
  if (!stat.isFile()) {
    throw new JournalError(
      "JOURNAL_UNREADABLE",
      `journal ${dir}: ${name} is not a regular file; move it out of the journal directory`,
    );
  }
  const fd = openForReading(dir, name);
  try {
    const bytes = Buffer.alloc(Math.min(stat.size, SEGMENT_HEADER_BYTES));
    const read = readFully(dir, name, fd, bytes, 0);
    return {
      name,
      firstSeq: seqOfName(name),
      fileBytes: stat.size,
      header: decodeHeader(bytes.subarray(0, read), name),
    };
  } finally {
    fs.closeSync(fd);
  }
}

function openForReading(dir: string, name: string): number {
  try {
    return fs.openSync(path.join(dir, name), "r");
  } catch (error) {
    throw unreadable(dir, `cannot read segment ${name}`, error);
  }
}

function readFully(dir: string, name: string, fd: number, into: Buffer, position: number): number {
  let got = 0;
  try {
    while (got < into.length) {
      const read = fs.readSync(fd, into, got, into.length - got, position + got);
      if (read === 0) break;
      got += read;
    }
  } catch (error) {
    throw unreadable(dir, `cannot read segment ${name}`, error);
  }
  return got;
}

/** Verifies a segment's records; at the first problem, looks for valid records after it. */
function scanSegment(dir: string, probe: Probe): Scan {
  const fd = openForReading(dir, probe.name);
  try {
    const { header, fileBytes } = probe;
    const first: Run = { offset: SEGMENT_HEADER_BYTES, bytes: 0, records: 0 };
    const seed = seedOf(header.salt);
    let problem: { offset: number; reason: string };
    if ("problem" in header) {
      problem = { offset: 0, reason: header.problem };
    } else {
      const reader = new FrameReader(fd, fileBytes, SEGMENT_HEADER_BYTES, seed);
      let frame = readFrame(dir, probe.name, reader);
      for (; frame !== undefined && !("problem" in frame); frame = readFrame(dir, probe.name, reader))
        first.records++;
      first.bytes = reader.offset - SEGMENT_HEADER_BYTES;
      if (frame === undefined) return { runs: [first], torn: false };
      problem = { offset: reader.offset, reason: frame.problem };
    }
    // The bytes from the damage on: a bad header leaves the records after it to look for.
    const regionStart = Math.min(fileBytes, problem.offset === 0 ? SEGMENT_HEADER_BYTES : problem.offset);
    const regionBytes = fileBytes - regionStart;
    if (regionBytes > SCAN_REGION_BYTES_MAX) {
      const note = `the ${regionBytes} bytes after the damage are too many to scan; they stay in the set-aside file`;
      return { runs: [first], problem, torn: false, note };
    }
    const region = Buffer.alloc(regionBytes);
    readFully(dir, probe.name, fd, region, regionStart);
    const torn = problem.offset > 0 && isTornTail(region);
    if (seed === 0) {
      const note =
        "problem" in header
          ? "its salt is unreadable, so records after the damage cannot be told from payload bytes; they stay in the set-aside file"
          : "a format 1 segment has no salted checksums, so records after the damage cannot be told from payload bytes; they stay in the set-aside file";
      return { runs: [first], problem, torn, note };
    }
    const after = resynchronise(region, regionStart, problem.offset === 0 ? 0 : 1, seed);
    return { runs: [first, ...after.runs], problem, torn: torn && after.runs.length === 0, note: after.note };
  } finally {
    fs.closeSync(fd);
  }
}

function readFrame(dir: string, name: string, reader: FrameReader) {
  try {
    return reader.next();
  } catch (error) {
    if (error instanceof JournalError) throw error;
    throw unreadable(dir, `cannot read segment ${name}`, error);
  }
}

/**
 * What a crash mid-write leaves at the end of a file: fewer bytes than a frame header, a record whose
 * length runs past the end of the file, or zeros (the file grew, the data never landed).
 */
function isTornTail(region: Buffer): boolean {
  if (region.length < FRAME_HEADER_BYTES) return true;
  const length = region.readUInt32LE(0);
  if (length >= 1 && length <= RECORD_BYTES_MAX && FRAME_HEADER_BYTES + length > region.length) return true;
  for (const byte of region) if (byte !== 0) return false;
  return true;
}

/**
 * The runs of valid records in `region` from `from` on: scans byte by byte for a frame whose salted
 * CRC holds, reads records from there while they verify, and scans again after the next bad one.
 * The salt makes a frame-shaped payload fail its CRC, so a record found this way was written as a
 * record of this segment. The CRC work is bounded, for regions of garbage.
 */
function resynchronise(
  region: Buffer,
  base: number,
  from: number,
  seed: number,
): { runs: Run[]; note?: string } {
  const runs: Run[] = [];
  let budget = 4 * region.length + 64 * 1024 * 1024;
  let at = from;
  while (at + FRAME_HEADER_BYTES < region.length) {
    let start = -1;
    for (let candidate = at; candidate + FRAME_HEADER_BYTES < region.length; candidate++) {
      const length = region.readUInt32LE(candidate);
      if (
        length === 0 ||
        length > RECORD_BYTES_MAX ||
        candidate + FRAME_HEADER_BYTES + length > region.length
      )
        continue;
      budget -= FRAME_HEADER_BYTES + length;
      if (budget < 0) {
        return {
          runs,
          note: "scanning for records after the damage took too long; the rest stays in the set-aside file",
        };
      }
      if (frameBytesAt(region, candidate, seed) > 0) {
        start = candidate;
        break;
      }
    }
    if (start < 0) break;
    let end = start;
    let records = 0;
    for (let bytes = frameBytesAt(region, end, seed); bytes > 0; bytes = frameBytesAt(region, end, seed)) {
      end += bytes;
      records++;
    }
    runs.push({ offset: base + start, bytes: end - start, records });
    at = end + 1;
  }
  return { runs };
}

function segmentOf(probe: Probe, run: Run): SegmentFile {
  const header = probe.header as SegmentHeader;
  return {
    name: probe.name,
    firstSeq: probe.firstSeq,
    bytes: SEGMENT_HEADER_BYTES + run.bytes,
    records: run.records,
    flags: header.flags,
    salt: header.salt,
  };
}

// ---- Repairs ---------------------------------------------------------------------------------------

/** Runs a repair; an I/O error becomes one line naming the file (JOURNAL_REPAIR). */
function repairing<T>(context: Context, name: string, repair: () => T): T {
  try {
    return repair();
  } catch (error) {
    if (error instanceof JournalError) throw error;
    throw new JournalError(
      "JOURNAL_REPAIR",
      `journal ${context.dir}: cannot repair ${name} (${describeIoError(error)})`,
      { cause: error },
    );
  }
}

function removeTempFiles(context: Context, entries: string[]): void {
  for (const entry of entries.filter((name) => TEMP_NAME.test(name))) {
    repairing(context, entry, () => fs.unlinkSync(path.join(context.dir, entry)));
    context.log(
      `journal: ${entry}: removed a temp file left by an interrupted segment roll, compaction or repair`,
    );
  }
}

/** Segments before the last base segment were superseded by a compaction whose deletions were cut short. */
function dropSuperseded(context: Context, probes: Probe[]): Probe[] {
  const start = probes.findLastIndex((probe) => "flags" in probe.header && probe.header.flags & FLAG_BASE);
  if (start <= 0) return probes;
  repairing(context, probes[0].name, () => {
    for (const probe of probes.slice(0, start)) fs.unlinkSync(path.join(context.dir, probe.name));
    syncDirectorySync(context.dir);
  });
  context.log(`journal: removed ${start} segment(s) superseded by the compaction in ${probes[start].name}`);
  return probes.slice(start);
}

function truncateTornTail(context: Context, probe: Probe, scan: Scan): SegmentFile {
  const segment = segmentOf(probe, scan.runs[0]);
  repairing(context, probe.name, () => {
    const fd = fs.openSync(path.join(context.dir, probe.name), "r+");
    try {
      fs.ftruncateSync(fd, segment.bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
  const cut = probe.fileBytes - segment.bytes;
  context.report.truncatedBytes += cut;
  context.log(
    `journal: ${probe.name}: torn tail at byte ${segment.bytes} (${scan.problem!.reason}); truncated ${cut} bytes, recovered to seq ${segment.firstSeq + segment.records - 1}`,
  );
  return segment;
}

/**
 * Sets the damaged file aside and puts in its place a segment of the same first seq holding every
 * record recovered from it, in order: after the records before the damage come those found after it
 * (their seqs close up). A segment that is not the last is flagged "hole after": the seqs it lost are
 * a gap before the next segment, which keeps its own seqs.
 */
function replaceDamaged(
  context: Context,
  probe: Probe,
  scan: Scan,
  where: { first: boolean; last: boolean; capacity: number | null },
): SegmentFile {
  const { dir } = context;
  const runs = fitRuns(scan.runs, where.capacity);
  const recordsBefore = runs[0].records;
  const recordsAfter = runs.slice(1).reduce((sum, run) => sum + run.records, 0);
  const recoveredBytes = runs.reduce((sum, run) => sum + run.bytes, 0);
  const flags = (where.first ? FLAG_BASE : 0) | (where.last ? 0 : FLAG_HOLE_AFTER);
  const holeKnown = "problem" in probe.header || (probe.header.flags & FLAG_HOLE_AFTER) === 0;
  const lost = where.capacity === null ? -1 : where.capacity - recordsBefore - recordsAfter;
  const recordsLost = holeKnown && lost >= 0 ? lost : null;
  const { segment, setAsideAs } = repairing(context, probe.name, () => {
    const seed = seedOf(probe.header.salt);
    const fd = fs.openSync(path.join(dir, probe.name), "r");
    let written: SegmentFile;
    try {
      written = writeTempSegment(dir, probe.firstSeq, flags, recordsOf(fd, runs, seed));
    } finally {
      fs.closeSync(fd);
    }
    const copy = keepCopy(dir, probe.name, context.now());
    fs.renameSync(path.join(dir, probe.name + TEMP_SUFFIX), path.join(dir, probe.name));
    syncDirectorySync(dir);
    return { segment: written, setAsideAs: copy };
  });
  const bytesSetAside = Math.max(0, probe.fileBytes - SEGMENT_HEADER_BYTES - recoveredBytes);
  const { problem } = scan;
  context.report.setAside.push(setAsideAs);
  context.report.damage.push({
    segment: probe.name,
    offset: problem!.offset,
    reason: problem!.reason,
    recordsBefore,
    recordsAfter,
    recordsLost,
    bytesSetAside,
    setAsideAs,
  });
  const trimmed = scan.runs.reduce((sum, run) => sum + run.records, 0) - recordsBefore - recordsAfter;
  const notes = [
    ...(trimmed > 0
      ? [
          `${trimmed} record(s) found after the damage do not fit before the next segment; they stay in the set-aside file`,
        ]
      : []),
    ...(scan.note !== undefined ? [scan.note] : []),
  ];
  context.log(
    `journal: ${probe.name}: damaged at byte ${problem!.offset} (${problem!.reason}); set aside as ${setAsideAs}; ` +
      `recovered ${recordsBefore} record(s) before the damage and ${recordsAfter} after it; ` +
      `${bytesSetAside} byte(s) not recovered` +
      (recordsLost !== null ? `, ${recordsLost} record(s) lost` : "") +
      notes.map((note) => `; ${note}`).join(""),
  );
  return segment;
}

/**
 * The records before the damage, then the runs found after it that fit in `capacity` records (the
 * seqs up to the next segment; null: no limit). A segment holding more records than that is the
 * next segment's problem (it overlaps and is set aside), as for an undamaged segment.
 */
function fitRuns(runs: Run[], capacity: number | null): Run[] {
  if (capacity === null) return runs;
  const fitted = [runs[0]];
  let left = capacity - runs[0].records;
  for (const run of runs.slice(1)) {
    if (run.records > left) break;
    fitted.push(run);
    left -= run.records;
  }
  return fitted;
}

function* recordsOf(fd: number, runs: Run[], seed: number): Generator<Uint8Array> {
  for (const run of runs) {
    const reader = new FrameReader(fd, run.offset + run.bytes, run.offset, seed);
    for (let frame = reader.next(); frame !== undefined; frame = reader.next()) {
      if ("problem" in frame)
        throw new JournalError("JOURNAL_CHANGED", "journal segment changed during recovery");
      yield frame.data;
    }
  }
}

function setAsideOverlap(context: Context, probe: Probe, expected: number): void {
  const setAsideAs = repairing(context, probe.name, () => {
    const name = setAsideName(context.dir, probe.name, context.now());
    fs.renameSync(path.join(context.dir, probe.name), path.join(context.dir, name));
    syncDirectorySync(context.dir);
    return name;
  });
  const reason = `starts at seq ${probe.firstSeq}, inside the previous segment (which ends at seq ${expected - 1})`;
  context.report.setAside.push(setAsideAs);
  context.report.damage.push({
    segment: probe.name,
    offset: 0,
    reason,
    recordsBefore: 0,
    recordsAfter: 0,
    recordsLost: null,
    bytesSetAside: Math.max(0, probe.fileBytes - SEGMENT_HEADER_BYTES),
    setAsideAs,
  });
  context.log(`journal: ${probe.name}: ${reason}; set aside as ${setAsideAs}, its records are not replayed`);
}

function reportGap(context: Context, probe: Probe, expected: number): void {
  const lost = probe.firstSeq - expected;
  const reason = `seq gap: seqs ${expected} to ${probe.firstSeq - 1} are missing`;
  context.report.damage.push({
    segment: probe.name,
    offset: 0,
    reason,
    recordsBefore: 0,
    recordsAfter: 0,
    recordsLost: lost,
    bytesSetAside: 0,
    setAsideAs: null,
  });
  context.log(
    `journal: ${probe.name}: ${reason} (${lost} record(s), a segment file removed or lost); the segments after the gap are kept`,
  );
}

/** `<name>.damaged-<UTC time>` (with -2, -3... if taken): the original stays byte for byte. */
function setAsideName(dir: string, name: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "");
  for (let attempt = 1; attempt <= 1000; attempt++) {
    const candidate = `${name}.damaged-${stamp}${attempt === 1 ? "" : `-${attempt}`}`;
    if (!fs.existsSync(path.join(dir, candidate))) return candidate;
  }
  throw new Error(`1000 set-aside copies of ${name} already exist; clean up ${dir}`);
}

/** A second name (or, where hard links fail, a copy) for a file about to be replaced. */
function keepCopy(dir: string, name: string, nowMs: number): string {
  const copy = setAsideName(dir, name, nowMs);
  try {
    fs.linkSync(path.join(dir, name), path.join(dir, copy));
  } catch {
    fs.copyFileSync(path.join(dir, name), path.join(dir, copy), fs.constants.COPYFILE_EXCL);
  }
  syncDirectorySync(dir);
  return copy;
}

/** An empty segment flagged "hole after", at the first missing seq of a gap: later opens accept the gap. */
function installMarker(dir: string, firstSeq: number): SegmentFile {
  const segment = writeTempSegment(dir, firstSeq, FLAG_HOLE_AFTER, []);
  installTemp(dir, segment.name);
  return segment;
}

function installEmptyLog(dir: string): SegmentFile {
  const segment = writeTempSegment(dir, 1, FLAG_BASE, []);
  installTemp(dir, segment.name);
  return segment;
}

function installTemp(dir: string, name: string): void {
  fs.renameSync(path.join(dir, name + TEMP_SUFFIX), path.join(dir, name));
  syncDirectorySync(dir);
}

/** Writes a whole segment (fresh salt) under its temp name and syncs it; the caller renames it into place. */
function writeTempSegment(
  dir: string,
  firstSeq: number,
  flags: number,
  records: Iterable<Uint8Array>,
): SegmentFile {
  const name = segmentName(firstSeq);
  const salt = newSalt();
  const fd = fs.openSync(path.join(dir, name + TEMP_SUFFIX), "w");
  let bytes = SEGMENT_HEADER_BYTES;
  let count = 0;
  try {
    writeAllSync(fd, [encodeHeader(firstSeq, flags, salt)], 0);
    let batch = new FrameBatch(seedOf(salt));
    const flush = () => {
      bytes += writeAllSync(fd, batch.buffers(), bytes);
      count += batch.records;
      batch = new FrameBatch(seedOf(salt));
    };
    for (const data of records) {
      batch.add(data);
      if (batch.bytes >= COPY_CHUNK_BYTES) flush();
    }
    flush();
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { name, firstSeq, bytes, records: count, flags, salt };
}

function writeAllSync(fd: number, buffers: Buffer[], position: number): number {
  let at = position;
  for (const buffer of buffers) {
    for (let done = 0; done < buffer.length; ) {
      const written = fs.writeSync(fd, buffer, done, buffer.length - done, at);
      done += written;
      at += written;
    }
  }
  return at - position;
}

/** A rename or unlink is durable only once the directory is synced (Linux; Windows cannot open one). */
export function syncDirectorySync(dir: string): void {
  if (process.platform === "win32") return;
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
