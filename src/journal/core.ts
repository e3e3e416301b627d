// The pure part of src/journal (no files): the records and their fold. What the orchestrator's
// router uses; index.ts adds the segment log, its lock and its errors.
export { expireFinished, JobBook, OPERATOR_DECISIONS_MAX, trimFinished, type UnfinishedJob } from "./book.ts";
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
  type OperatorRecord,
} from "./records.ts";
