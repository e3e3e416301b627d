// A FIFO whose entries can also leave from the middle in O(1) (a job cancelled or expired while it
// waits): a removed entry is marked gone and skipped when the head reaches it, and the taken prefix
// is dropped now and then (amortised O(1) an entry). The waiting room (memory) and the disk spill
// keep one per job type.

export interface FifoEntry {
  readonly jobId: string;
  /** Taken or removed: skipped when the head reaches it. */
  gone: boolean;
}

/** Past this many taken entries at the front (and half the array), they are dropped. */
const PREFIX_DROP_MIN = 1024;

export class LazyFifo<E extends FifoEntry> {
  private entries: E[] = [];
  private head = 0;
  /** Entries present (not gone). */
  live = 0;

  push(entry: E): void {
    this.entries.push(entry);
    this.live++;
  }

  /** Puts an entry back at the front (one just taken that could not go anywhere). */
  unshift(entry: E): void {
    if (this.head > 0) this.entries[--this.head] = entry;
    else this.entries.unshift(entry);
    this.live++;
  }

  /** The oldest entry present, without taking it. */
  peek(): E | undefined {
    while (this.head < this.entries.length && this.entries[this.head].gone) this.head++;
    return this.head < this.entries.length ? this.entries[this.head] : undefined;
  }

  /** The oldest of the first `scanMax` entries present that `accept` takes, if any. */
  first(scanMax: number, accept: (entry: E) => boolean): E | undefined {
    let scanned = 0;
    for (let i = this.head; i < this.entries.length && scanned < scanMax; i++) {
      const entry = this.entries[i];
      if (entry.gone) continue;
      scanned++;
      if (accept(entry)) return entry;
    }
    return undefined;
  }

  /** Marks an entry of this FIFO gone (taken or removed); false if it already was. */
  remove(entry: E): boolean {
    if (entry.gone) return false;
    entry.gone = true;
    this.live--;
    if (this.live === 0) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > PREFIX_DROP_MIN && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /** The entries present, oldest first. */
  *present(): Generator<E> {
    for (let i = this.head; i < this.entries.length; i++) if (!this.entries[i].gone) yield this.entries[i];
  }

  /** Replaces every entry (a rewrite such as the disk spill's compaction); all of them present. */
  replace(entries: E[]): void {
    this.entries = entries;
    this.head = 0;
    this.live = entries.length;
  }
}
