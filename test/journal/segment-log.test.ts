// The segment log on real files: round trips, segment rolls, group commit, durability across a
// SIGKILL of a writing process, recovery from torn and corrupted segments, and crash-safe compaction.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  FRAME_HEADER_BYTES,
  JournalError,
  RECORD_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  SegmentLog,
  segmentName,
} from "../../src/journal/index.ts";
import { flipByte, openLog } from "../helpers/journal.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { recordFor } from "./fixtures/pattern.ts";

const fixture = fileURLToPath(new URL("./fixtures/append-loop.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const temp = new TempDirs("dsat-journal-");
afterEach(() => temp.removeAll());

function replayed(log: SegmentLog): { seq: number; data: Buffer }[] {
  return [...log.replay()].map(({ seq, data }) => ({ seq, data: Buffer.from(data) }));
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".log"))
    .sort();
}

/** Appends recordFor(seq) for the next `count` seqs and commits. */
async function appendPattern(log: SegmentLog, count: number): Promise<void> {
  for (let index = 0; index < count; index++) log.append(recordFor(log.appendedSeq + 1));
  await log.commit();
}

function expectPattern(log: SegmentLog, lastSeq: number): void {
  const records = replayed(log);
  expect(records.map((record) => record.seq)).toEqual(
    Array.from({ length: lastSeq }, (_, index) => index + 1),
  );
  for (const record of records)
    expect(record.data.equals(recordFor(record.seq)), `seq ${record.seq}`).toBe(true);
}

/** Byte offset of each record in a single-segment log of recordFor(1..count), and the end. */
function patternOffsets(count: number): number[] {
  const offsets = [SEGMENT_HEADER_BYTES];
  for (let seq = 1; seq <= count; seq++)
    offsets.push(offsets.at(-1)! + FRAME_HEADER_BYTES + recordFor(seq).length);
  return offsets;
}

describe("SegmentLog basics", () => {
  it("round-trips records through close and open, and seqs continue after reopen", async () => {
    const dir = await temp.make();
    const first = openLog(dir, { fsync: true });
    expect(first.log.recovery).toEqual({
      records: 0,
      segments: 1,
      truncatedBytes: 0,
      setAside: [],
      damage: [],
    });
    const big = Buffer.alloc(100_000, 7);
    expect(first.log.append(Buffer.from("a"))).toBe(1);
    expect(first.log.append(big)).toBe(2);
    expect(first.log.append(Buffer.from("third"))).toBe(3);
    expect(first.log.committedSeq).toBe(0);
    await first.log.commit();
    expect(first.log.committedSeq).toBe(3);
    await first.log.close();

    const second = openLog(dir);
    expect(second.lines).toEqual([]);
    expect(second.log.recovery.records).toBe(3);
    expect(second.log.appendedSeq).toBe(3);
    expect(replayed(second.log)).toEqual([
      { seq: 1, data: Buffer.from("a") },
      { seq: 2, data: big },
      { seq: 3, data: Buffer.from("third") },
    ]);
    expect(second.log.append(Buffer.from("fourth"))).toBe(4);
    await second.log.close();

    const third = openLog(dir);
    expect(replayed(third.log).map((record) => record.data.toString())).toEqual([
      "a",
      big.toString(),
      "third",
      "fourth",
    ]);
    await third.log.close();
  });

  it("copies appended data, so the caller may reuse its buffer", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir);
    const scratch = Buffer.from("one");
    log.append(scratch);
    scratch.write("two");
    log.append(scratch);
    await log.close();
    const reopened = openLog(dir).log;
    expect(replayed(reopened).map((record) => record.data.toString())).toEqual(["one", "two"]);
    await reopened.close();
  });

  it("rolls segments at segmentBytesMax and replays across them in order", async () => {
    const dir = await temp.make();
    const segmentBytesMax = 4096;
    const { log } = openLog(dir, { segmentBytesMax });
    for (let batch = 0; batch < 6; batch++) await appendPattern(log, 7);
    await log.close();
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files)
      expect(fs.statSync(path.join(dir, file)).size).toBeLessThanOrEqual(segmentBytesMax);

    const reopened = openLog(dir, { segmentBytesMax });
    expect(reopened.log.recovery.segments).toBe(files.length);
    expectPattern(reopened.log, 42);
    // Each file is named after its first record's seq.
    const firstSeqs = files.map((file) => Number(file.slice(0, 20)));
    expect(firstSeqs[0]).toBe(1);
    expect(firstSeqs).toEqual([...firstSeqs].sort((a, b) => a - b));
    // A record larger than a segment gets a segment of its own.
    const huge = Buffer.alloc(3 * segmentBytesMax, 1);
    const hugeSeq = reopened.log.append(huge);
    await reopened.log.commit();
    expect(segmentFiles(dir)).toContain(segmentName(hugeSeq));
    await reopened.log.close();
  });

  it("rejects empty and oversized records, and appends after close", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir);
    expect(() => log.append(new Uint8Array(0))).toThrow(JournalError);
    expect(() => log.append(new Uint8Array(RECORD_BYTES_MAX + 1))).toThrow(/1 byte to 16777216 bytes/);
    expect(log.append(new Uint8Array(RECORD_BYTES_MAX))).toBe(1);
    const closing = log.close();
    expect(() => log.append(Buffer.from("late"))).toThrow(
      expect.objectContaining({ code: "JOURNAL_CLOSED" }),
    );
    await closing;
    await expect(log.commit()).resolves.toBeUndefined();
    await expect(log.compact([])).rejects.toMatchObject({ code: "JOURNAL_CLOSED" });
    const reopened = openLog(dir).log;
    expect([...reopened.replay()][0].data.length).toBe(RECORD_BYTES_MAX);
    await reopened.close();
  });
});

describe("SegmentLog group commit", () => {
  it("serves many commits issued in one tick with one write and one fsync", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir, { fsync: true });
    const commits: Promise<void>[] = [];
    for (let seq = 1; seq <= 1000; seq++) {
      log.append(recordFor(seq));
      commits.push(log.commit());
    }
    await Promise.all(commits);
    expect(log.committedSeq).toBe(1000);
    expect(log.stats.batches).toBe(1);
    expect(log.stats.fsyncs).toBe(1);
    await log.close();
    const reopened = openLog(dir).log;
    expectPattern(reopened, 1000);
    await reopened.close();
  });

  it("resolves a commit with nothing buffered without writing", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir, { fsync: true });
    await log.commit();
    expect(log.stats).toEqual({ batches: 0, fsyncs: 0, bytesWritten: 0, failures: 0, probes: 0 });
    await log.close();
  });

  it("makes a commit issued during a write wait for that write, and later appends for the next", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir, { fsync: true });
    log.append(Buffer.from("a"));
    const first = log.commit();
    await new Promise(setImmediate); // the batch holding "a" is now being written
    const nothingNew = log.commit();
    log.append(Buffer.from("b"));
    const second = log.commit();
    await nothingNew;
    expect(log.committedSeq).toBeGreaterThanOrEqual(1);
    await first;
    await second;
    expect(log.committedSeq).toBe(2);
    expect(log.stats.batches).toBe(2);
    await log.close();
  });

  it("gathers appends across ticks within commitWindowMs", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir, { commitWindowMs: 40 });
    log.append(Buffer.from("a"));
    const first = log.commit();
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.append(Buffer.from("b"));
    const second = log.commit();
    await Promise.all([first, second]);
    expect(log.stats.batches).toBe(1);
    expect(log.committedSeq).toBe(2);
    await log.close();
  });
});

/**
 * Runs the append loop in a child on `dir` and SIGKILLs it `delayMs` after its `commitsBeforeKill`th
 * report (the delay moves the kill across the write, fsync and roll phases); returns the highest seq
 * it reported committed.
 */
async function killMidway(
  dir: string,
  mode: "fsync" | "nofsync",
  commitsBeforeKill: number,
  delayMs: number,
) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dir, mode], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let reported = 0;
  let commits = 0;
  let partial = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const match = /^committed (\d+)$/.exec(line);
      if (match === null) throw new Error(`unexpected child output: ${line}`);
      reported = Math.max(reported, Number(match[1]));
      commits += 1;
      if (commits === commitsBeforeKill) setTimeout(() => child.kill("SIGKILL"), delayMs);
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (_code, exitSignal) => resolve(exitSignal));
  });
  expect(signal, `child did not die by SIGKILL; stderr: ${stderr}`).toBe("SIGKILL");
  return reported;
}

describe("SegmentLog durability", () => {
  for (const mode of ["fsync", "nofsync"] as const) {
    it(`keeps every commit a SIGKILLed writer reported (${mode})`, async () => {
      const dir = await temp.make();
      let reported = 0;
      // Three writers in turn on the same log, each continuing after the last one's crash.
      for (const delayMs of [0, 2, 5]) {
        const reportedBefore = reported;
        reported = await killMidway(dir, mode, 150, delayMs);
        expect(reported).toBeGreaterThanOrEqual(reportedBefore + 150);
        const { log, lines } = openLog(dir, { segmentBytesMax: 64 * 1024 });
        expect(log.recovery.setAside, lines.join("\n")).toEqual([]);
        expect(log.recovery.damage, lines.join("\n")).toEqual([]);
        // Records past the last report (written, not yet reported) may survive too; all must be intact.
        expect(log.appendedSeq).toBeGreaterThanOrEqual(reported);
        expectPattern(log, log.appendedSeq);
        await log.close();
      }
      expect(segmentFiles(dir).length).toBeGreaterThan(1);
      expect(fs.readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    });
  }
});

describe("SegmentLog recovery", () => {
  /** A one-segment log of recordFor(1..10), closed. */
  async function tenRecords(): Promise<{ dir: string; file: string; offsets: number[] }> {
    const dir = await temp.make();
    const { log } = openLog(dir);
    await appendPattern(log, 10);
    await log.close();
    return { dir, file: path.join(dir, segmentName(1)), offsets: patternOffsets(10) };
  }

  /** Appends after recovery continue at `recoveredSeq + 1` and survive another reopen. */
  async function expectContinues(dir: string, log: SegmentLog, recoveredSeq: number): Promise<void> {
    expect(log.appendedSeq).toBe(recoveredSeq);
    expectPattern(log, recoveredSeq);
    expect(log.append(recordFor(recoveredSeq + 1))).toBe(recoveredSeq + 1);
    await appendPattern(log, 2);
    await log.close();
    const reopened = openLog(dir, { segmentBytesMax: 16 * 1024 });
    expect(reopened.lines).toEqual([]);
    expectPattern(reopened.log, recoveredSeq + 3);
    await reopened.log.close();
  }

  it("truncates a record torn mid-payload at the end of the last segment", async () => {
    const { dir, file, offsets } = await tenRecords();
    fs.truncateSync(file, offsets[10] - 5);
    const { log, lines } = openLog(dir);
    const torn = offsets[10] - 5 - offsets[9];
    expect(lines).toEqual([
      `journal: ${segmentName(1)}: torn tail at byte ${offsets[9]} (torn record, ${torn} of ${torn + 5} bytes); truncated ${torn} bytes, recovered to seq 9`,
    ]);
    expect(log.recovery).toEqual({ records: 9, segments: 1, truncatedBytes: torn, setAside: [], damage: [] });
    expect(fs.statSync(file).size).toBe(offsets[9]);
    await expectContinues(dir, log, 9);
  });

  it("truncates a torn frame header", async () => {
    const { dir, file, offsets } = await tenRecords();
    fs.truncateSync(file, offsets[9] + 3);
    const { log, lines } = openLog(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /torn tail at byte \d+ \(torn frame header, 3 of 8 bytes\); truncated 3 bytes, recovered to seq 9$/,
    );
    await expectContinues(dir, log, 9);
  });

  it("sets the segment aside, not truncates it, for a whole last record with a bad checksum", async () => {
    const { dir, file, offsets } = await tenRecords();
    const original = fs.readFileSync(file);
    flipByte(file, offsets[10] - 1);
    const { log, lines } = openLog(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^journal: ${segmentName(1)}: damaged at byte ${offsets[9]} \\(crc mismatch\\); set aside as ${segmentName(1)}\\.damaged-\\d{8}T\\d{6}\\.\\d{3}Z; recovered 9 record\\(s\\) before the damage and 0 after it; ${offsets[10] - offsets[9]} byte\\(s\\) not recovered$`,
      ),
    );
    const [damage] = log.recovery.damage;
    expect(damage).toMatchObject({
      segment: segmentName(1),
      offset: offsets[9],
      recordsBefore: 9,
      recordsAfter: 0,
    });
    // The set-aside file is the damaged original, byte for byte but the flipped one.
    const kept = fs.readFileSync(path.join(dir, damage.setAsideAs!));
    expect(kept.length).toBe(original.length);
    expect(kept.subarray(0, offsets[10] - 1).equals(original.subarray(0, offsets[10] - 1))).toBe(true);
    await expectContinues(dir, log, 9);
  });

  it("truncates a zero-filled tail (file size grew, data never landed)", async () => {
    const { dir, file, offsets } = await tenRecords();
    fs.appendFileSync(file, Buffer.alloc(4096));
    const { log, lines } = openLog(dir);
    expect(lines).toEqual([
      `journal: ${segmentName(1)}: torn tail at byte ${offsets[10]} (bad length 0); truncated 4096 bytes, recovered to seq 10`,
    ]);
    expect(log.recovery.setAside).toEqual([]);
    await expectContinues(dir, log, 10);
  });

  /** A log of recordFor(1..60) over several 16 KiB segments, closed. */
  async function severalSegments(): Promise<{ dir: string; files: string[] }> {
    const dir = await temp.make();
    const { log } = openLog(dir, { segmentBytesMax: 16 * 1024 });
    for (let batch = 0; batch < 6; batch++) await appendPattern(log, 10);
    await log.close();
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    return { dir, files };
  }

  /** The records replayed, by the seq written into each (recordFor puts it in the first 4 bytes). */
  function writtenSeqs(log: SegmentLog): number[] {
    return replayed(log).map((record) => {
      const written = record.data.readUInt32LE(0);
      expect(record.data.equals(recordFor(written)), `record written as seq ${written}`).toBe(true);
      return written;
    });
  }

  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, index) => from + index);

  it("keeps every record around a corrupted record in a middle segment, and the later segments", async () => {
    const { dir, files } = await severalSegments();
    const middle = files[1];
    const firstSeq = Number(middle.slice(0, 20));
    const nextSeq = Number(files[2].slice(0, 20));
    // Damage the third record of the middle segment.
    const offset =
      SEGMENT_HEADER_BYTES + [0, 1].reduce((sum, i) => sum + 8 + recordFor(firstSeq + i).length, 0);
    flipByte(path.join(dir, middle), offset + 20);
    const { log, lines } = openLog(dir, { segmentBytesMax: 16 * 1024 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `${middle}: damaged at byte ${offset} (crc mismatch); set aside as ${middle}.damaged-`,
    );
    expect(lines[0]).toContain(
      `recovered 2 record(s) before the damage and ${nextSeq - firstSeq - 3} after it; ${8 + recordFor(firstSeq + 2).length} byte(s) not recovered, 1 record(s) lost`,
    );
    expect(writtenSeqs(log)).toEqual(range(1, 60).filter((seq) => seq !== firstSeq + 2));
    expect(segmentFiles(dir)).toEqual(files);
    await log.close();
    const again = openLog(dir, { segmentBytesMax: 16 * 1024 });
    expect(again.lines).toEqual([]);
    expect(writtenSeqs(again.log)).toEqual(range(1, 60).filter((seq) => seq !== firstSeq + 2));
    await again.log.close();
  });

  it("recovers the records of a middle segment whose header is damaged, from its salted frames", async () => {
    const { dir, files } = await severalSegments();
    flipByte(path.join(dir, files[2]), 17);
    const { log, lines } = openLog(dir, { segmentBytesMax: 16 * 1024 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^journal: ${files[2]}: damaged at byte 0 \\(header crc mismatch\\); set aside as ${files[2]}\\.damaged-`,
      ),
    );
    expect(lines[0]).toContain("0 byte(s) not recovered, 0 record(s) lost");
    expect(writtenSeqs(log)).toEqual(range(1, 60));
    await log.close();
  });

  it("reports a missing middle segment (a seq gap) once, and keeps the segments after it", async () => {
    const { dir, files } = await severalSegments();
    fs.unlinkSync(path.join(dir, files[1]));
    const missingFrom = Number(files[1].slice(0, 20));
    const missingTo = Number(files[2].slice(0, 20)) - 1;
    const { log, lines } = openLog(dir, { segmentBytesMax: 16 * 1024 });
    expect(lines).toEqual([
      `journal: ${files[2]}: seq gap: seqs ${missingFrom} to ${missingTo} are missing (${missingTo - missingFrom + 1} record(s), a segment file removed or lost); the segments after the gap are kept`,
    ]);
    expect(log.recovery.damage).toEqual([
      {
        segment: files[2],
        offset: 0,
        reason: `seq gap: seqs ${missingFrom} to ${missingTo} are missing`,
        recordsBefore: 0,
        recordsAfter: 0,
        recordsLost: missingTo - missingFrom + 1,
        bytesSetAside: 0,
        setAsideAs: null,
      },
    ]);
    const expected = range(1, 60).filter((seq) => seq < missingFrom || seq > missingTo);
    expect(replayed(log).map((record) => record.seq)).toEqual(expected);
    expect(writtenSeqs(log)).toEqual(expected);
    log.append(recordFor(61));
    await log.close();
    const again = openLog(dir, { segmentBytesMax: 16 * 1024 });
    expect(again.lines).toEqual([]);
    expect(writtenSeqs(again.log)).toEqual([...expected, 61]);
    await again.log.close();
  });

  it("sets aside a lone segment with a bad header and starts over at its seq", async () => {
    const { dir, file } = await tenRecords();
    flipByte(file, 0);
    const { log, lines } = openLog(dir);
    expect(lines).toHaveLength(1);
    // The magic is gone but the salt is intact: every record is found again.
    expect(lines[0]).toMatch(
      /^journal: 0{19}1\.log: damaged at byte 0 \(bad magic\); set aside as .*; recovered 0 record\(s\) before the damage and 10 after it/,
    );
    expect(log.appendedSeq).toBe(10);
    await expectContinues(dir, log, 10);
  });
});

describe("SegmentLog compaction", () => {
  async function hundredRecords(dir: string): Promise<SegmentLog> {
    const { log } = openLog(dir, { segmentBytesMax: 16 * 1024, fsync: true });
    for (let batch = 0; batch < 10; batch++) await appendPattern(log, 10);
    return log;
  }

  it("replaces the log with the compacted records, which get seqs after appendedSeq", async () => {
    const dir = await temp.make();
    const log = await hundredRecords(dir);
    const sizeBefore = log.sizeBytes;
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    await log.compact([recordFor(101), recordFor(102), recordFor(103)]);
    expect(log.appendedSeq).toBe(103);
    expect(log.committedSeq).toBe(103);
    expect(log.sizeBytes).toBeLessThan(sizeBefore / 10);
    expect(segmentFiles(dir)).toEqual([segmentName(101)]);
    expect(() => [...log.replay()]).toThrow(expect.objectContaining({ code: "JOURNAL_COMPACTED" }));
    log.append(recordFor(104));
    await log.close();

    const { log: reopened, lines } = openLog(dir);
    expect(lines).toEqual([]);
    expect(replayed(reopened)).toEqual([101, 102, 103, 104].map((seq) => ({ seq, data: recordFor(seq) })));
    expect(reopened.sizeBytes).toBe(fs.statSync(path.join(dir, segmentName(101))).size);
    await reopened.close();
  });

  it("writes what was buffered first, and puts appends made during compaction after it", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir);
    log.append(Buffer.from("buffered"));
    const compaction = log.compact([Buffer.from("live")]);
    expect(log.append(Buffer.from("after"))).toBe(3);
    await compaction;
    expect(log.committedSeq).toBeGreaterThanOrEqual(2);
    await log.close();
    const reopened = openLog(dir).log;
    expect(replayed(reopened).map((record) => [record.seq, record.data.toString()])).toEqual([
      [2, "live"],
      [3, "after"],
    ]);
    await reopened.close();
  });

  it("keeps seqs moving after compacting to nothing", async () => {
    const dir = await temp.make();
    const { log } = openLog(dir);
    await appendPattern(log, 5);
    await log.compact([]);
    await log.close();
    const reopened = openLog(dir).log;
    expect(reopened.recovery.records).toBe(0);
    expect(reopened.appendedSeq).toBe(5);
    expect(reopened.append(Buffer.from("x"))).toBe(6);
    // Compacting again at the same seq replaces the empty base segment of the same name.
    await reopened.compact([Buffer.from("y")]);
    await reopened.close();
    const third = openLog(dir).log;
    expect(replayed(third).map((record) => [record.seq, record.data.toString()])).toEqual([[7, "y"]]);
    await third.close();
  });

  it("yields the old log after a crash before the rename (a temp file is left behind)", async () => {
    const dir = await temp.make();
    const log = await hundredRecords(dir);
    await log.close();
    const tempName = `${segmentName(101)}.tmp`;
    fs.writeFileSync(path.join(dir, tempName), Buffer.from("a half-written compacted segment"));
    const { log: reopened, lines } = openLog(dir);
    expect(lines).toEqual([
      `journal: ${tempName}: removed a temp file left by an interrupted segment roll, compaction or repair`,
    ]);
    expect(fs.existsSync(path.join(dir, tempName))).toBe(false);
    expectPattern(reopened, 100);
    await reopened.close();
  });

  it("yields the new log after a crash between the rename and deleting the old segments", async () => {
    // Two copies of one log; one is compacted, and its base segment is dropped into the other: the
    // directory a crash right after the rename leaves.
    const dir = await temp.make();
    const log = await hundredRecords(dir);
    await log.close();
    const copy = await temp.make();
    for (const file of segmentFiles(dir)) fs.copyFileSync(path.join(dir, file), path.join(copy, file));
    const compacted = openLog(copy).log;
    await compacted.compact([Buffer.from("state")]);
    await compacted.close();
    fs.copyFileSync(path.join(copy, segmentName(101)), path.join(dir, segmentName(101)));
    const oldFiles = segmentFiles(dir).filter((file) => file !== segmentName(101));

    const { log: reopened, lines } = openLog(dir);
    expect(lines).toEqual([
      `journal: removed ${oldFiles.length} segment(s) superseded by the compaction in ${segmentName(101)}`,
    ]);
    expect(replayed(reopened)).toEqual([{ seq: 101, data: Buffer.from("state") }]);
    expect(segmentFiles(dir)).toEqual([segmentName(101)]);
    await reopened.close();
  });
});

describe("SegmentLog against a model", () => {
  type Step =
    | { op: "append"; sizes: number[]; commit: boolean }
    | { op: "reopen" }
    | { op: "tear"; bytes: number }
    | { op: "compact"; keep: number };

  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant("append" as const),
        sizes: fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }),
        commit: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("reopen" as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant("tear" as const), bytes: fc.integer({ min: 1, max: 4000 }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("compact" as const), keep: fc.nat({ max: 4 }) }) },
  );

  /** Distinct content per (seq, size), so a record replayed under the wrong seq is caught. */
  const content = (seq: number, size: number) => Buffer.alloc(size, seq % 251).fill(seq & 0xff, 0, 1);

  it("replays exactly what was committed, and a torn tail loses only a suffix", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const dir = await mkdtemp(path.join(tmpdir(), "dsat-journal-model-"));
        const options = { segmentBytesMax: 8 * 1024, log: () => {}, fsync: false };
        try {
          let log = SegmentLog.open(dir, options);
          /** What a reopen must replay: every seq and its data, in order. */
          let model: { seq: number; data: Buffer }[] = [];
          for (const step of steps) {
            if (step.op === "append") {
              for (const size of step.sizes) {
                const seq = log.appendedSeq + 1;
                model.push({ seq, data: content(seq, size) });
                expect(log.append(content(seq, size))).toBe(seq);
              }
              if (step.commit) await log.commit();
            } else if (step.op === "compact") {
              const live = model.slice(-step.keep).map((record) => record.data);
              const firstSeq = log.appendedSeq + 1;
              await log.compact(live);
              model = live.map((data, index) => ({ seq: firstSeq + index, data }));
            } else {
              await log.close();
              let lowest = 0;
              if (step.op === "tear") {
                const last = path.join(dir, segmentFiles(dir).at(-1)!);
                const size = fs.statSync(last).size;
                fs.truncateSync(last, Math.max(SEGMENT_HEADER_BYTES, size - step.bytes));
                lowest = Number(path.basename(last).slice(0, 20)) - 1;
              }
              const appendedSeq = log.appendedSeq;
              log = SegmentLog.open(dir, options);
              const records = replayed(log);
              if (step.op === "reopen") {
                expect(records).toEqual(model);
                expect(log.appendedSeq).toBe(appendedSeq);
              } else {
                // A prefix survives: at least everything before the torn segment.
                expect(records).toEqual(model.slice(0, records.length));
                expect(log.appendedSeq).toBeGreaterThanOrEqual(lowest);
                expect(log.appendedSeq).toBe(records.at(-1)?.seq ?? log.appendedSeq);
                model = records;
              }
            }
          }
          await log.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  });
});
