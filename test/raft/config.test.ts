import { describe, expect, test } from "vitest";
import type { Message } from "../../src/raft/index.ts";
import { checkMessage, RaftConfigError, validateRaftConfig } from "../../src/raft/index.ts";
import { append, normal, voteRequest } from "./helpers.ts";

describe("validateRaftConfig", () => {
  test("fills defaults", () => {
    const config = validateRaftConfig({ id: "a" });
    expect(config).toMatchObject({
      id: "a",
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
    });
  });

  test("rejects bad combinations in sentences", () => {
    expect(() => validateRaftConfig({ id: "" })).toThrow(RaftConfigError);
    expect(() => validateRaftConfig({ id: "a", electionTicks: 0 })).toThrow(
      /electionTicks must be a positive/,
    );
    expect(() => validateRaftConfig({ id: "a", heartbeatTicks: 10 })).toThrow(/smaller than electionTicks/);
    expect(() => validateRaftConfig({ id: "a", mode: "lazy" as never })).toThrow(/mode must be one of/);
    expect(() => validateRaftConfig({ id: "a", maxInflightBytes: -1 })).toThrow(/maxInflightBytes/);
  });
});

describe("checkMessage", () => {
  test("accepts well-formed messages", () => {
    expect(checkMessage(append("a", "b", 2, 1, 1, [normal(2, 2)], 1))).toBeNull();
    expect(checkMessage(voteRequest("a", "b", 3, 4, 2))).toBeNull();
  });

  test("names what is wrong", () => {
    const bad = (m: unknown) => checkMessage(m as Message);
    expect(bad(null)).toMatch(/not an object/);
    expect(bad({ type: "gossip", from: "a", to: "b", term: 1 })).toMatch(/unknown message type/);
    expect(bad({ ...voteRequest("a", "b", 3, 4, 2), term: -1 })).toMatch(/term/);
    expect(bad(append("a", "b", 2, 1, 1, [normal(3, 2)], 1))).toMatch(/expected/);
    expect(bad(append("a", "b", 2, 1, 1, [normal(2, 9)], 1))).toMatch(/bad term/);
    expect(bad({ ...append("a", "b", 2, 1, 1, [], 1), entries: "x" })).toMatch(/array/);
    expect(bad({ type: "snapshot", from: "a", to: "b", term: 1, snapshot: { index: 1, term: 1 } })).toMatch(
      /data/,
    );
  });
});
