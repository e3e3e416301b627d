// DeadlineHeap (src/util/deadline-heap.ts): due ids come out in deadline order, and prune() drops
// the entries of requests that settled once they outnumber the live ones, keeping the order of
// the rest: the heap of a client answered at once stays the size of its window, not of its timeout.
import { describe, expect, it } from "vitest";
import { DeadlineHeap, seededRandom } from "../../src/util/index.ts";

function drain(heap: DeadlineHeap, now = Number.POSITIVE_INFINITY): number[] {
  const out: number[] = [];
  for (let id = heap.popDue(now); id !== undefined; id = heap.popDue(now)) out.push(id);
  return out;
}

describe("DeadlineHeap", () => {
  it("pops what is due, earliest first, and nothing before its time", () => {
    const heap = new DeadlineHeap();
    const random = seededRandom(3);
    const deadlines = new Map<number, number>();
    for (let id = 0; id < 5000; id++) {
      const at = Math.floor(random() * 10_000);
      deadlines.set(id, at);
      heap.push(at, id);
    }
    const early = drain(heap, 2000);
    expect(early.every((id) => (deadlines.get(id) as number) <= 2000)).toBe(true);
    const rest = drain(heap);
    const times = [...early, ...rest].map((id) => deadlines.get(id) as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times).toHaveLength(5000);
  });

  it("prune keeps the heap within 2 x live + 1024 entries, and the live ones in order", () => {
    const heap = new DeadlineHeap();
    const live = new Set<number>();
    const random = seededRandom(11);
    // A window of 1,024 requests answered long before their 60 s deadline, 200,000 of them.
    let maxSize = 0;
    for (let id = 0; id < 200_000; id++) {
      heap.push(60_000 + id + Math.floor(random() * 100), id);
      live.add(id);
      if (live.size > 1024) live.delete(id - 1024);
      heap.prune(live.size, (each) => live.has(each));
      maxSize = Math.max(maxSize, heap.size);
    }
    expect(maxSize).toBeLessThanOrEqual(2 * 1024 + 1024 + 1);
    const rest = drain(heap).filter((id) => live.has(id));
    expect(rest.sort((a, b) => a - b)).toEqual([...live].sort((a, b) => a - b));
  });

  it("prune keeps every entry that is still live, with its deadline order", () => {
    const heap = new DeadlineHeap();
    const random = seededRandom(5);
    const at = new Map<number, number>();
    for (let id = 0; id < 10_000; id++) {
      const time = Math.floor(random() * 1e6);
      at.set(id, time);
      heap.push(time, id);
    }
    const isLive = (id: number) => id % 7 === 0;
    heap.prune(0, isLive);
    expect(heap.size).toBe(Math.ceil(10_000 / 7));
    const order = drain(heap);
    expect(order.every(isLive)).toBe(true);
    const times = order.map((id) => at.get(id) as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
