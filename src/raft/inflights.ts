// The pipelining window of one follower: append messages sent but not yet acknowledged, as a ring
// bounded by count and by bytes (etcd-raft's tracker/inflights.go). Check `isFull()` before `add()`.

import { assert } from "./assert.ts";

export class Inflights {
  private readonly lastIndexes: number[];
  private readonly sizes: number[];
  private start = 0;
  private count = 0;
  private bytes = 0;

  /** `capacity` messages at most; `bytesMax` bytes at most (0: no byte bound). */
  constructor(
    readonly capacity: number,
    readonly bytesMax: number,
  ) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, "inflight capacity must be a positive integer");
    this.lastIndexes = new Array<number>(capacity).fill(0);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  /** Records a message whose last entry is `lastIndex`. */
  add(lastIndex: number, bytes: number): void {
    assert(!this.isFull(), "cannot add to a full inflight window");
    assert(
      this.count === 0 || lastIndex > this.lastIndexes[(this.start + this.count - 1) % this.capacity],
      "inflight indexes must increase",
    );
    const slot = (this.start + this.count) % this.capacity;
    this.lastIndexes[slot] = lastIndex;
    this.sizes[slot] = bytes;
    this.count += 1;
    this.bytes += bytes;
  }

  /** Frees every message whose last entry is at or below `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start] <= index) {
      this.bytes -= this.sizes[this.start];
      this.start = (this.start + 1) % this.capacity;
      this.count -= 1;
    }
    if (this.count === 0) this.start = 0;
  }

  isFull(): boolean {
    return this.count === this.capacity || (this.bytesMax > 0 && this.bytes >= this.bytesMax);
  }

  size(): number {
    return this.count;
  }

  inflightBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
