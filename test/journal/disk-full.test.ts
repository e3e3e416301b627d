// A journal whose disk fails under it, for real: a 1 MiB tmpfs mounted for the test (CI runs as
// root) is filled until writes fail with ENOSPC. Where mount is not allowed, the failure is the other
// real one a journal meets: its directory replaced under it (a new segment cannot go where open()
// would find it). Either way: the failed commit acknowledges nothing, records appended meanwhile are
// kept in order, probe() fails while the disk does and resumes once it is back, and the log on disk
// then holds every record once, in order.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AcceptedRecord, decodeRecord, SegmentLog } from "../../src/journal/index.ts";
import { JobJournal } from "../../src/orchestrator/durable.ts";
import { type FailingDisk, FailingDisks } from "../helpers/failing-disk.ts";
import { journalConfig } from "../helpers/journal.ts";

const disks = new FailingDisks("dsat-disk-full-", "1m");
beforeAll(() => disks.setUp());
afterAll(() => disks.tearDown());

/** Each case's directory, removed after it so the cases share the small disk fairly. */
const cases: string[] = [];

afterEach(() => {
  for (const base of cases.splice(0)) fs.rmSync(base, { recursive: true, force: true });
});

let caseCount = 0;

/** A failing disk under a journal directory of its own (see FailingDisks.disk for `kind`). */
function failingDisk(kind?: "full" | "swapped"): FailingDisk & { dir: string } {
  const base = path.join(disks.root, `case-${caseCount++}`);
  fs.mkdirSync(base);
  cases.push(base);
  const dir = path.join(base, "journal");
  return { dir, ...disks.disk(dir, kind) };
}

function accepted(id: string, bytes: number): AcceptedRecord {
  return {
    k: "accepted",
    id,
    type: "echo",
    firstType: "echo",
    step: 0,
    steps: [],
    key: null,
    payload: [Buffer.alloc(bytes, id.length)],
    raw: false,
    deadlineAt: 0,
    receivedAt: 0,
    origin: { kind: "publish", route: null, correlation: null, service: null, owner: null },
  };
}

/** The ids of the records on disk, in log order, read back by a fresh open. */
function idsOnDisk(dir: string): { ids: string[]; lines: string[] } {
  const lines: string[] = [];
  const log = SegmentLog.open(dir, { log: (line) => lines.push(line) });
  const ids = [...log.replay()].map(({ data }) => decodeRecord(data).id);
  void log.close();
  return { ids, lines };
}

describe("a journal on a failing disk", () => {
  it("refuses the commit, keeps every record in order, and resumes by probe() once the disk is back", async () => {
    const disk = failingDisk();
    const [journal] = JobJournal.open(
      journalConfig(disk.dir, { fsync: true, segmentBytesMax: 8192 }),
      () => {},
      Date.now(),
    );
    const ids: string[] = [];
    const append = (count: number) => {
      for (let index = 0; index < count; index++) {
        const id = `job-${ids.length}`;
        ids.push(id);
        expect(journal.append(accepted(id, 600))).toBe(ids.length);
      }
    };
    try {
      append(10);
      await journal.commit();
      expect(journal.committedSeq).toBe(10);

      disk.fail();
      append(20); // more than a segment: new pages, and a roll
      await expect(journal.commit()).rejects.toMatchObject({ code: "JOURNAL_FAILED" });
      expect(journal.failure).toMatch(disks.mounted ? /ENOSPC/ : /no longer the segment being written/);
      expect(journal.failedSince).not.toBeNull();
      expect(journal.committedSeq).toBe(10); // nothing of the failed commit is acknowledged

      append(5); // while failed: kept, in order, not acknowledged
      await expect(journal.commit()).rejects.toMatchObject({ code: "JOURNAL_FAILED" });
      expect(await journal.probe()).toBe(false);
      expect(await journal.probe()).toBe(false);
      expect(journal.committedSeq).toBe(10);

      disk.heal();
      expect(await journal.probe()).toBe(true);
      expect(journal.failure).toBeNull();
      expect(journal.failedSince).toBeNull();
      expect(journal.committedSeq).toBe(35);
      expect(journal.counters).toMatchObject({ failures: 1, probes: 3, resumed: 1 });

      append(5);
      await journal.commit();
      expect(journal.committedSeq).toBe(40);
    } finally {
      await journal.close().catch(() => {});
    }
    const { ids: onDisk, lines } = idsOnDisk(disk.dir);
    expect(lines).toEqual([]);
    expect(onDisk).toEqual(ids);
  });

  it("a write that fails part way into the active segment: its in-doubt tail is cut, the records go to a new segment", async () => {
    const disk = failingDisk();
    // Without a tmpfs the failure needs a roll: small segments then.
    const segmentBytesMax = disks.mounted ? 1024 * 1024 : 8192;
    const log = SegmentLog.open(disk.dir, { segmentBytesMax, log: () => {} });
    const record = (n: number) => Buffer.alloc(1500, n);
    try {
      for (let n = 1; n <= 3; n++) log.append(record(n));
      await log.commit();
      const durableBytes = fs.statSync(path.join(disk.dir, "00000000000000000001.log")).size;
      disk.fail();
      for (let n = 4; n <= 40; n++) log.append(record(n)); // 55 KiB: past the pages the file has
      await expect(log.commit()).rejects.toMatchObject({ code: "JOURNAL_FAILED" });
      expect(log.stats.failures).toBe(1);
      if (disks.mounted) {
        // Some of it landed before ENOSPC: bytes nobody acknowledged, in doubt after a failed write.
        expect(fs.statSync(path.join(disk.dir, "00000000000000000001.log")).size).toBeGreaterThan(
          durableBytes,
        );
      }
      disk.heal();
      expect(await log.probe()).toBe(true);
      expect(log.committedSeq).toBe(40);
      if (disks.mounted) {
        expect(fs.statSync(path.join(disk.dir, "00000000000000000001.log")).size).toBe(durableBytes);
        expect(fs.readdirSync(disk.dir).sort()).toEqual([
          "00000000000000000001.log",
          "00000000000000000004.log",
        ]);
      }
    } finally {
      await log.close();
    }
    const reopened = SegmentLog.open(disk.dir, { log: () => {} });
    expect([...reopened.replay()].map(({ seq, data }) => [seq, data[0]])).toEqual(
      Array.from({ length: 40 }, (_, index) => [index + 1, index + 1]),
    );
    expect(reopened.recovery.damage).toEqual([]);
    await reopened.close();
  });

  it("a directory replaced under the log: no segment goes into the new one, probe() resumes once it is back", async () => {
    const disk = failingDisk("swapped");
    const log = SegmentLog.open(disk.dir, { segmentBytesMax: 4096, log: () => {} });
    try {
      log.append(Buffer.alloc(3000, 1));
      await log.commit();
      disk.fail();
      log.append(Buffer.alloc(3000, 2)); // needs a roll: a new file in the directory
      await expect(log.commit()).rejects.toMatchObject({ code: "JOURNAL_FAILED" });
      expect(String(log.failure)).toMatch(
        /no longer the segment being written \(the directory was moved or replaced\)/,
      );
      expect(fs.readdirSync(disk.dir)).toEqual([]);
      expect(await log.probe()).toBe(false);
      expect(fs.readdirSync(disk.dir)).toEqual([]);
      disk.heal();
      expect(await log.probe()).toBe(true);
      expect(log.committedSeq).toBe(2);
    } finally {
      await log.close();
    }
    const reopened = SegmentLog.open(disk.dir, { log: () => {} });
    expect([...reopened.replay()].map(({ data }) => data[0])).toEqual([1, 2]);
    await reopened.close();
  });

  it("over fill/heal cycles with rolls, and a stop while failed, every acknowledged record survives in order", async () => {
    const disk = failingDisk();
    let random = 12345;
    const next = (limit: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % limit;
    };
    /** What a reopen must replay: tags in order. */
    let model: number[] = [];
    let tag = 0;
    let log = SegmentLog.open(disk.dir, { segmentBytesMax: 8192, log: () => {} });
    const appendSome = () => {
      for (let count = 1 + next(12); count > 0; count--) {
        const record = Buffer.alloc(200 + next(2500), tag & 0xff);
        record.writeUInt32LE(tag, 0);
        log.append(record);
        model.push(tag++);
      }
    };
    const replayTags = (opened: SegmentLog) =>
      [...opened.replay()].map(({ data }) => Buffer.from(data).readUInt32LE(0));
    try {
      for (let cycle = 0; cycle < 6; cycle++) {
        appendSome();
        await log.commit();
        const acknowledged = log.committedSeq;
        disk.fail();
        appendSome();
        appendSome();
        appendSome();
        const failed = await log.commit().then(
          () => false,
          () => true,
        );
        if (!failed) {
          // The records fit in pages the active segment already had; fail it with a roll.
          while (
            !(await log.commit().then(
              () => false,
              () => true,
            ))
          )
            appendSome();
        }
        expect(log.committedSeq).toBeLessThan(log.appendedSeq);
        expect(await log.probe()).toBe(false);
        if (cycle === 3) {
          // Stopped while failed: what was acknowledged is on disk; the rest may or may not be.
          await log.close().catch(() => {});
          disk.heal();
          log = SegmentLog.open(disk.dir, { segmentBytesMax: 8192, log: () => {} });
          const replayed = replayTags(log);
          expect(replayed.length).toBeGreaterThanOrEqual(acknowledged); // one segment chain from seq 1
          expect(replayed).toEqual(model.slice(0, replayed.length));
          expect(log.appendedSeq).toBeGreaterThanOrEqual(acknowledged);
          model = replayed;
          continue;
        }
        disk.heal();
        expect(await log.probe(), String(log.failure)).toBe(true);
        expect(log.committedSeq).toBe(log.appendedSeq);
      }
    } finally {
      await log.close().catch(() => {});
    }
    const reopened = SegmentLog.open(disk.dir, { log: () => {} });
    expect(replayTags(reopened)).toEqual(model);
    expect(reopened.recovery.damage).toEqual([]);
    await reopened.close();
  });
});
