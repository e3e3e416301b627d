// What a SegmentLog takes and reports: its options, the records it replays, its counters.

export interface SegmentLogOptions {
  /** Roll to a new segment file past this size (default 64 MiB). */
  segmentBytesMax?: number;
  /** fdatasync on commit (default true). false: a process crash loses nothing, a power loss may. */
  fsync?: boolean;
  /** Group commit window: commit() waits this long to gather more appends before writing (default 0 = next macrotask, setImmediate). */
  commitWindowMs?: number;
  /** Where recovery messages go (one clear line each), default console.error. */
  log?: (line: string) => void;
  /** Clock for the names of set-aside files (default Date.now). */
  now?: () => number;
}

/** seq: 1-based, strictly increasing, never reused while the log lives. */
export interface LogRecord {
  seq: number;
  data: Uint8Array;
}

export interface SegmentLogStats {
  /** Batches written: each is one group commit, however many commit() calls it served. */
  batches: number;
  /** fdatasync/fsync calls, on segment files and on the directory. */
  fsyncs: number;
  bytesWritten: number;
  /** Batches that failed (a write or fsync error). */
  failures: number;
  /** probe() attempts that touched the disk. */
  probes: number;
}
