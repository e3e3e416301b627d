// Where jobs wait for a free slot: the surface the router needs of a spill, kept apart from the
// two stores (the waiting room in memory, the disk spill) so the router imports neither's I/O.

/** What the router needs of a spill: the disk spill and the waiting room both are one. */
export interface JobSpill {
  readonly dir: string;
  /** "disk" for the disk spill (status reports its files), "memory" for the waiting room. */
  readonly kind: "disk" | "memory";
  push(type: string, jobId: string, frames: readonly Buffer[]): void;
  unshift(type: string, jobId: string, frames: readonly Buffer[]): void;
  shift(type: string): { jobId: string; frames: Buffer[] } | undefined;
  peek(type: string): string | undefined;
  read(jobId: string): Buffer[] | undefined;
  has(jobId: string): boolean;
  /** The oldest of the first `scanMax` jobs of `type` still present that `accept` takes, if any. */
  first(type: string, scanMax: number, accept: (jobId: string) => boolean): string | undefined;
  remove(jobId: string): boolean;
  size(type?: string): number;
  readonly bytes: number;
  readonly fileBytes: number;
  peakJobs: number;
  spilledTotal: number;
  close(): void;
}

/** The waiting room's byte budget (limits.waitingBytesMax) is full: a limit, not a fault. */
export class WaitingRoomFullError extends Error {
  override name = "WaitingRoomFullError";
}

/** Reading a job's frames back from the disk spill failed; the entry is gone from the spill. */
export class DiskSpillReadError extends Error {
  override name = "DiskSpillReadError";
  constructor(
    readonly jobId: string,
    message: string,
  ) {
    super(message);
  }
}
