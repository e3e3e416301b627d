// RecencyMap (src/util/recency-map.ts) against a reference model, a Map kept in recency order by
// delete + set: the same operations give the same contents, order, oldest entry and size; the
// slots it holds stay within 2 x size + 1024 however the map churns.
import { describe, expect, it } from "vitest";
import { RecencyMap, seededRandom } from "../../src/util/index.ts";

function check(map: RecencyMap<string, number>, model: Map<string, number>): void {
  expect(map.size).toBe(model.size);
  expect(map.keys()).toEqual([...model.keys()]);
  expect(map.values()).toEqual([...model.values()]);
  expect([...map]).toEqual([...model.entries()]);
  const oldest = model.keys().next();
  expect(map.oldestKey()).toBe(oldest.done ? undefined : oldest.value);
  expect(map.slots).toBeLessThanOrEqual(2 * map.size + 1024);
}

describe("RecencyMap", () => {
  it("keeps recency order through set, set again, delete and deleteOldest", () => {
    const map = new RecencyMap<string, number>([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    map.set("a", 4); // moved to the newest
    expect(map.keys()).toEqual(["b", "c", "a"]);
    expect(map.get("a")).toBe(4);
    expect(map.delete("b")).toBe(true);
    expect(map.delete("b")).toBe(false);
    expect(map.oldestKey()).toBe("c");
    expect(map.oldestValue()).toBe(3);
    expect(map.deleteOldest()).toBe(true);
    expect(map.has("c")).toBe(false);
    expect(map.entries()).toEqual([["a", 4]]);
    expect(map.deleteOldest()).toBe(true);
    expect(map.deleteOldest()).toBe(false);
    expect(map.oldestKey()).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it("matches a Map kept in recency order over 200,000 random operations", () => {
    const random = seededRandom(7);
    const map = new RecencyMap<string, number>();
    const model = new Map<string, number>();
    for (let step = 0; step < 200_000; step++) {
      const roll = random();
      // Keys from a range that moves, so entries are set again, deleted and left behind.
      const key = `k${Math.floor(step / 4 + random() * 3000)}`;
      if (roll < 0.5) {
        map.set(key, step);
        model.delete(key);
        model.set(key, step);
      } else if (roll < 0.7) {
        expect(map.delete(key)).toBe(model.delete(key));
      } else if (roll < 0.9) {
        const oldest = model.keys().next();
        expect(map.deleteOldest()).toBe(!oldest.done);
        if (!oldest.done) model.delete(oldest.value);
      } else {
        expect(map.get(key)).toBe(model.get(key));
      }
      if (step % 10_000 === 0) check(map, model);
    }
    check(map, model);
  });

  it("as a bounded book (one in, the oldest out), holds at most 2 x size + 1024 slots", () => {
    const map = new RecencyMap<string, number>();
    for (let i = 0; i < 300_000; i++) {
      map.set(`job-${i}`, i);
      if (map.size > 10_000) map.deleteOldest();
      if (i % 997 === 0) expect(map.slots).toBeLessThanOrEqual(2 * map.size + 1024);
    }
    expect(map.size).toBe(10_000);
    expect(map.oldestKey()).toBe("job-290000");
    expect(map.get("job-299999")).toBe(299_999);
  });
});
