// The log as the core sees it: what storage holds, followed by the unstable tail, plus the commit and
// apply positions (etcd-raft's log.go). Terms, the consistency check of appends, conflict search and
// the (last term, last index) comparison that decides votes all live here.

import { assert } from "./assert.ts";
import { UnstableLog } from "./log-unstable.ts";
import type { Storage } from "./storage.ts";
import type { Entry, Snapshot } from "./types.ts";
import { entryBytes } from "./types.ts";

export interface AppendResult {
  /** Index of the last entry of the append (prevIndex + entries.length): known to match the leader. */
  lastNewIndex: number;
  /** The entries actually written (from the first conflicting or missing one on). */
  appended: readonly Entry[];
}

/** Keeps a prefix of `entries` within `bytesMax` bytes, but always the first entry. */
export function limitBytes(entries: Entry[], bytesMax: number): Entry[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i += 1) {
    bytes += entryBytes(entries[i]);
    if (i > 0 && bytes > bytesMax) return entries.slice(0, i);
  }
  return entries;
}

export class RaftLog {
  readonly unstable: UnstableLog;
  /** Highest index known to be committed. */
  committed: number;
  /** Highest index the application has applied (acknowledged by `advance`). */
  applied: number;
  /** Highest index handed out for applying in a Ready (applied <= applying <= committed). */
  applying: number;

  constructor(
    readonly storage: Storage,
    applied: number | undefined,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    // A snapshot only covers committed entries, even if the commit index written with it was lost.
    const snapshotIndex = storage.snapshot().index;
    const commit = Math.max(storage.hardState().commit, snapshotIndex, first - 1);
    assert(commit <= last, `stored commit index ${commit} is past the last stored entry ${last}`);
    this.committed = commit;
    const start = applied ?? snapshotIndex;
    assert(
      start >= first - 1 && start <= commit,
      `applied index ${start} must lie between the first stored entry (${first - 1}) and the commit index (${commit})`,
    );
    this.applied = start;
    this.applying = start;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of the entry at `index`; undefined when compacted away or past the end. */
  term(index: number): number | undefined {
    const unstable = this.unstable.maybeTerm(index);
    if (unstable !== undefined) return unstable;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, "the last entry's term is always known");
    return term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a log ending at (lastTerm, lastIndex) is at least as up to date as this one. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry that is missing here or has another term; 0 when all are present. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term`: no entry of the leader's log with a
   * higher term can match there, so probing resumes from it (one probe per term, not per entry).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let at = index; at > 0; at -= 1) {
      const ours = this.term(at);
      if (ours === undefined) return { index: at, term: 0 };
      if (ours <= term) return { index: at, term: ours };
    }
    return { index: 0, term: 0 };
  }

  /**
   * The follower's side of AppendEntries: if the log holds (prevIndex, prevTerm), write the entries
   * (dropping a conflicting suffix) and commit up to min(commit, last new index). Undefined when the
   * consistency check fails.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    commit: number,
    entries: readonly Entry[],
  ): AppendResult | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    let appended: readonly Entry[] = [];
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        `entry ${conflict} conflicts with committed entry (commit ${this.committed})`,
      );
      appended = entries.slice(conflict - (prevIndex + 1));
      this.append(appended);
    }
    // Only up to what this append proved to match: entries past it may still be from an older leader.
    this.commitTo(Math.min(commit, lastNewIndex));
    return { lastNewIndex, appended };
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    assert(entries[0].index > this.committed, `cannot overwrite committed entry ${entries[0].index}`);
    assert(entries[0].index <= this.lastIndex() + 1, "appended entries must follow the log");
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Entries in [low, high) within `bytesMax` (at least one); low must not be compacted. */
  slice(low: number, high: number, bytesMax: number): Entry[] {
    assert(low >= this.firstIndex(), `entry ${low} was compacted`);
    assert(low <= high && high <= this.lastIndex() + 1, `slice [${low}, ${high}) is out of range`);
    if (low === high) return [];
    const offset = this.unstable.offset;
    if (low >= offset) return limitBytes(this.unstable.slice(low, high), bytesMax);
    const cut = Math.min(high, offset);
    const stored = this.storage.entries(low, cut, bytesMax);
    if (high <= offset || stored.length < cut - low) return stored;
    let bytes = 0;
    for (const entry of stored) bytes += entryBytes(entry);
    const result = stored.slice();
    for (const entry of this.unstable.slice(offset, high)) {
      bytes += entryBytes(entry);
      if (bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /** Entries from `low` to the end, within `bytesMax`. */
  entriesFrom(low: number, bytesMax: number): Entry[] {
    if (low > this.lastIndex()) return [];
    return this.slice(low, this.lastIndex() + 1, bytesMax);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} is past the last entry ${this.lastIndex()}`);
    this.committed = index;
  }

  /** The application applied everything up to `index`. */
  appliedTo(index: number): void {
    assert(index <= this.committed && index >= this.applied, `applied ${index} is out of range`);
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  /** Committed entries not yet handed out; none while a received snapshot waits to be installed. */
  nextCommittedEntries(bytesMax: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applying + 1, this.committed + 1, bytesMax);
  }

  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === undefined && this.applying < this.committed;
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** The last index known to be persisted (what a leader counts for itself). */
  lastStableIndex(): number {
    return this.unstable.offset - 1;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapshotTo(index: number): void {
    this.unstable.stableSnapshotTo(index);
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    assert(snapshot.index > this.committed, "only a snapshot past the commit index replaces the log");
    this.committed = snapshot.index;
    this.unstable.restore(snapshot);
  }

  /** Once a snapshot is installed, the application's state is the snapshot's. */
  snapshotApplied(index: number): void {
    this.applied = Math.max(this.applied, index);
    this.applying = Math.max(this.applying, index);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }
}
