// The segment log's disk writes: appends a batch's groups to the active segment file, starts new
// segment files whole (temp name, fsync, rename, fsync the directory) for a roll or a compaction, and
// tracks how much of the active segment is known to be on disk. It owns the segment files and the
// active fd; when to write, and what to do after a failure, is SegmentLog's (segment-log.ts).
import fs from "node:fs";
import path from "node:path";
import { describeIoError } from "./errors.ts";
import {
  closeAsync,
  fdatasyncAsync,
  fstatAsync,
  fsyncAsync,
  ftruncateAsync,
  openAsync,
  syncDirectory,
  writeAll,
} from "./file-io.ts";
import type { SegmentFile } from "./recovery-types.ts";
import { encodeHeader, type FrameBatch, seedOf, segmentName, TEMP_SUFFIX } from "./segment-format.ts";
import type { SegmentLogStats } from "./segment-log-types.ts";

/**
 * Records waiting to be written, in seq order. "append" goes at the end of the active segment; "roll"
 * starts a new segment; "base" starts a new segment that supersedes every earlier one (compaction).
 * `salt` is the salt of the segment the frames were checksummed for.
 */
export interface Group {
  kind: "append" | "roll" | "base";
  firstSeq: number;
  frames: FrameBatch;
  salt: number;
  flags: number;
}

/** A batch that failed part way: `unwritten` are its groups not known to be on disk, in order. */
export class BatchError extends Error {
  constructor(
    readonly ioError: unknown,
    readonly unwritten: Group[],
  ) {
    super(describeIoError(ioError));
  }
}

export class SegmentWriter {
  private readonly dir: string;
  /** fdatasync on commit (SegmentLogOptions.fsync); new segment files are synced regardless. */
  private readonly fsync: boolean;
  private readonly stats: SegmentLogStats;
  /** Segment files on disk, oldest first; the last is the active one, open as activeFd. */
  private segments: SegmentFile[];
  private activeFd: number;
  /** Size and record count of the active segment known to be on disk (written and synced). */
  private durableActive: { bytes: number; records: number };

  constructor(
    dir: string,
    fsync: boolean,
    stats: SegmentLogStats,
    segments: SegmentFile[],
    activeFd: number,
  ) {
    this.dir = dir;
    this.fsync = fsync;
    this.stats = stats;
    this.segments = segments;
    this.activeFd = activeFd;
    const active = segments.at(-1)!;
    this.durableActive = { bytes: active.bytes, records: active.records };
  }

  /** The segment being written (its bytes and records count what was written, synced or not). */
  get active(): SegmentFile {
    return this.segments.at(-1)!;
  }

  /** Bytes written to segment files (committed or being committed), for compaction decisions. */
  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  /** After a failed batch: the active segment counts only what is known to be on disk. */
  rewindToDurable(): void {
    const active = this.segments.at(-1)!;
    active.bytes = this.durableActive.bytes;
    active.records = this.durableActive.records;
  }

  /** Closes the active segment file. */
  close(): Promise<void> {
    return closeAsync(this.activeFd);
  }

  /** The directory was moved or replaced under us: writing on would put records where open() never looks. */
  async checkActiveFile(): Promise<void> {
    const active = this.segments.at(-1)!;
    const file = path.join(this.dir, active.name);
    const [open, named] = await Promise.all([
      fstatAsync(this.activeFd),
      fs.promises.stat(file).catch(() => null),
    ]);
    if (named === null || named.ino !== open.ino || named.dev !== open.dev) {
      throw new Error(`${file} is no longer the segment being written (the directory was moved or replaced)`);
    }
  }

  /** Cuts the active segment back to its last durable byte: what lies after it is in doubt. */
  async cutInDoubtTail(): Promise<void> {
    const { size } = await fstatAsync(this.activeFd);
    if (size <= this.durableActive.bytes) return;
    await ftruncateAsync(this.activeFd, this.durableActive.bytes);
    await fsyncAsync(this.activeFd);
    this.stats.fsyncs += 1;
  }

  /** Writes groups in order; on a failure, says which of them are not known to be on disk. */
  async writeBatch(groups: readonly Group[]): Promise<void> {
    this.stats.batches += 1;
    let unsynced = false;
    let durableGroups = 0;
    try {
      for (let index = 0; index < groups.length; index++) {
        const group = groups[index];
        if (group.kind === "append") {
          await this.writeToActive(group);
          unsynced = true;
          continue;
        }
        // With fsync on, a segment is durable before the next one exists: a power loss leaves no hole mid-log.
        if (unsynced) await this.syncActive();
        unsynced = false;
        durableGroups = index;
        await this.startSegment(group);
        durableGroups = index + 1;
      }
      if (unsynced) await this.syncActive();
    } catch (error) {
      throw new BatchError(error, groups.slice(durableGroups));
    }
  }

  private async writeToActive(group: Group): Promise<void> {
    const active = this.segments.at(-1)!;
    if (group.salt !== active.salt) {
      // Framed for another segment (appended while a roll was being written and then failed).
      group.frames.reframe(seedOf(active.salt));
      group.salt = active.salt;
    }
    const bytes = await writeAll(this.activeFd, group.frames.buffers(), active.bytes);
    active.bytes += bytes;
    active.records += group.frames.records;
    this.stats.bytesWritten += bytes;
  }

  private async syncActive(): Promise<void> {
    if (this.fsync) {
      await fdatasyncAsync(this.activeFd);
      this.stats.fsyncs += 1;
    }
    const active = this.segments.at(-1)!;
    this.durableActive = { bytes: active.bytes, records: active.records };
  }

  /**
   * Writes a new segment whole under a temp name and renames it into place. Synced even with
   * fsync: false, because a renamed file found empty after a power loss would cost the log from that
   * point on (and, for a compaction, the whole log), not just the last commits.
   */
  private async startSegment(group: Group): Promise<void> {
    const base = group.kind === "base";
    const name = segmentName(group.firstSeq);
    const file = path.join(this.dir, name);
    const header = encodeHeader(group.firstSeq, group.flags, group.salt);
    // Rare (a roll, a compaction), and a directory swapped under us would otherwise take the new file.
    await this.checkActiveFile();
    const fd = await openAsync(file + TEMP_SUFFIX, "w");
    let bytes: number;
    try {
      bytes = await writeAll(fd, [header, ...group.frames.buffers()], 0);
      await fdatasyncAsync(fd);
      await fs.promises.rename(file + TEMP_SUFFIX, file);
      await syncDirectory(this.dir);
    } catch (error) {
      await closeAsync(fd).catch(() => {});
      // A temp file left on a full disk would hold the space the retry needs.
      await fs.promises.unlink(file + TEMP_SUFFIX).catch(() => {});
      throw error;
    }
    this.stats.fsyncs += 2;
    this.stats.bytesWritten += bytes;
    const previousFd = this.activeFd;
    this.activeFd = fd;
    this.durableActive = { bytes, records: group.frames.records };
    await closeAsync(previousFd);
    const segment: SegmentFile = {
      name,
      firstSeq: group.firstSeq,
      bytes,
      records: group.frames.records,
      flags: group.flags,
      salt: group.salt,
    };
    if (!base) {
      // A retry may replace an empty active segment of the same name.
      if (this.segments.at(-1)!.name === name) this.segments[this.segments.length - 1] = segment;
      else this.segments.push(segment);
      return;
    }
    // The base segment is durable under its name: from here on open() ignores (and deletes) these.
    const superseded = this.segments.filter((old) => old.name !== name);
    this.segments = [segment];
    for (const old of superseded) await fs.promises.unlink(path.join(this.dir, old.name));
    await syncDirectory(this.dir);
    this.stats.fsyncs += 1;
  }
}
