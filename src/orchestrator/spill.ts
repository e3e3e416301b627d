// The disk spill (docs/journal.md "Disk spill"): when every candidate satellite of a job is busy
// and its queue is full, the orchestrator writes the job's payload here instead of holding it in
// memory, and reads it back in order as satellites free up. One append-only file per job type;
// memory keeps a small index entry per job (id, offset, frame lengths). A type's file is truncated
// to 0 once every entry of it has been drained, and rewritten without its drained prefix when
// that prefix grows large. Not durable (no fsync): after a crash the journal is the record of the
// jobs, and the spill files left behind are deleted at the next open.
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { DiskSpillReadError, type JobSpill } from "./job-spill.ts";
import { type FifoEntry, LazyFifo } from "./lazy-fifo.ts";

export { DiskSpillReadError };

interface SpillEntry extends FifoEntry {
  readonly type: string;
  /** Where the entry starts in its type's file (its header: frame count, then each length). */
  readonly offset: number;
  readonly lengths: readonly number[];
  /** Payload bytes (the frames, without the header). */
  readonly bytes: number;
}

interface TypeFile {
  readonly path: string;
  fd: number;
  /** Bytes written to the file so far (the next entry's offset). */
  size: number;
  /** Entries in order; removed (cancelled, expired) or taken ones are skipped. */
  queue: LazyFifo<SpillEntry>;
  /** The present entries' bytes on disk (headers included). */
  liveBytes: number;
  /** After a failed compaction, the size to wait for before trying again. */
  compactAfter: number;
}

export interface DiskSpillOptions {
  /** Rewrite a type's file without its drained part once it passes this size and twice its live part (default 64 MiB). */
  compactBytes?: number;
}

const FILE_PATTERN = /^spill-\d+\.bin(\.tmp)?$/;

/** Header of one entry: u32 frame count, then u32 length per frame (big-endian). */
function headerBytes(frames: number): number {
  return 4 + 4 * frames;
}

export class DiskSpill implements JobSpill {
  readonly kind = "disk";
  readonly dir: string;
  private readonly compactBytes: number;
  private readonly files = new Map<string, TypeFile>();
  private readonly entries = new Map<string, SpillEntry>();
  private nextFile = 0;
  private payloadBytes = 0;
  private closed = false;
  /** The most jobs held at once since open. */
  peakJobs = 0;
  /** Jobs pushed since open (front pushes included). */
  spilledTotal = 0;

  /** Opens (creating the directory if missing) and deletes spill files left by an earlier run. */
  constructor(dir: string, options: DiskSpillOptions = {}) {
    this.dir = dir;
    this.compactBytes = options.compactBytes ?? 64 * 1024 * 1024;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (FILE_PATTERN.test(name)) unlinkSync(join(dir, name));
    }
  }

  /** Appends a job's frames at the back of its type's FIFO. */
  push(type: string, jobId: string, frames: readonly Buffer[]): void {
    this.add(type, jobId, frames, false);
  }

  /** Puts a job's frames back at the front of its type's FIFO (a drained job that could not go anywhere). */
  unshift(type: string, jobId: string, frames: readonly Buffer[]): void {
    this.add(type, jobId, frames, true);
  }

  /**
   * Takes the oldest entry of `type` still present, with its frames read back. A read that fails
   * drops the entry and throws DiskSpillReadError naming its job.
   */
  shift(type: string): { jobId: string; frames: Buffer[] } | undefined {
    const file = this.files.get(type);
    const entry = file?.queue.peek();
    if (file === undefined || entry === undefined) return undefined;
    let frames: Buffer[];
    try {
      frames = this.readEntry(file, entry);
    } catch (error) {
      this.take(file, entry);
      throw new DiskSpillReadError(entry.jobId, (error as Error).message);
    }
    this.take(file, entry);
    return { jobId: entry.jobId, frames };
  }

  /** The job id of the oldest entry of `type` still present, without reading or taking it. */
  peek(type: string): string | undefined {
    return this.files.get(type)?.queue.peek()?.jobId;
  }

  /** The frames of a job still in the spill, without taking it. */
  read(jobId: string): Buffer[] | undefined {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return undefined;
    const file = this.files.get(entry.type) as TypeFile;
    return this.readEntry(file, entry);
  }

  has(jobId: string): boolean {
    return this.entries.has(jobId);
  }

  /** The oldest of the first `scanMax` jobs of `type` still present that `accept` takes, if any. */
  first(type: string, scanMax: number, accept: (jobId: string) => boolean): string | undefined {
    return this.files.get(type)?.queue.first(scanMax, (entry) => accept(entry.jobId))?.jobId;
  }

  /** Forgets a job (it ended while spilled); its bytes are skipped. Returns whether it was there. */
  remove(jobId: string): boolean {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return false;
    this.take(this.files.get(entry.type) as TypeFile, entry);
    return true;
  }

  /** Jobs held, of one type or of all. */
  size(type?: string): number {
    if (type === undefined) return this.entries.size;
    return this.files.get(type)?.queue.live ?? 0;
  }

  /** Payload bytes held (frames only). */
  get bytes(): number {
    return this.payloadBytes;
  }

  /** Bytes of the spill files on disk (drained entries included until truncation or compaction). */
  get fileBytes(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.size;
    return total;
  }

  /** Closes and deletes the spill files; the spill holds nothing afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const file of this.files.values()) {
      try {
        closeSync(file.fd);
      } catch {
        // already closed
      }
      try {
        unlinkSync(file.path);
      } catch {
        // already gone
      }
    }
    this.files.clear();
    this.entries.clear();
    this.payloadBytes = 0;
  }

  // ---- internals ----

  private fileOf(type: string): TypeFile {
    let file = this.files.get(type);
    if (file === undefined) {
      const path = join(this.dir, `spill-${this.nextFile++}.bin`);
      file = {
        path,
        fd: openSync(path, "w+"),
        size: 0,
        queue: new LazyFifo<SpillEntry>(),
        liveBytes: 0,
        compactAfter: 0,
      };
      this.files.set(type, file);
    }
    return file;
  }

  private add(type: string, jobId: string, frames: readonly Buffer[], front: boolean): void {
    if (this.closed) throw new Error("the disk spill is closed");
    if (this.entries.has(jobId)) this.remove(jobId);
    const file = this.fileOf(type);
    const header = Buffer.allocUnsafe(headerBytes(frames.length));
    header.writeUInt32BE(frames.length, 0);
    const lengths: number[] = [];
    let bytes = 0;
    for (let i = 0; i < frames.length; i++) {
      header.writeUInt32BE(frames[i].length, 4 + 4 * i);
      lengths.push(frames[i].length);
      bytes += frames[i].length;
    }
    const record = Buffer.concat([header, ...frames], header.length + bytes);
    writeAll(file.fd, record, file.size);
    const entry: SpillEntry = { jobId, type, offset: file.size, lengths, bytes, gone: false };
    file.size += record.length;
    if (front) file.queue.unshift(entry);
    else file.queue.push(entry);
    file.liveBytes += record.length;
    this.entries.set(jobId, entry);
    this.payloadBytes += bytes;
    this.spilledTotal++;
    if (this.entries.size > this.peakJobs) this.peakJobs = this.entries.size;
    this.maybeCompact(file);
  }

  private readEntry(file: TypeFile, entry: SpillEntry): Buffer[] {
    const start = entry.offset + headerBytes(entry.lengths.length);
    const all = Buffer.allocUnsafe(entry.bytes);
    let done = 0;
    while (done < entry.bytes) {
      const read = readSync(file.fd, all, done, entry.bytes - done, start + done);
      if (read === 0) throw new Error(`disk spill ${file.path}: short read at ${start + done}`);
      done += read;
    }
    const frames: Buffer[] = [];
    let at = 0;
    for (const length of entry.lengths) {
      frames.push(all.subarray(at, at + length));
      at += length;
    }
    return frames;
  }

  /** Marks an entry gone (taken or removed) and truncates its file once nothing is left in it. */
  private take(file: TypeFile, entry: SpillEntry): void {
    if (!file.queue.remove(entry)) return;
    if (this.entries.get(entry.jobId) === entry) this.entries.delete(entry.jobId);
    file.liveBytes -= headerBytes(entry.lengths.length) + entry.bytes;
    this.payloadBytes -= entry.bytes;
    if (file.queue.live === 0) {
      file.liveBytes = 0;
      if (file.size > 0) {
        ftruncateSync(file.fd, 0);
        file.size = 0;
      }
    }
  }

  /** Rewrites a type's file with only its live entries once the dead part dominates. */
  private maybeCompact(file: TypeFile): void {
    if (file.size < Math.max(this.compactBytes, file.compactAfter) || file.liveBytes * 2 > file.size) return;
    const tmp = `${file.path}.tmp`;
    const fd = openSync(tmp, "w+");
    const queue: SpillEntry[] = [];
    let size = 0;
    try {
      for (const old of file.queue.present()) {
        const length = headerBytes(old.lengths.length) + old.bytes;
        const record = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const read = readSync(file.fd, record, done, length - done, old.offset + done);
          if (read === 0) throw new Error(`disk spill ${file.path}: short read at ${old.offset + done}`);
          done += read;
        }
        writeAll(fd, record, size);
        const entry: SpillEntry = { ...old, offset: size };
        size += length;
        queue.push(entry);
        this.entries.set(entry.jobId, entry);
      }
    } catch {
      // The old file and entries still stand: restore the index to them and compact another time.
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // never created
      }
      for (const old of file.queue.present()) this.entries.set(old.jobId, old);
      file.compactAfter = file.size * 2;
      return;
    }
    renameSync(tmp, file.path);
    closeSync(file.fd);
    file.fd = fd;
    file.size = size;
    file.queue.replace(queue);
    file.compactAfter = 0;
  }
}

function writeAll(fd: number, buffer: Buffer, position: number): void {
  let done = 0;
  while (done < buffer.length) done += writeSync(fd, buffer, done, buffer.length - done, position + done);
}
