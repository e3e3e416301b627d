// Reading at open (synchronous): lists the journal directory, reads each segment's header, and
// verifies its records; after the first bad one, scans for the records that follow the damage
// (format 2 segments only: their salted CRCs cannot be matched by payload bytes).
import fs from "node:fs";
import path from "node:path";
import { describeIoError, JournalError } from "./errors.ts";
import type { SegmentFile } from "./recovery-types.ts";
import {
  type BadHeader,
  decodeHeader,
  FRAME_HEADER_BYTES,
  FrameReader,
  frameBytesAt,
  RECORD_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
  seedOf,
  seqOfName,
} from "./segment-format.ts";

/** Past this, the bytes after a damage are not scanned (default segments are 64 MiB). */
const SCAN_REGION_BYTES_MAX = 256 * 1024 * 1024;

/** A segment file and its header, as read before its records are verified. */
export interface Probe {
  name: string;
  firstSeq: number;
  fileBytes: number;
  header: SegmentHeader | BadHeader;
}

/** Whole, verified records in [offset, offset + bytes) of a segment. */
export interface Run {
  offset: number;
  bytes: number;
  records: number;
}

export interface Scan {
  /** runs[0] starts right after the header (it may hold nothing); later runs follow damage. */
  runs: Run[];
  problem?: { offset: number; reason: string };
  /** The problem is a torn tail: an incomplete last record or zero fill, and no record after it. */
  torn: boolean;
  /** Why the bytes after the damage were not (all) scanned. */
  note?: string;
}

/** JOURNAL_UNREADABLE: a file or directory of the log cannot be read; the open stops. */
export function unreadable(dir: string, what: string, error: unknown): JournalError {
  return new JournalError("JOURNAL_UNREADABLE", `journal ${dir}: ${what} (${describeIoError(error)})`, {
    cause: error,
  });
}

export function listDirectory(dir: string): string[] {
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
export function probeSegment(dir: string, name: string): Probe {
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
export function scanSegment(dir: string, probe: Probe): Scan {
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

export function segmentOf(probe: Probe, run: Run): SegmentFile {
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
