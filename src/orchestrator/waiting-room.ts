// The waiting room: jobs whose candidate satellites are all busy (and whose queues are full, or
// who serve plain MDP workers, which get no queue) wait here per type, oldest first, until a slot
// frees, bounded by their deadline, not by a placement timeout. Same surface as the disk spill
// (spill.ts), which takes its place when configured; this one holds payloads in memory, up to a
// byte budget (limits.waitingBytesMax), past which a job is refused as before (DSAT_ERR_OVERLOADED).

/** What the orchestrator needs of a spill: the disk spill and the waiting room both are one. */
export interface JobSpill {
  readonly dir: string;
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

export class WaitingRoomFullError extends Error {
  override name = "WaitingRoomFullError";
}

interface Entry {
  readonly jobId: string;
  readonly type: string;
  readonly frames: readonly Buffer[];
  readonly bytes: number;
  gone: boolean;
}

interface Line {
  entries: Entry[];
  head: number;
  live: number;
}

export class WaitingRoom implements JobSpill {
  readonly dir = "memory";
  private readonly lines = new Map<string, Line>();
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
    if (line === undefined) this.lines.set(type, (line = { entries: [], head: 0, live: 0 }));
    const entry: Entry = { jobId, type, frames, bytes, gone: false };
    if (front) {
      if (line.head > 0) line.entries[--line.head] = entry;
      else line.entries.unshift(entry);
    } else line.entries.push(entry);
    line.live++;
    this.entries.set(jobId, entry);
    this.payloadBytes += bytes;
    this.spilledTotal++;
    if (this.entries.size > this.peakJobs) this.peakJobs = this.entries.size;
  }

  shift(type: string): { jobId: string; frames: Buffer[] } | undefined {
    const line = this.lines.get(type);
    if (line === undefined) return undefined;
    while (line.head < line.entries.length) {
      const entry = line.entries[line.head++];
      if (entry.gone) continue;
      this.take(line, entry);
      return { jobId: entry.jobId, frames: [...entry.frames] };
    }
    this.settle(type, line);
    return undefined;
  }

  peek(type: string): string | undefined {
    const line = this.lines.get(type);
    if (line === undefined) return undefined;
    while (line.head < line.entries.length && line.entries[line.head].gone) line.head++;
    if (line.head < line.entries.length) return line.entries[line.head].jobId;
    this.settle(type, line);
    return undefined;
  }

  read(jobId: string): Buffer[] | undefined {
    const entry = this.entries.get(jobId);
    return entry === undefined ? undefined : [...entry.frames];
  }

  has(jobId: string): boolean {
    return this.entries.has(jobId);
  }

  first(type: string, scanMax: number, accept: (jobId: string) => boolean): string | undefined {
    const line = this.lines.get(type);
    if (line === undefined) return undefined;
    let scanned = 0;
    for (let i = line.head; i < line.entries.length && scanned < scanMax; i++) {
      const entry = line.entries[i];
      if (entry.gone) continue;
      scanned++;
      if (accept(entry.jobId)) return entry.jobId;
    }
    return undefined;
  }

  remove(jobId: string): boolean {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return false;
    this.take(this.lines.get(entry.type) as Line, entry);
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

  private take(line: Line, entry: Entry): void {
    entry.gone = true;
    line.live--;
    this.entries.delete(entry.jobId);
    this.payloadBytes -= entry.bytes;
  }

  /** A drained line gives its memory back. */
  private settle(type: string, line: Line): void {
    if (line.live === 0) this.lines.delete(type);
    else if (line.head > 1024 && line.head * 2 > line.entries.length) {
      line.entries = line.entries.slice(line.head);
      line.head = 0;
    }
  }
}
