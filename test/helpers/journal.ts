// Journal test helpers: a SegmentLog opened with its recovery lines captured, a JobJournal's
// resolved config, and damage done to a segment file by hand.
import fs from "node:fs";
import { SegmentLog, type SegmentLogOptions } from "../../src/journal/index.ts";
import type { ResolvedJournal } from "../../src/orchestrator/config.ts";

/** Opens with recovery lines captured; fsync off unless asked. */
export function openLog(dir: string, options: SegmentLogOptions = {}): { log: SegmentLog; lines: string[] } {
  const lines: string[] = [];
  const log = SegmentLog.open(dir, { fsync: false, log: (line) => lines.push(line), ...options });
  return { log, lines };
}

/** A JobJournal config for `dir`: no fsync, no commit window, 64 MiB segments, unless overridden. */
export function journalConfig(dir: string, overrides: Partial<ResolvedJournal> = {}): ResolvedJournal {
  return {
    dir,
    fsync: false,
    commitWindowMs: 0,
    retentionMs: 3_600_000,
    finishedMax: 1000,
    compactBytes: 64 * 1024 * 1024,
    recoveryMs: 0,
    segmentBytesMax: 64 * 1024 * 1024,
    ...overrides,
  };
}

/** Flips the bits of one byte of `file` (XOR 0x5a), in place. */
export function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, "r+");
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, offset);
  byte[0] ^= 0x5a;
  fs.writeSync(fd, byte, 0, 1, offset);
  fs.closeSync(fd);
}
