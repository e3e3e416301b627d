// The journal's one error type. Its code says what the caller can do about it; its message is one
// line a person can act on (the CLI prints it as is, see src/cli/errors.ts).

export type JournalErrorCode =
  /** append/compact after close(). */
  | "JOURNAL_CLOSED"
  /** A write or fsync failed; the log keeps what it could not write and probe() retries it. */
  | "JOURNAL_FAILED"
  | "JOURNAL_RECORD_SIZE"
  /** replay() after a compaction replaced the segments found at open. */
  | "JOURNAL_COMPACTED"
  /** A segment changed on disk under the log after open verified it. */
  | "JOURNAL_CHANGED"
  /** open(): the directory or a segment cannot be read (a directory where a segment should be, EACCES, EIO...). */
  | "JOURNAL_UNREADABLE"
  /** open(): a repair (setting a damaged segment aside, truncating a torn tail) could not be written. */
  | "JOURNAL_REPAIR"
  /** The directory is held by another live process (an OS-level lock). */
  | "JOURNAL_LOCKED";

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

/** Codes that mean "this journal directory cannot be opened now": the process should stop, with one line. */
export function isJournalOpenError(error: unknown): error is JournalError {
  return (
    error instanceof JournalError &&
    (error.code === "JOURNAL_UNREADABLE" ||
      error.code === "JOURNAL_REPAIR" ||
      error.code === "JOURNAL_LOCKED")
  );
}

/** "EACCES: permission denied, open '/x/LOCK'" for a Node fs error; the message of anything else. */
export function describeIoError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
