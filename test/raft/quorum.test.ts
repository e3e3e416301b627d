import { describe, expect, test } from "vitest";
import { committedIndex, quorumActive, quorumSize, voteResult } from "../../src/raft/quorum.ts";

describe("quorum", () => {
  test("majorities", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  test("the committed index is the highest index a majority holds", () => {
    const match: Record<string, number> = { a: 9, b: 5, c: 7, d: 2, e: 7 };
    expect(committedIndex(["a", "b", "c", "d", "e"], (id) => match[id])).toBe(7);
    expect(committedIndex(["a", "b", "c", "d"], (id) => match[id])).toBe(5);
    expect(committedIndex(["a"], (id) => match[id])).toBe(9);
    expect(() => committedIndex([], () => 0)).toThrow();
  });

  test("votes: won, lost or pending, counting only voters", () => {
    const voters = ["a", "b", "c"];
    expect(voteResult(voters, new Map([["a", true]]))).toBe("pending");
    expect(
      voteResult(
        voters,
        new Map([
          ["a", true],
          ["x", true],
        ]),
      ),
    ).toBe("pending");
    expect(
      voteResult(
        voters,
        new Map([
          ["a", true],
          ["c", true],
        ]),
      ),
    ).toBe("won");
    expect(
      voteResult(
        voters,
        new Map([
          ["a", true],
          ["b", false],
          ["c", false],
        ]),
      ),
    ).toBe("lost");
    expect(
      voteResult(
        ["a", "b", "c", "d"],
        new Map([
          ["a", true],
          ["b", false],
          ["c", true],
        ]),
      ),
    ).toBe("pending");
  });

  test("quorum active", () => {
    expect(quorumActive(["a", "b", "c"], (id) => id !== "c")).toBe(true);
    expect(quorumActive(["a", "b", "c"], (id) => id === "a")).toBe(false);
  });
});
