import { describe, expect, test } from "vitest";
import { MemoryStorage, makeConfig, StorageError } from "../../src/raft/index.ts";
import { normal } from "./helpers.ts";

const config = makeConfig(["a", "b", "c"], []);

describe("MemoryStorage", () => {
  test("bootstrap: a snapshot at (1, 1) holding the founding configuration", () => {
    const storage = MemoryStorage.bootstrap(config);
    expect(storage.snapshot()).toMatchObject({ index: 1, term: 1, config });
    expect(storage.hardState()).toEqual({ term: 1, vote: null, commit: 1 });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(1)]).toEqual([2, 1, 1]);
  });

  test("append replaces a conflicting suffix, skips what the snapshot covers, refuses gaps", () => {
    const storage = MemoryStorage.bootstrap(config);
    storage.append([normal(2, 1), normal(3, 1), normal(4, 1)]);
    storage.append([normal(3, 2)]);
    expect(storage.lastIndex()).toBe(3);
    expect(storage.term(3)).toBe(2);
    storage.append([normal(1, 1), normal(2, 1)]); // index 1 is in the snapshot
    expect(storage.term(2)).toBe(1);
    expect(() => storage.append([normal(9, 2)])).toThrow(/gap/);
  });

  test("entries are bounded by bytes, at least one", () => {
    const storage = MemoryStorage.bootstrap(config);
    storage.append([normal(2, 1), normal(3, 1), normal(4, 1)]);
    expect(storage.entries(2, 5, 0)).toHaveLength(1);
    expect(storage.entries(2, 5, 1e9)).toHaveLength(3);
    expect(() => storage.entries(1, 3, 1e9)).toThrow(StorageError);
    expect(() => storage.entries(2, 6, 1e9)).toThrow(StorageError);
  });

  test("compaction never goes past the snapshot, so a dropped entry can always be sent as the snapshot", () => {
    const storage = MemoryStorage.bootstrap(config);
    storage.append([2, 3, 4, 5, 6].map((i) => normal(i, 1)));
    expect(() => storage.compact(4)).toThrow(/snapshot/);
    storage.createSnapshot(5, config, new Uint8Array([1]));
    storage.compact(3);
    expect(storage.firstIndex()).toBe(4);
    expect(storage.term(3)).toBe(1);
    expect(() => storage.term(2)).toThrow(StorageError);
    storage.compact(5);
    expect(storage.firstIndex()).toBe(6);
    expect(storage.entries(6, 7, 1e9)).toHaveLength(1);
  });

  test("snapshots only move forward", () => {
    const storage = MemoryStorage.bootstrap(config);
    storage.append([normal(2, 1), normal(3, 1)]);
    expect(() => storage.createSnapshot(1, config, new Uint8Array())).toThrow(StorageError);
    expect(() => storage.createSnapshot(4, config, new Uint8Array())).toThrow(StorageError);
    storage.applySnapshot({ index: 10, term: 3, config, data: new Uint8Array() });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([11, 10]);
    expect(() => storage.applySnapshot({ index: 10, term: 3, config, data: new Uint8Array() })).toThrow(
      StorageError,
    );
  });
});
