// What recovery at open works with and hands on: the verified segment files (which the writer then
// keeps up to date), the report of what was repaired, and the context the repairs share.

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

/** What every repair needs: where, how to report, and the report being filled. */
export interface RecoveryContext {
  dir: string;
  log: (line: string) => void;
  now: () => number;
  report: RecoveryReport;
}
