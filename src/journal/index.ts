// The durable job journal. Storage: a segmented append-only log with checksums and group commit.

// The records (an ordered log of job commands) and their replay.
export { expireFinished, JobBook, type UnfinishedJob } from "./book.ts";
export {
  type AcceptedRecord,
  type CompletedRecord,
  type DispatchedRecord,
  decodeRecord,
  encodeRecord,
  type ForgottenRecord,
  type JournalOrigin,
  type JournalRecord,
  JournalRecordError,
} from "./records.ts";
export {
  FRAME_HEADER_BYTES,
  JournalError,
  type JournalErrorCode,
  type LogRecord,
  RECORD_BYTES_MAX,
  type RecoveryReport,
  SEGMENT_HEADER_BYTES,
  SegmentLog,
  type SegmentLogOptions,
  type SegmentLogStats,
  segmentName,
} from "./segment-log.ts";
export type { JournalStore } from "./store.ts";
