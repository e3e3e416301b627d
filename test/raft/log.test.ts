import { describe, expect, test } from "vitest";
import type { Entry } from "../../src/raft/index.ts";
import { MemoryStorage, makeConfig } from "../../src/raft/index.ts";
import { limitBytes, RaftLog } from "../../src/raft/log.ts";
import { UnstableLog } from "../../src/raft/log-unstable.ts";
import { normal } from "./helpers.ts";

/** A log whose storage holds entries 2.. with the given terms (index 1 is the bootstrap snapshot). */
function logWith(terms: number[], committed = 1): RaftLog {
  const storage = MemoryStorage.bootstrap(makeConfig(["a"], []));
  storage.append(terms.map((term, i) => normal(i + 2, term)));
  storage.setHardState({ term: Math.max(1, ...terms), vote: null, commit: committed });
  return new RaftLog(storage, undefined);
}

const terms = (entries: Entry[]) => entries.map((e) => e.term);

describe("UnstableLog", () => {
  test("appends, truncates a conflicting suffix, and forgets what became stable", () => {
    const unstable = new UnstableLog(5);
    unstable.truncateAndAppend([normal(5, 1), normal(6, 1), normal(7, 1)]);
    unstable.truncateAndAppend([normal(6, 2)]);
    expect(unstable.entries.map((e) => [e.index, e.term])).toEqual([
      [5, 1],
      [6, 2],
    ]);
    unstable.stableTo(6, 1); // the term no longer matches: entry 6 was replaced meanwhile
    expect(unstable.offset).toBe(5);
    unstable.stableTo(5, 1);
    expect(unstable.offset).toBe(6);
    expect(unstable.maybeTerm(6)).toBe(2);
    expect(unstable.maybeTerm(5)).toBeUndefined();
  });

  test("an append before the offset replaces part of what storage holds", () => {
    const unstable = new UnstableLog(8);
    unstable.truncateAndAppend([normal(6, 3)]);
    expect(unstable.offset).toBe(6);
    expect(unstable.maybeLastIndex()).toBe(6);
  });

  test("a snapshot restores the offset and answers for its own index", () => {
    const unstable = new UnstableLog(3);
    unstable.restore({ index: 20, term: 4, config: makeConfig(["a"], []), data: new Uint8Array() });
    expect(unstable.maybeFirstIndex()).toBe(21);
    expect(unstable.maybeLastIndex()).toBe(20);
    expect(unstable.maybeTerm(20)).toBe(4);
    expect(unstable.maybeTerm(19)).toBeUndefined();
  });
});

describe("RaftLog", () => {
  test("terms: known from the snapshot's index to the last entry, unknown outside", () => {
    const log = logWith([1, 2, 2]);
    expect(log.firstIndex()).toBe(2);
    expect(log.lastIndex()).toBe(4);
    expect(log.term(1)).toBe(1);
    expect(log.term(4)).toBe(2);
    expect(log.term(0)).toBeUndefined();
    expect(log.term(5)).toBeUndefined();
  });

  test("§5.4.1 up to date: by last term first, then by last index", () => {
    const log = logWith([1, 2, 2]); // last (term 2, index 4)
    expect(log.isUpToDate(4, 2)).toBe(true);
    expect(log.isUpToDate(3, 3)).toBe(true); // shorter but newer term
    expect(log.isUpToDate(3, 2)).toBe(false);
    expect(log.isUpToDate(9, 1)).toBe(false); // longer but older term: pyraftlog 2.x said yes
  });

  test("maybeAppend: consistency check, conflict truncation, commit bounded by the append", () => {
    const log = logWith([1, 1, 1, 1]); // 2..5 at term 1
    expect(log.maybeAppend(5, 2, 5, [])).toBeUndefined(); // prev term mismatch
    expect(log.maybeAppend(7, 1, 5, [])).toBeUndefined(); // prev beyond the log
    const result = log.maybeAppend(3, 1, 100, [normal(4, 1), normal(5, 2), normal(6, 2)]);
    expect(result?.lastNewIndex).toBe(6);
    expect(result?.appended.map((e) => e.index)).toEqual([5, 6]);
    expect(terms(log.entriesFrom(2, 1e9))).toEqual([1, 1, 1, 2, 2]);
    expect(log.committed).toBe(6);
    // An append of a prefix commits no further than that prefix, even if the leader's commit is higher.
    const short = logWith([1, 1, 1, 1]);
    short.maybeAppend(2, 1, 100, [normal(3, 1)]);
    expect(short.committed).toBe(3);
  });

  test("a duplicate or reordered append changes nothing", () => {
    const log = logWith([1, 1, 1]);
    const before = log.lastIndex();
    const result = log.maybeAppend(1, 1, 1, [normal(2, 1)]);
    expect(result?.appended).toEqual([]);
    expect(log.lastIndex()).toBe(before);
  });

  test("conflicting with a committed entry is a broken invariant", () => {
    const log = logWith([1, 1, 1], 4);
    expect(() => log.maybeAppend(2, 1, 4, [normal(3, 5)])).toThrow(/committed/);
  });

  test("findConflictByTerm skips whole terms", () => {
    const log = logWith([1, 3, 3, 3, 5, 5]); // indexes 2..7
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 5, term: 3 });
    expect(log.findConflictByTerm(7, 2)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(3, 9)).toEqual({ index: 3, term: 3 });
  });

  test("slices are bounded by bytes but hold at least one entry, across storage and the unstable tail", () => {
    const log = logWith([1, 1]);
    log.append([normal(4, 1), normal(5, 1)]);
    const all = log.entriesFrom(2, 1e9);
    expect(all.map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(log.entriesFrom(2, 1).map((e) => e.index)).toEqual([2]);
    expect(log.entriesFrom(3, 2 * 27).map((e) => e.index)).toEqual([3, 4]);
    expect(limitBytes(all, 0)).toHaveLength(1);
  });

  test("committed entries are handed out once, and not while a snapshot waits", () => {
    const log = logWith([1, 1, 1], 3);
    expect(log.nextCommittedEntries(1e9).map((e) => e.index)).toEqual([2, 3]);
    log.applying = 3;
    expect(log.hasNextCommittedEntries()).toBe(false);
    log.restore({ index: 9, term: 2, config: makeConfig(["a"], []), data: new Uint8Array() });
    expect(log.committed).toBe(9);
    expect(log.hasNextCommittedEntries()).toBe(false);
    expect(log.lastIndex()).toBe(9);
    expect(log.firstIndex()).toBe(10);
  });

  test("applied starts at the snapshot, and must lie between the stored entries and the commit", () => {
    const storage = MemoryStorage.bootstrap(makeConfig(["a"], []));
    storage.append([normal(2, 1), normal(3, 1)]);
    storage.setHardState({ term: 1, vote: null, commit: 3 });
    expect(new RaftLog(storage, undefined).applied).toBe(1);
    expect(new RaftLog(storage, 3).applied).toBe(3);
    expect(() => new RaftLog(storage, 4)).toThrow(/applied/);
  });
});
