// The durable job journal. Storage: a segmented append-only log with checksums and group commit.

// The records (an ordered log of job commands) and their replay: core.ts, the pure part.
export * from "./core.ts";
export { type DirectoryLock, lockDirectory } from "./dir-lock.ts";
export { isJournalOpenError, JournalError, type JournalErrorCode } from "./errors.ts";
export type { RecoveryReport, SegmentDamage } from "./recovery-types.ts";
export {
  FRAME_HEADER_BYTES,
  RECORD_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  segmentName,
} from "./segment-format.ts";
export { SegmentLog } from "./segment-log.ts";
export type { LogRecord, SegmentLogOptions, SegmentLogStats } from "./segment-log-types.ts";
export type { JournalStore } from "./store.ts";
