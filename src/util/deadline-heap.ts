// A binary min-heap of (deadline, id): one sweep timer serves every pending request, instead of a
// setTimeout per request. Entries are not removed when a request settles; the sweep skips them,
// and prune() drops them once they outnumber the live ones (else a client answered in a
// millisecond with a 60 s timeout would hold 60 s of requests' entries: 4 million at 70k/s).

/** prune() leaves the heap alone below this many entries beyond twice the live ones. */
const STALE_ENTRIES_MIN = 1024;

export class DeadlineHeap<Id = number> {
  private times: number[] = [];
  private ids: Id[] = [];

  get size(): number {
    return this.times.length;
  }

  /**
   * With more than 2 x `live` + STALE_ENTRIES_MIN entries, keeps only those `isLive` accepts and
   * rebuilds the heap (O(n), so amortised O(1) a push when called after each push).
   */
  prune(live: number, isLive: (id: Id) => boolean): void {
    if (this.times.length <= 2 * live + STALE_ENTRIES_MIN) return;
    const times: number[] = [];
    const ids: Id[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      if (!isLive(this.ids[i])) continue;
      times.push(this.times[i]);
      ids.push(this.ids[i]);
    }
    this.times = times;
    this.ids = ids;
    // Floyd's heap construction: sift down every parent, last first.
    for (let i = (times.length >> 1) - 1; i >= 0; i--) this.siftDown(i, times[i], ids[i]);
  }

  push(time: number, id: Id): void {
    const times = this.times;
    const ids = this.ids;
    let index = times.length;
    times.push(time);
    ids.push(id);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (times[parent] <= time) break;
      times[index] = times[parent];
      ids[index] = ids[parent];
      index = parent;
    }
    times[index] = time;
    ids[index] = id;
  }

  /** Removes and returns the id with the earliest deadline if it is <= now. */
  popDue(now: number): Id | undefined {
    const times = this.times;
    if (times.length === 0 || times[0] > now) return undefined;
    const ids = this.ids;
    const top = ids[0];
    const lastTime = times.pop() as number;
    const lastId = ids.pop() as Id;
    if (times.length > 0) this.siftDown(0, lastTime, lastId);
    return top;
  }

  /** Places (time, id) at `index` or below it, moving smaller children up. */
  private siftDown(start: number, time: number, id: Id): void {
    const times = this.times;
    const ids = this.ids;
    const length = times.length;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && times[right] < times[left] ? right : left;
      if (times[child] >= time) break;
      times[index] = times[child];
      ids[index] = ids[child];
      index = child;
    }
    times[index] = time;
    ids[index] = id;
  }
}
