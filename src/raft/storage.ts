// Stable storage as the core reads it (etcd-raft's storage.go): the hard state, the latest snapshot and
// the entries after it. The core never writes here; the application persists what each Ready hands it
// (snapshot, entries, hard state) and only then calls `advance`. `MemoryStorage` is the in-memory
// implementation used by tests and the simulator; a disk implementation follows the same contract.

import { assert } from "./assert.ts";
import type { ConfigState, Entry, HardState, Snapshot } from "./types.ts";
import { EMPTY_CONFIG, entryBytes } from "./types.ts";

export interface Storage {
  /** The persisted hard state (term 0, no vote, commit 0 on a fresh node). */
  hardState(): HardState;
  /** The latest snapshot (index 0, term 0, empty config on a fresh node). */
  snapshot(): Snapshot;
  /** Index of the first entry kept: the snapshot's index + 1. */
  firstIndex(): number;
  /** Index of the last entry kept (the snapshot's index when no entry follows it). */
  lastIndex(): number;
  /** Term of the entry at `index`, for firstIndex() - 1 <= index <= lastIndex(). */
  term(index: number): number;
  /**
   * Entries in [low, high), firstIndex() <= low <= high <= lastIndex() + 1, up to `bytesMax` bytes
   * (at least one entry when low < high).
   */
  entries(low: number, high: number, bytesMax: number): Entry[];
}

export class StorageError extends Error {
  override name = "StorageError";
}

const EMPTY_DATA = new Uint8Array(0);

/**
 * Entries in an array whose slot 0 stands for the snapshot (index and term only), so term(firstIndex - 1)
 * is always known. Compaction is bounded by the snapshot: an entry is only dropped once a snapshot covers
 * it, so a follower that needs it can always be sent that snapshot instead (no node is ever stranded).
 */
/**
 * The read side every storage shares: the hard state, the snapshot and the entries kept after it,
 * in memory (the disk storage keeps them in memory too, as etcd does; log reduction bounds them).
 */
export abstract class StoredLog implements Storage {
  protected hard: HardState = { term: 0, vote: null, commit: 0 };
  protected snap: Snapshot = { index: 0, term: 0, config: EMPTY_CONFIG, data: EMPTY_DATA };
  // slots[0] is a placeholder at snap.index; slots[i] holds the entry at snap-relative offset i.
  protected slots: Entry[] = [{ index: 0, term: 0, kind: "noop" }];
  /** Index below which entries were dropped (slots[0].index). */
  protected get offset(): number {
    return this.slots[0].index;
  }

  hardState(): HardState {
    return this.hard;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.slots.length - 1;
  }

  term(index: number): number {
    if (index < this.offset)
      throw new StorageError(`entry ${index} was compacted (first kept: ${this.offset})`);
    if (index > this.lastIndex())
      throw new StorageError(`entry ${index} is past the last (${this.lastIndex()})`);
    return this.slots[index - this.offset].term;
  }

  entries(low: number, high: number, bytesMax: number): Entry[] {
    if (low <= this.offset)
      throw new StorageError(`entry ${low} was compacted (first kept: ${this.offset + 1})`);
    if (high > this.lastIndex() + 1 || low > high) {
      throw new StorageError(`entries [${low}, ${high}) are out of range (last: ${this.lastIndex()})`);
    }
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high; index += 1) {
      const entry = this.slots[index - this.offset];
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }
}

export class MemoryStorage extends StoredLog {
  /**
   * A new cluster's founding members all start from this state: a snapshot at index 1, term 1, holding
   * `config` and an empty state machine. A node joining later starts empty and receives it by
   * InstallSnapshot, so it learns the founding configuration like everything else.
   */
  static bootstrap(config: ConfigState, data: Uint8Array = EMPTY_DATA): MemoryStorage {
    assert(config.voters.length > 0, "a cluster needs at least one voter");
    const storage = new MemoryStorage();
    storage.applySnapshot({ index: 1, term: 1, config, data });
    storage.setHardState({ term: 1, vote: null, commit: 1 });
    return storage;
  }

  setHardState(hardState: HardState): void {
    this.hard = hardState;
  }

  /**
   * Writes entries (contiguous, increasing). An entry at an index already held replaces it and everything
   * after it (a new leader overwrote an uncommitted suffix). Entries the snapshot covers are skipped.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (let i = 1; i < entries.length; i += 1) {
      assert(entries[i].index === entries[i - 1].index + 1, "appended entries must be contiguous");
    }
    const first = entries[0].index;
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    const skip = Math.max(0, this.offset + 1 - first);
    if (skip >= entries.length) return;
    const start = first + skip;
    this.slots.length = start - this.offset;
    for (let i = skip; i < entries.length; i += 1) this.slots.push(entries[i]);
  }

  /** Replaces everything with `snapshot` (a follower catching up); an older snapshot is refused. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.index <= this.snap.index && this.snap.index > 0) {
      throw new StorageError(
        `snapshot ${snapshot.index} is not newer than the one held (${this.snap.index})`,
      );
    }
    this.snap = snapshot;
    this.slots = [{ index: snapshot.index, term: snapshot.term, kind: "noop" }];
  }

  /**
   * Records a snapshot of the application's state at `index` (which it has applied), with the membership
   * in force there (`Raft.configAt(index)`). The entries stay until `compact`.
   */
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Snapshot {
    if (index <= this.snap.index) {
      throw new StorageError(`snapshot at ${index} is not newer than the one held (${this.snap.index})`);
    }
    if (index > this.lastIndex()) throw new StorageError(`cannot snapshot at ${index}, past the last entry`);
    this.snap = { index, term: this.term(index), config, data };
    return this.snap;
  }

  /**
   * Drops the entries up to `index`, which must be covered by the snapshot (so whatever is dropped can
   * still be sent, as the snapshot).
   */
  compact(index: number): void {
    if (index <= this.offset) return;
    if (index > this.snap.index) {
      throw new StorageError(`cannot compact to ${index}: the snapshot only covers up to ${this.snap.index}`);
    }
    const kept = this.slots.slice(index - this.offset);
    kept[0] = { index, term: kept[0].term, kind: "noop" };
    this.slots = kept;
  }
}
