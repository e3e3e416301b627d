// What a leader knows of one member's log, and how it sends to it (etcd-raft's tracker/progress.go):
// - probe: one append at a time until the follower's match is found (after election or a rejection);
// - replicate: appends are pipelined, `next` moves optimistically, bounded by the inflight window;
// - snapshot: the follower needs a snapshot; nothing else is sent until it is installed (or retried).

import { assert } from "./assert.ts";
import { Inflights } from "./inflights.ts";
import type { Mode } from "./types.ts";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  /** Highest index known to be in the follower's log and to match the leader's. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = "probe";
  /** In the snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Ticks since the snapshot was sent (retried after snapshotRetryTicks). */
  snapshotTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Probe: an append is out, wait for its answer or a heartbeat. Replicate: the window is full. */
  paused = false;
  /** The member's candidacy policy, as it last reported it (unknown until it answers). */
  mode: Mode | undefined = undefined;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, inflightCapacity: number, inflightBytesMax: number) {
    assert(next >= 1, "next index starts at 1");
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(inflightCapacity, inflightBytesMax);
  }

  private resetState(state: ProgressState): void {
    this.paused = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it even if the follower has not confirmed it yet.
    const after = this.state === "snapshot" ? this.pendingSnapshot : 0;
    this.resetState("probe");
    this.next = Math.max(this.match + 1, after + 1);
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** An acknowledgement up to `index`; false when it tells nothing new (stale or duplicate). */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.paused = false;
    return true;
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`; `matchHint` is where the follower suggests
   * resuming. False when the rejection is stale (answers an append sent before a newer decision).
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.paused = false;
    return true;
  }

  /** Records an append of `entryCount` entries (`bytes` in all) that started at `next`. */
  sentEntries(entryCount: number, bytes: number): void {
    if (this.state === "replicate") {
      if (entryCount > 0) {
        this.next += entryCount;
        this.inflights.add(this.next - 1, bytes);
      }
      this.paused = this.inflights.isFull();
    } else {
      assert(this.state === "probe", "no appends are sent in the snapshot state");
      if (entryCount > 0) this.paused = true;
    }
  }

  isPaused(): boolean {
    return this.state === "snapshot" || this.paused;
  }
}
