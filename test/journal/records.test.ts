// Journal records round-trip through MessagePack, and the replay fold gives each job's last state.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AcceptedRecord,
  type CompletedRecord,
  decodeRecord,
  encodeRecord,
  JobBook,
  type JournalRecord,
  JournalRecordError,
} from "../../src/journal/index.ts";
import { encode } from "../../src/protocol/index.ts";

const origin = { kind: "batch", route: Buffer.from("client-1"), correlation: 7, service: null, owner: null };

function accepted(id: string, step = 0, payload = "p"): AcceptedRecord {
  return {
    k: "accepted",
    id,
    type: step === 0 ? "measure" : "store",
    firstType: "measure",
    step,
    steps: step === 0 ? ["store"] : [],
    key: null,
    payload: [Buffer.from(payload)],
    raw: false,
    deadlineAt: 1_000_000,
    receivedAt: 1000,
    origin,
  };
}

function completed(id: string, at: number, status = "ok"): CompletedRecord {
  return {
    k: "completed",
    id,
    firstType: "measure",
    key: "k",
    status,
    message: status === "ok" ? "" : "boom",
    result: status === "ok" ? [Buffer.from("r")] : null,
    raw: false,
    attempts: 2,
    receivedAt: 1000,
    completedAt: at,
    payload: status === "ok" ? null : [Buffer.from("p")],
    steps: status === "ok" ? [] : ["measure", "store"],
    origin: { kind: "publish", route: null, correlation: null, service: null, owner: null },
  };
}

describe("journal records", () => {
  it("round-trip every kind", () => {
    const records: JournalRecord[] = [
      accepted("a"),
      { k: "dispatched", id: "a", step: 0, attempt: 3, satelliteId: "echo@h1#0" },
      completed("a", 5000),
      completed("b", 5000, "DSAT_ERR_FAILED"),
      { k: "forgotten", id: "b" },
    ];
    for (const record of records) expect(decodeRecord(encodeRecord(record))).toEqual(record);
  });

  it("round-trip arbitrary payload frames and ids", () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }), (id, frames) => {
        const record = { ...accepted(id), payload: frames.map((frame) => Buffer.from(frame)) };
        expect(decodeRecord(encodeRecord(record))).toEqual(record);
      }),
    );
  });

  it("keep a job's inputs in accepted and completed records; records without them read as before", () => {
    const inputs = encode([["disco://h12/d/1", "h22:/d/1"]]);
    const withInputs: JournalRecord[] = [
      { ...accepted("a"), inputs },
      { ...completed("a", 5000, "DSAT_ERR_FAILED"), inputs },
    ];
    for (const record of withInputs) {
      const decoded = decodeRecord(encodeRecord(record));
      expect(decoded).toEqual(record);
      expect(Buffer.isBuffer((decoded as CompletedRecord).inputs)).toBe(true);
    }
    // The form written before completed records kept inputs: 14 elements, no 15th.
    const old = completed("b", 5000, "DSAT_ERR_FAILED");
    const oldBytes = encode([
      3,
      old.id,
      old.firstType,
      old.key,
      old.status,
      old.message,
      old.result,
      0,
      old.attempts,
      old.receivedAt,
      old.completedAt,
      old.payload,
      old.steps,
      ["publish", null, null, null, null],
    ]);
    expect(encodeRecord(old).equals(oldBytes)).toBe(true);
    const decoded = decodeRecord(oldBytes);
    expect(decoded).toEqual(old);
    expect("inputs" in decoded).toBe(false);
  });

  it("refuse bytes that are not a record, with JournalRecordError", () => {
    for (const bytes of [
      Buffer.from([0xc1]),
      Buffer.from([0x93, 1, 2, 3]),
      Buffer.from([0x92, 9, 0xa1, 0x61]),
    ])
      expect(() => decodeRecord(bytes)).toThrow(JournalRecordError);
  });
});

describe("JobBook (replay)", () => {
  it("folds a job's records to its last state", () => {
    const book = new JobBook();
    book.apply(accepted("a"));
    book.apply({ k: "dispatched", id: "a", step: 0, attempt: 1, satelliteId: "s1" });
    book.apply({ k: "dispatched", id: "a", step: 0, attempt: 2, satelliteId: "s2" });
    expect(book.unfinished.get("a")).toMatchObject({ attempts: 2, satelliteId: "s2" });
    // The next pipeline step starts its own attempts.
    book.apply(accepted("a", 1, "result-of-step-0"));
    expect(book.unfinished.get("a")).toMatchObject({ attempts: 0, satelliteId: null });
    expect(book.unfinished.get("a")?.accepted.payload[0].toString()).toBe("result-of-step-0");
    // A dispatch of the old step arriving late is stray.
    book.apply({ k: "dispatched", id: "a", step: 0, attempt: 3, satelliteId: "s3" });
    expect(book.stray).toBe(1);
    book.apply(completed("a", 5000));
    expect(book.unfinished.has("a")).toBe(false);
    expect(book.finished.get("a")?.status).toBe("ok");
  });

  it("a retried job is unfinished again; a forgotten one is gone", () => {
    const book = new JobBook();
    book.apply(accepted("a"));
    book.apply(completed("a", 5000, "DSAT_ERR_FAILED"));
    book.apply(accepted("a"));
    expect(book.unfinished.has("a")).toBe(true);
    expect(book.finished.has("a")).toBe(false);
    book.apply(completed("a", 6000));
    book.apply({ k: "forgotten", id: "a" });
    expect(book.finished.has("a")).toBe(false);
  });

  it("expires finished jobs past retention, oldest first", () => {
    const book = new JobBook();
    for (let i = 0; i < 10; i++) book.apply(completed(`j${i}`, 1000 * i));
    expect(book.expire(5500, 1000)).toBe(5); // j0..j4 ended at or before 4500
    expect([...book.finished.keys()]).toEqual(["j5", "j6", "j7", "j8", "j9"]);
  });

  it("every accepted job is exactly one of unfinished or finished after any record order per job", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom("accepted", "dispatched", "completed")),
          {
            maxLength: 60,
          },
        ),
        (steps) => {
          const book = new JobBook();
          const seen = new Set<string>();
          for (const [n, kind] of steps) {
            const id = `j${n}`;
            if (kind === "accepted") {
              book.apply(accepted(id));
              seen.add(id);
            } else if (kind === "dispatched")
              book.apply({ k: "dispatched", id, step: 0, attempt: 1, satelliteId: "s" });
            else if (seen.has(id)) book.apply(completed(id, 1));
          }
          for (const id of seen)
            expect(Number(book.unfinished.has(id)) + Number(book.finished.has(id))).toBe(1);
        },
      ),
    );
  });
});
