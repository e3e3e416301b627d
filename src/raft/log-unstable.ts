// The tail of the log not yet persisted: entries received or proposed since the last Ready, and possibly
// a snapshot received from the leader. The application persists them from a Ready; `advance` then marks
// them stable (etcd-raft's log_unstable.go).

import { assert } from "./assert.ts";
import type { Entry, Snapshot } from "./types.ts";

export class UnstableLog {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  /** Index of entries[0]; every index below it is in storage (or in the snapshot). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.index === index ? this.snapshot.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset].term;
  }

  /** Entries up to (index, term) are persisted. A term mismatch means they were replaced meanwhile: keep them. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const known = this.maybeTerm(index);
    if (known !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends entries, first dropping whatever they replace (from entries[0].index on). */
  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const after = entries[0].index;
    if (after === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (after <= this.offset) {
      // Replaces part of what is in storage too: the next Ready's entries start at `after`, and storage
      // drops its own suffix from there when it writes them.
      this.offset = after;
      this.entries = [...entries];
    } else {
      this.entries = this.entries.slice(0, after - this.offset);
      for (const entry of entries) this.entries.push(entry);
    }
  }

  /** Entries in [low, high), all within the unstable part. */
  slice(low: number, high: number): Entry[] {
    assert(
      low >= this.offset && high <= this.offset + this.entries.length && low <= high,
      "unstable slice out of range",
    );
    return this.entries.slice(low - this.offset, high - this.offset);
  }
}
