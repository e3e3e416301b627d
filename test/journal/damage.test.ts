// Damage on real files: the journal never deletes what it cannot read. A checksum error or an
// unframeable record sets the segment aside (renamed, byte for byte), every readable record (before
// the damage, and after it by resynchronising on the salted frames) stays in the log, later segments
// are kept, and open() reports where and how much. A torn tail (an incomplete last record) is still
// truncated: it is what a crash mid-commit leaves.
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  FRAME_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  type SegmentLog,
  segmentName,
} from "../../src/journal/index.ts";
import { flipByte, openLog } from "../helpers/journal.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { recordFor } from "./fixtures/pattern.ts";

const temp = new TempDirs("dsat-damage-");
afterEach(() => temp.removeAll());

const frameBytes = (seq: number) => FRAME_HEADER_BYTES + recordFor(seq).length;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

/**
 * A closed log of recordFor(1..) whose segments hold exactly `counts` records each; returns each
 * segment's name, first seq and the byte offset of each of its records (plus its end).
 */
async function buildLog(dir: string, counts: number[]) {
  const segments: { name: string; firstSeq: number; offsets: number[] }[] = [];
  let firstSeq = 1;
  for (let index = 0; index < counts.length; index++) {
    const lastSeq = firstSeq + counts[index] - 1;
    const offsets = [SEGMENT_HEADER_BYTES];
    for (let seq = firstSeq; seq <= lastSeq; seq++) offsets.push(offsets.at(-1)! + frameBytes(seq));
    // Exactly this segment's records fit: the next append rolls to a new segment.
    const { log } = openLog(dir, { segmentBytesMax: offsets.at(-1)! });
    while (log.appendedSeq < lastSeq) log.append(recordFor(log.appendedSeq + 1));
    if (index < counts.length - 1) log.append(recordFor(lastSeq + 1));
    await log.close();
    segments.push({ name: segmentName(firstSeq), firstSeq, offsets });
    firstSeq = lastSeq + 1;
  }
  expect(fs.readdirSync(dir).filter((name) => name.endsWith(".log"))).toEqual(segments.map((s) => s.name));
  return segments;
}

/** Each replayed record's original seq (recordFor writes it into its first 4 bytes), checking its bytes. */
function writtenSeqs(log: SegmentLog): number[] {
  const seqs: number[] = [];
  let previous = 0;
  for (const { seq, data } of log.replay()) {
    expect(seq, "seqs strictly increase").toBeGreaterThan(previous);
    previous = seq;
    const written = Buffer.from(data).readUInt32LE(0);
    expect(Buffer.from(data).equals(recordFor(written)), `record written as seq ${written}`).toBe(true);
    seqs.push(written);
  }
  return seqs;
}

function patch(file: string, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
}

describe("journal damage", () => {
  it("keeps the 451 good records of a segment whose first record is bad, and the segments after it", async () => {
    const dir = await temp.make();
    const [first, damaged, last] = await buildLog(dir, [100, 452, 50]);
    const file = path.join(dir, damaged.name);
    flipByte(file, SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES + 10); // record 101's payload
    const original = fs.readFileSync(file);

    const { log, lines } = openLog(dir);
    // Before the fix: the segment was truncated to its header (452 records gone) and the next set aside.
    expect(writtenSeqs(log)).toEqual([...range(1, 100), ...range(102, 602)]);
    expect(log.recovery.damage).toEqual([
      {
        segment: damaged.name,
        offset: SEGMENT_HEADER_BYTES,
        reason: "crc mismatch",
        recordsBefore: 0,
        recordsAfter: 451,
        recordsLost: 1,
        bytesSetAside: frameBytes(101),
        setAsideAs: expect.stringMatching(/^0{17}101\.log\.damaged-\d{8}T\d{6}\.\d{3}Z$/),
      },
    ]);
    const setAsideAs = log.recovery.damage[0].setAsideAs!;
    expect(log.recovery.setAside).toEqual([setAsideAs]);
    expect(fs.readFileSync(path.join(dir, setAsideAs)).equals(original)).toBe(true);
    expect(lines).toEqual([
      `journal: ${damaged.name}: damaged at byte 32 (crc mismatch); set aside as ${setAsideAs}; recovered 0 record(s) before the damage and 451 after it; ${frameBytes(101)} byte(s) not recovered, 1 record(s) lost`,
    ]);
    // The segments around it are untouched; the last keeps its seqs.
    expect(log.recovery.records).toBe(100 + 451 + 50);
    expect([...log.replay()].at(-1)!.seq).toBe(last.firstSeq + 49);
    expect(first.name).toBe(segmentName(1));

    // Appends continue after the last seq, and a second open finds nothing to repair.
    expect(log.append(recordFor(603))).toBe(603);
    await log.close();
    const again = openLog(dir);
    expect(again.lines).toEqual([]);
    expect(writtenSeqs(again.log)).toEqual([...range(1, 100), ...range(102, 603)]);
    await again.log.close();
  });

  it("damage in the middle of the last segment: records on both sides are kept, the file set aside", async () => {
    const dir = await temp.make();
    const [, last] = await buildLog(dir, [30, 40]);
    // Record 50 (index 19 of the last segment) gets a bad checksum; 20 good records follow it.
    flipByte(path.join(dir, last.name), last.offsets[19] + FRAME_HEADER_BYTES + 3);
    const { log, lines } = openLog(dir);
    expect(writtenSeqs(log)).toEqual(range(1, 70).filter((seq) => seq !== 50));
    expect(log.recovery.truncatedBytes).toBe(0);
    expect(log.recovery.damage).toMatchObject([
      {
        segment: last.name,
        offset: last.offsets[19],
        recordsBefore: 19,
        recordsAfter: 20,
        recordsLost: null,
      },
    ]);
    expect(lines[0]).toContain("recovered 19 record(s) before the damage and 20 after it");
    // In the last segment the records after the damage close up: the next append follows them.
    expect(log.appendedSeq).toBe(69);
    expect(log.append(recordFor(71))).toBe(70);
    await log.close();
  });

  it("a record that cannot be framed (length 0xffffffff) is damage, and the records after it are found", async () => {
    const dir = await temp.make();
    const [only] = await buildLog(dir, [25]);
    patch(path.join(dir, only.name), only.offsets[4], Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const { log } = openLog(dir);
    expect(writtenSeqs(log)).toEqual(range(1, 25).filter((seq) => seq !== 5));
    expect(log.recovery.damage).toMatchObject([
      { offset: only.offsets[4], reason: "bad length 4294967295", recordsBefore: 4, recordsAfter: 20 },
    ]);
    await log.close();
  });

  it("a zeroed 4 KiB block in an earlier segment: only the records it touches are lost", async () => {
    const dir = await temp.make();
    const [, middle, last] = await buildLog(dir, [10, 60, 10]);
    const blockStart = 8192;
    const blockEnd = blockStart + 4096;
    patch(path.join(dir, middle.name), blockStart, Buffer.alloc(4096));
    const touched = range(middle.firstSeq, last.firstSeq - 1).filter((seq) => {
      const index = seq - middle.firstSeq;
      return middle.offsets[index] < blockEnd && middle.offsets[index + 1] > blockStart;
    });
    expect(touched.length).toBeGreaterThan(1);
    const { log } = openLog(dir);
    expect(writtenSeqs(log)).toEqual(range(1, 80).filter((seq) => !touched.includes(seq)));
    expect(log.recovery.damage).toMatchObject([{ segment: middle.name, recordsLost: touched.length }]);
    // The last segment keeps its seqs: the lost ones are a hole before it.
    expect([...log.replay()].at(-1)!.seq).toBe(80);
    await log.close();
    expect(openLog(dir).lines).toEqual([]);
  });

  it("never takes a frame forged inside a payload for a record (the frame CRC is salted per segment)", async () => {
    const dir = await temp.make();
    // A payload that is itself a run of well-formed frames, checksummed the unsalted (format 1) way
    // and with the salt guessed as 0..3: what a client could put in a job payload.
    const zlib = await import("node:zlib");
    const forged: Buffer[] = [];
    for (const seed of [0, 1, 2, 3]) {
      const body = Buffer.from(`forged record, seed ${seed}`);
      const length = Buffer.alloc(4);
      length.writeUInt32LE(body.length, 0);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(zlib.crc32(body, zlib.crc32(length, seed)), 0);
      forged.push(length, crc, body);
    }
    const { log: writer } = openLog(dir);
    writer.append(recordFor(1));
    writer.append(Buffer.concat([Buffer.from("xxxx"), ...forged]));
    writer.append(recordFor(3));
    await writer.close();
    // Damage the carrier's length field, so a scan starts inside its payload.
    const carrierOffset = SEGMENT_HEADER_BYTES + frameBytes(1);
    flipByte(path.join(dir, segmentName(1)), carrierOffset + 2);
    const { log } = openLog(dir);
    const data = [...log.replay()].map((record) => Buffer.from(record.data));
    expect(data).toEqual([recordFor(1), recordFor(3)]);
    await log.close();
  });

  it("a stray copy of a segment under another name is set aside without touching the log", async () => {
    const dir = await temp.make();
    const [first, second] = await buildLog(dir, [20, 20]);
    const strayName = segmentName(10); // inside the first segment's seqs
    fs.copyFileSync(path.join(dir, second.name), path.join(dir, strayName));
    const { log, lines } = openLog(dir);
    expect(writtenSeqs(log)).toEqual(range(1, 40));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^journal: ${strayName}: starts at seq 10, inside the previous segment \\(which ends at seq 20\\); set aside as ${strayName}\\.damaged-`,
      ),
    );
    expect(first.name).toBe(segmentName(1));
    await log.close();
    expect(openLog(dir).lines).toEqual([]);
  });

  it("reads format 1 (unsalted) segments; after damage in one it keeps what is before the damage", async () => {
    const dir = await temp.make();
    const zlib = await import("node:zlib");
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    header.write("DSATJRN1", 0, "latin1");
    header.writeUInt32LE(1, 8);
    header.writeUInt32LE(1, 12); // base
    header.writeBigUInt64LE(1n, 16);
    header.writeUInt32LE(zlib.crc32(header.subarray(0, 28)), 28);
    const frames = range(1, 12).map((seq) => {
      const body = recordFor(seq);
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + body.length);
      frame.writeUInt32LE(body.length, 0);
      body.copy(frame, FRAME_HEADER_BYTES);
      frame.writeUInt32LE(zlib.crc32(body, zlib.crc32(frame.subarray(0, 4))), 4);
      return frame;
    });
    const file = path.join(dir, segmentName(1));
    fs.writeFileSync(file, Buffer.concat([header, ...frames]));

    const clean = openLog(dir);
    expect(clean.lines).toEqual([]);
    expect(writtenSeqs(clean.log)).toEqual(range(1, 12));
    await clean.log.close();

    const sixth = SEGMENT_HEADER_BYTES + range(1, 5).reduce((sum, seq) => sum + frameBytes(seq), 0);
    flipByte(file, sixth + FRAME_HEADER_BYTES + 1);
    const { log, lines } = openLog(dir);
    expect(writtenSeqs(log)).toEqual(range(1, 5));
    expect(log.recovery.damage).toMatchObject([{ recordsBefore: 5, recordsAfter: 0 }]);
    expect(lines[0]).toContain("a format 1 segment has no salted checksums");
    // What could not be read is still on disk, in the set-aside file.
    const originalBytes = SEGMENT_HEADER_BYTES + Buffer.concat(frames).length;
    expect(fs.statSync(path.join(dir, log.recovery.setAside[0])).size).toBe(originalBytes);
    expect(log.recovery.damage[0].bytesSetAside).toBe(originalBytes - sixth);
    await log.close();
  });
});

describe("journal damage against a model", () => {
  type Hit = { segment: number; at: number; kind: "flip" | "zero"; bytes: number };

  it("replays exactly the records the damage did not touch, in order, and a second open repairs nothing", async () => {
    const counts = [40, 60, 50, 45];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            segment: fc.nat({ max: counts.length - 1 }),
            at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
            kind: fc.constantFrom("flip" as const, "zero" as const),
            bytes: fc.integer({ min: 1, max: 3000 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (hits: Hit[]) => {
          const dir = await mkdtemp(path.join(tmpdir(), "dsat-damage-model-"));
          try {
            const segments = await buildLog(dir, counts);
            const before = segments.map((segment) => fs.readFileSync(path.join(dir, segment.name)));
            for (const hit of hits) {
              const segment = segments[hit.segment];
              const end = segment.offsets.at(-1)!;
              // Frames only (the header is covered by the tests above), and never past the file end.
              const start = SEGMENT_HEADER_BYTES + Math.floor(hit.at * (end - SEGMENT_HEADER_BYTES));
              if (hit.kind === "flip") flipByte(path.join(dir, segment.name), start);
              else
                patch(
                  path.join(dir, segment.name),
                  start,
                  Buffer.alloc(Math.min(end, start + hit.bytes) - start),
                );
            }
            // A record is touched when any of its bytes changed (two flips of one byte cancel out).
            const touched = new Set<number>();
            segments.forEach((segment, at) => {
              const after = fs.readFileSync(path.join(dir, segment.name));
              for (let index = 0; index < segment.offsets.length - 1; index++) {
                const [from, to] = [segment.offsets[index], segment.offsets[index + 1]];
                if (!after.subarray(from, to).equals(before[at].subarray(from, to)))
                  touched.add(segment.firstSeq + index);
              }
            });
            const expected = range(1, 195).filter((seq) => !touched.has(seq));
            const { log } = openLog(dir);
            expect(writtenSeqs(log)).toEqual(expected);
            for (const damage of log.recovery.damage) {
              expect(fs.existsSync(path.join(dir, damage.setAsideAs!))).toBe(true);
            }
            await log.close();
            const again = openLog(dir);
            expect(again.lines).toEqual([]);
            expect(writtenSeqs(again.log)).toEqual(expected);
            await again.log.close();
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
