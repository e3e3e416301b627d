// The waiting room: jobs whose candidate satellites are all busy (and whose queues are full, or
// who serve plain MDP workers, which get no queue) wait here per type, oldest first, until a slot
// frees, bounded by their deadline, not by a placement timeout. Same surface as the disk spill
// (spill.ts), which takes its place when configured; this one holds payloads in memory, up to a
// byte budget (limits.waitingBytesMax), past which a job is refused as before (DSAT_ERR_OVERLOADED).

import { type JobSpill, WaitingRoomFullError } from "./job-spill.ts";
import { type FifoEntry, LazyFifo } from "./lazy-fifo.ts";

export { type JobSpill, WaitingRoomFullError };

interface Entry extends FifoEntry {
  readonly type: string;
  readonly frames: readonly Buffer[];
  readonly bytes: number;
}

export class WaitingRoom implements JobSpill {
  readonly dir = "memory";
  readonly kind = "memory";
  private readonly lines = new Map<string, LazyFifo<Entry>>();
  private readonly entries = new Map<string, Entry>();
  private payloadBytes = 0;
  peakJobs = 0;
  spilledTotal = 0;

  constructor(private readonly bytesMax: number) {}

  push(type: string, jobId: string, frames: readonly Buffer[]): void {
    this.add(type, jobId, frames, false);
  }

  unshift(type: string, jobId: string, frames: readonly Buffer[]): void {
    this.add(type, jobId, frames, true);
  }

  private add(type: string, jobId: string, frames: readonly Buffer[], front: boolean): void {
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    // A job put back at the front was just taken out: it may always return.
    if (!front && this.payloadBytes + bytes > this.bytesMax)
      throw new WaitingRoomFullError(
        `the waiting room holds ${this.payloadBytes} bytes, limits.waitingBytesMax`,
      );
    this.remove(jobId);
    let line = this.lines.get(type);
    if (line === undefined) this.lines.set(type, (line = new LazyFifo<Entry>()));
    const entry: Entry = { jobId, type, frames, bytes, gone: false };
    if (front) line.unshift(entry);
    else line.push(entry);
    this.entries.set(jobId, entry);
    this.payloadBytes += bytes;
    this.spilledTotal++;
    if (this.entries.size > this.peakJobs) this.peakJobs = this.entries.size;
  }

  shift(type: string): { jobId: string; frames: Buffer[] } | undefined {
    const entry = this.lines.get(type)?.peek();
    if (entry === undefined) return undefined;
    this.take(entry);
    return { jobId: entry.jobId, frames: [...entry.frames] };
  }

  peek(type: string): string | undefined {
    return this.lines.get(type)?.peek()?.jobId;
  }

  read(jobId: string): Buffer[] | undefined {
    const entry = this.entries.get(jobId);
    return entry === undefined ? undefined : [...entry.frames];
  }

  has(jobId: string): boolean {
    return this.entries.has(jobId);
  }

  first(type: string, scanMax: number, accept: (jobId: string) => boolean): string | undefined {
    return this.lines.get(type)?.first(scanMax, (entry) => accept(entry.jobId))?.jobId;
  }

  remove(jobId: string): boolean {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return false;
    this.take(entry);
    return true;
  }

  size(type?: string): number {
    if (type === undefined) return this.entries.size;
    return this.lines.get(type)?.live ?? 0;
  }

  get bytes(): number {
    return this.payloadBytes;
  }

  get fileBytes(): number {
    return 0;
  }

  close(): void {
    this.lines.clear();
    this.entries.clear();
    this.payloadBytes = 0;
  }

  /** Takes an entry out; a drained line gives its memory back. */
  private take(entry: Entry): void {
    const line = this.lines.get(entry.type) as LazyFifo<Entry>;
    line.remove(entry);
    if (line.live === 0) this.lines.delete(entry.type);
    this.entries.delete(entry.jobId);
    this.payloadBytes -= entry.bytes;
  }
}
