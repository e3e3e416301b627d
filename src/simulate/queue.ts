// The event queue: actions ordered by virtual time, and among equal times by the order they were
// scheduled (so a run is a pure function of the seed). A binary heap; sifts move a hole rather
// than swapping.

interface Entry {
  time: number;
  seq: number;
  action: () => void;
}

export class EventQueue {
  private readonly heap: Entry[] = [];
  private nextSeq = 0;
  /** The current virtual time (ms since the start of the run). */
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Runs `action` at `at` (never before now). */
  at(at: number, action: () => void): void {
    const entry: Entry = { time: at < this.now ? this.now : at, seq: this.nextSeq++, action };
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  /** Runs `action` `delay` ms from now. */
  after(delay: number, action: () => void): void {
    this.at(this.now + delay, action);
  }

  /** Time of the next action, or Infinity. */
  peek(): number {
    return this.heap.length === 0 ? Number.POSITIVE_INFINITY : this.heap[0].time;
  }

  /** Runs the next action (advancing the clock to its time); false when none is left. */
  runNext(): boolean {
    const heap = this.heap;
    if (heap.length === 0) return false;
    const top = heap[0];
    const last = heap.pop() as Entry;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(heap[right], heap[left]) ? right : left;
        if (!before(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    this.now = top.time;
    top.action();
    return true;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
