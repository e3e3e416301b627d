// A binary min-heap of (deadline, id): one sweep timer serves every pending request, instead of a
// setTimeout per request. Entries are not removed when a request settles; the sweep skips them.
export class DeadlineHeap<Id = number> {
  private readonly times: number[] = [];
  private readonly ids: Id[] = [];

  get size(): number {
    return this.times.length;
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
    if (times.length > 0) {
      let index = 0;
      const length = times.length;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        const child = right < length && times[right] < times[left] ? right : left;
        if (times[child] >= lastTime) break;
        times[index] = times[child];
        ids[index] = ids[child];
        index = child;
      }
      times[index] = lastTime;
      ids[index] = lastId;
    }
    return top;
  }
}
