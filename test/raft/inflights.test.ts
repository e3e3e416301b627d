import { describe, expect, test } from "vitest";
import { Inflights } from "../../src/raft/inflights.ts";

describe("Inflights", () => {
  test("fills up by count, frees acknowledged messages in order, and wraps around", () => {
    const window = new Inflights(3, 0);
    window.add(5, 10);
    window.add(7, 10);
    window.add(9, 10);
    expect(window.isFull()).toBe(true);
    expect(() => window.add(11, 10)).toThrow(/full/);
    window.freeLE(7);
    expect(window.size()).toBe(1);
    expect(window.inflightBytes()).toBe(10);
    window.add(11, 1);
    window.add(12, 1);
    expect(window.isFull()).toBe(true);
    window.freeLE(6); // nothing at or below 6 remains
    expect(window.size()).toBe(3);
    window.freeLE(100);
    expect(window.size()).toBe(0);
    expect(window.inflightBytes()).toBe(0);
  });

  test("fills up by bytes when a byte bound is set", () => {
    const window = new Inflights(100, 1000);
    window.add(1, 600);
    expect(window.isFull()).toBe(false);
    window.add(2, 400);
    expect(window.isFull()).toBe(true);
    window.freeLE(1);
    expect(window.isFull()).toBe(false);
  });

  test("refuses indexes that go backwards", () => {
    const window = new Inflights(4, 0);
    window.add(5, 1);
    expect(() => window.add(5, 1)).toThrow(/increase/);
  });
});
