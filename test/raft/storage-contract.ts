// Behaviour every Raft storage shares (MemoryStorage, DiskStorage): run by storage.test.ts and
// disk-storage.test.ts against each. Writes are awaited, since the disk's snapshot writes are async.
import { expect, test } from "vitest";
import type { ConfigState, Entry, HardState, Snapshot, Storage } from "../../src/raft/index.ts";
import { makeConfig, StorageError } from "../../src/raft/index.ts";
import { normal } from "./helpers.ts";

export interface WritableStorage extends Storage {
  append(entries: readonly Entry[]): void;
  setHardState(hardState: HardState): void;
  applySnapshot(snapshot: Snapshot): void | Promise<void>;
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Snapshot | Promise<Snapshot>;
  compact(index: number): void | Promise<void>;
}

export const contractConfig = makeConfig(["a", "b", "c"], []);

/** The error `action` throws or rejects with. */
export async function failure(action: () => unknown): Promise<Error> {
  try {
    await action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

export function storageContract(bootstrap: (config: ConfigState) => Promise<WritableStorage>): void {
  const config = contractConfig;

  test("bootstrap: a snapshot at (1, 1) holding the founding configuration", async () => {
    const storage = await bootstrap(config);
    expect(storage.snapshot()).toMatchObject({ index: 1, term: 1, config });
    expect(storage.hardState()).toEqual({ term: 1, vote: null, commit: 1 });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(1)]).toEqual([2, 1, 1]);
  });

  test("append replaces a conflicting suffix, skips what the snapshot covers, refuses gaps", async () => {
    const storage = await bootstrap(config);
    storage.append([normal(2, 1), normal(3, 1), normal(4, 1)]);
    storage.append([normal(3, 2)]);
    expect(storage.lastIndex()).toBe(3);
    expect(storage.term(3)).toBe(2);
    storage.append([normal(1, 1), normal(2, 1)]); // index 1 is in the snapshot
    expect(storage.term(2)).toBe(1);
    expect(await failure(() => storage.append([normal(9, 2)]))).toMatchObject({ message: /gap/ });
  });

  test("entries are bounded by bytes, at least one", async () => {
    const storage = await bootstrap(config);
    storage.append([normal(2, 1), normal(3, 1), normal(4, 1)]);
    expect(storage.entries(2, 5, 0)).toHaveLength(1);
    expect(storage.entries(2, 5, 1e9)).toHaveLength(3);
    expect(() => storage.entries(1, 3, 1e9)).toThrow(StorageError);
    expect(() => storage.entries(2, 6, 1e9)).toThrow(StorageError);
  });

  test("compaction never goes past the snapshot, so a dropped entry can always be sent as the snapshot", async () => {
    const storage = await bootstrap(config);
    storage.append([2, 3, 4, 5, 6].map((i) => normal(i, 1)));
    expect(await failure(() => storage.compact(4))).toMatchObject({ message: /snapshot/ });
    await storage.createSnapshot(5, config, new Uint8Array([1]));
    await storage.compact(3);
    expect(storage.firstIndex()).toBe(4);
    expect(storage.term(3)).toBe(1);
    expect(() => storage.term(2)).toThrow(StorageError);
    await storage.compact(5);
    expect(storage.firstIndex()).toBe(6);
    expect(storage.entries(6, 7, 1e9)).toHaveLength(1);
  });

  test("snapshots only move forward", async () => {
    const storage = await bootstrap(config);
    storage.append([normal(2, 1), normal(3, 1)]);
    expect(await failure(() => storage.createSnapshot(1, config, new Uint8Array()))).toBeInstanceOf(
      StorageError,
    );
    expect(await failure(() => storage.createSnapshot(4, config, new Uint8Array()))).toBeInstanceOf(
      StorageError,
    );
    await storage.applySnapshot({ index: 10, term: 3, config, data: new Uint8Array() });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([11, 10]);
    expect(
      await failure(() => storage.applySnapshot({ index: 10, term: 3, config, data: new Uint8Array() })),
    ).toBeInstanceOf(StorageError);
  });

  test("the hard state reads back as set", async () => {
    const storage = await bootstrap(config);
    storage.setHardState({ term: 4, vote: "b", commit: 1 });
    expect(storage.hardState()).toEqual({ term: 4, vote: "b", commit: 1 });
  });
}
