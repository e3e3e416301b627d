// Repairs at open (synchronous), each reported in one clear line and in the RecoveryReport: a torn
// tail is truncated; a damaged segment is set aside whole (never deleted) and replaced by the records
// that could be read; a segment overlapping the one before it is set aside; a seq gap is reported once
// and marked so later opens accept it. An I/O error during a repair is JOURNAL_REPAIR.
import fs from "node:fs";
import path from "node:path";
import { describeIoError, JournalError } from "./errors.ts";
import { syncDirectorySync, writeAllSync } from "./file-io.ts";
import type { RecoveryContext, SegmentFile } from "./recovery-types.ts";
import {
  encodeHeader,
  FLAG_BASE,
  FLAG_HOLE_AFTER,
  FrameBatch,
  FrameReader,
  newSalt,
  SEGMENT_HEADER_BYTES,
  seedOf,
  segmentName,
  TEMP_NAME,
  TEMP_SUFFIX,
} from "./segment-format.ts";
import { type Probe, type Run, type Scan, segmentOf } from "./segment-scan.ts";

/** Replacement segments are written in chunks of about this size. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/** Runs a repair; an I/O error becomes one line naming the file (JOURNAL_REPAIR). */
export function repairing<T>(context: RecoveryContext, name: string, repair: () => T): T {
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

export function removeTempFiles(context: RecoveryContext, entries: string[]): void {
  for (const entry of entries.filter((name) => TEMP_NAME.test(name))) {
    repairing(context, entry, () => fs.unlinkSync(path.join(context.dir, entry)));
    context.log(
      `journal: ${entry}: removed a temp file left by an interrupted segment roll, compaction or repair`,
    );
  }
}

/** Segments before the last base segment were superseded by a compaction whose deletions were cut short. */
export function dropSuperseded(context: RecoveryContext, probes: Probe[]): Probe[] {
  const start = probes.findLastIndex((probe) => "flags" in probe.header && probe.header.flags & FLAG_BASE);
  if (start <= 0) return probes;
  repairing(context, probes[0].name, () => {
    for (const probe of probes.slice(0, start)) fs.unlinkSync(path.join(context.dir, probe.name));
    syncDirectorySync(context.dir);
  });
  context.log(`journal: removed ${start} segment(s) superseded by the compaction in ${probes[start].name}`);
  return probes.slice(start);
}

export function truncateTornTail(context: RecoveryContext, probe: Probe, scan: Scan): SegmentFile {
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
export function replaceDamaged(
  context: RecoveryContext,
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

export function setAsideOverlap(context: RecoveryContext, probe: Probe, expected: number): void {
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

export function reportGap(context: RecoveryContext, probe: Probe, expected: number): void {
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
export function installMarker(dir: string, firstSeq: number): SegmentFile {
  const segment = writeTempSegment(dir, firstSeq, FLAG_HOLE_AFTER, []);
  installTemp(dir, segment.name);
  return segment;
}

export function installEmptyLog(dir: string): SegmentFile {
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
