import { describe, expect, test } from "vitest";
import type { ConfigState, Entry } from "../../src/raft/index.ts";
import { applyChange, makeConfig } from "../../src/raft/index.ts";
import { ConfigHistory } from "../../src/raft/membership.ts";

const configEntry = (index: number, config: ConfigState): Entry => ({
  index,
  term: 1,
  kind: "config",
  change: { type: "add-learner", node: "x" },
  config,
});

describe("single-server changes", () => {
  const base = makeConfig(["a", "b", "c"], ["d"]);

  test("add a learner, promote it, demote a voter, remove", () => {
    expect(applyChange(base, { type: "add-learner", node: "e" })).toEqual({
      ok: true,
      config: makeConfig(["a", "b", "c"], ["d", "e"]),
    });
    expect(applyChange(base, { type: "add-voter", node: "d" })).toEqual({
      ok: true,
      config: makeConfig(["a", "b", "c", "d"], []),
    });
    expect(applyChange(base, { type: "add-learner", node: "a" })).toEqual({
      ok: true,
      config: makeConfig(["b", "c"], ["a", "d"]),
    });
    expect(applyChange(base, { type: "remove", node: "d" })).toEqual({
      ok: true,
      config: makeConfig(["a", "b", "c"], []),
    });
    expect(applyChange(base, { type: "remove", node: "b" })).toEqual({
      ok: true,
      config: makeConfig(["a", "c"], ["d"]),
    });
  });

  test("refusals: new servers join as learners; the last voter stays", () => {
    expect(applyChange(base, { type: "add-voter", node: "e" })).toEqual({
      ok: false,
      reason: "not-a-learner",
    });
    expect(applyChange(base, { type: "add-voter", node: "a" })).toEqual({
      ok: false,
      reason: "already-voter",
    });
    expect(applyChange(base, { type: "add-learner", node: "d" })).toEqual({
      ok: false,
      reason: "already-learner",
    });
    expect(applyChange(base, { type: "remove", node: "z" })).toEqual({ ok: false, reason: "unknown-node" });
    const alone = makeConfig(["a"], []);
    expect(applyChange(alone, { type: "remove", node: "a" })).toEqual({ ok: false, reason: "last-voter" });
    expect(applyChange(alone, { type: "add-learner", node: "a" })).toEqual({
      ok: false,
      reason: "last-voter",
    });
    expect(applyChange(alone, { type: "promote", node: "a" } as never)).toEqual({
      ok: false,
      reason: "malformed-change",
    });
    expect(applyChange(alone, { type: "remove", node: "" })).toEqual({
      ok: false,
      reason: "malformed-change",
    });
  });
});

describe("ConfigHistory", () => {
  test("the current configuration is the last in the log; truncation undoes uncommitted ones", () => {
    const first = makeConfig(["a", "b", "c"], []);
    const second = makeConfig(["a", "b", "c"], ["d"]);
    const third = makeConfig(["a", "b", "c", "d"], []);
    const history = new ConfigHistory({ index: 1, config: first });
    history.append([configEntry(5, second), configEntry(9, third)]);
    expect(history.current()).toEqual(third);
    expect(history.currentIndex()).toBe(9);
    expect(history.configAt(8)).toEqual(second);
    history.truncateFrom(7);
    expect(history.current()).toEqual(second);
    history.truncateFrom(2);
    expect(history.current()).toEqual(first);
    expect(() => history.truncateFrom(1)).toThrow();
  });

  test("forgetting keeps what a snapshot at or after the applied index needs", () => {
    const history = new ConfigHistory({ index: 1, config: makeConfig(["a"], []) });
    history.append([configEntry(5, makeConfig(["a"], ["b"])), configEntry(9, makeConfig(["a", "b"], []))]);
    history.forgetUpTo(7);
    expect(history.configAt(7)).toEqual(makeConfig(["a"], ["b"]));
    expect(() => history.configAt(4)).toThrow(/forgotten/);
  });
});
