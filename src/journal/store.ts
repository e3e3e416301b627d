// The storage a journal needs, as an interface: SegmentLog (local disk) is one; a Raft log that
// commits once a quorum has the record (seed 003) is meant to be the next.
import type { LogRecord } from "./segment-log-types.ts";

export interface JournalStore {
  /** Records found when the store was opened, in order. */
  replay(): Iterable<LogRecord>;
  /** Buffers a record; returns its seq. Durable once `committedSeq` reaches it. Works while failed. */
  append(data: Uint8Array): number;
  /** Resolves once every record appended before the call is durable (group commit); rejects while failed. */
  commit(): Promise<void>;
  readonly appendedSeq: number;
  readonly committedSeq: number;
  readonly sizeBytes: number;
  /** Why records cannot be made durable now (undefined while they can). */
  readonly failure: Error | undefined;
  /** While failed: writes every record not yet durable again; true once they are all durable. */
  probe(): Promise<boolean>;
  /** Replaces the whole log with `records` (a snapshot of the live state). */
  compact(records: Iterable<Uint8Array>): Promise<void>;
  close(): Promise<void>;
}
