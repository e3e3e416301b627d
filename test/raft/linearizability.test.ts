// The linearizability checker's self-test: classic histories that must pass and ones that must fail,
// random histories generated from a sequential model with artificially concurrent windows (must pass),
// the same corrupted (must fail), and its speed on 1,000-operation histories.

import { describe, expect, test } from "vitest";
import type { Random } from "../../src/raft/index.ts";
import { randomInt, seededRandom } from "../../src/raft/index.ts";
import type { KvOperation } from "./linearizability.ts";
import { checkKvHistory } from "./linearizability.ts";

const put = (client: string, key: string, value: string, call: number, ret?: number): KvOperation => ({
  client,
  input: { kind: "put", key, value },
  call,
  ret,
});
const append = (client: string, key: string, value: string, call: number, ret?: number): KvOperation => ({
  client,
  input: { kind: "append", key, value },
  call,
  ret,
});
const get = (
  client: string,
  key: string,
  output: string | null,
  call: number,
  ret?: number,
): KvOperation => ({
  client,
  input: { kind: "get", key },
  call,
  ret,
  output,
});

const passes = (history: KvOperation[]) => expect(checkKvHistory(history).ok).toBe(true);
const fails = (history: KvOperation[]) => expect(checkKvHistory(history).ok).toBe(false);

describe("classic histories", () => {
  test("sequential: a read after a write sees it; a stale read fails", () => {
    passes([put("a", "x", "1", 0, 1), get("b", "x", "1", 2, 3)]);
    fails([put("a", "x", "1", 0, 1), get("b", "x", null, 2, 3)]);
    passes([get("b", "x", null, 0, 1)]);
    fails([get("b", "x", "1", 0, 1)]);
  });

  test("a read concurrent with a write may see either value", () => {
    passes([put("a", "x", "1", 0, 10), get("b", "x", null, 1, 2)]);
    passes([put("a", "x", "1", 0, 10), get("b", "x", "1", 1, 2)]);
    // Touching intervals are concurrent.
    passes([put("a", "x", "1", 0, 5), get("b", "x", null, 5, 6)]);
  });

  test("new-then-old inversion: two reads in sequence during one write", () => {
    fails([put("a", "x", "1", 0, 10), get("b", "x", "1", 1, 2), get("c", "x", null, 3, 4)]);
    passes([put("a", "x", "1", 0, 10), get("b", "x", null, 1, 2), get("c", "x", "1", 3, 4)]);
  });

  test("the value of the last write wins, whatever the concurrent writes", () => {
    passes([put("a", "x", "1", 0, 5), put("b", "x", "2", 1, 4), get("c", "x", "1", 6, 7)]);
    passes([put("a", "x", "1", 0, 5), put("b", "x", "2", 1, 4), get("c", "x", "2", 6, 7)]);
    fails([put("a", "x", "1", 0, 1), put("b", "x", "2", 2, 3), get("c", "x", "1", 4, 5)]);
  });

  test("a pending write may take effect late, or never, but not before its call", () => {
    const pending = put("a", "x", "1", 0);
    passes([pending, get("b", "x", null, 1, 2)]);
    passes([pending, get("b", "x", "1", 1, 2)]);
    passes([pending, get("b", "x", null, 1, 2), get("c", "x", "1", 100, 101)]);
    fails([pending, get("b", "x", "1", 1, 2), get("c", "x", null, 3, 4)]);
    fails([get("b", "x", "1", 0, 1), put("a", "x", "1", 2)]);
    // Observed through a later append: it took effect (found by the simulator's histories, seed 12).
    passes([put("a", "x", "1.", 0), append("b", "x", "2.", 10, 11), get("c", "x", "1.2.", 12, 13)]);
    // A pending read constrains nothing.
    passes([put("a", "x", "1", 0, 1), { client: "b", input: { kind: "get", key: "x" }, call: 2 }]);
  });

  test("appends: concurrent ones in either order, never lost or doubled", () => {
    passes([append("a", "x", "a", 0, 5), append("b", "x", "b", 1, 6), get("c", "x", "ab", 7, 8)]);
    passes([append("a", "x", "a", 0, 5), append("b", "x", "b", 1, 6), get("c", "x", "ba", 7, 8)]);
    fails([append("a", "x", "a", 0, 5), append("b", "x", "b", 1, 6), get("c", "x", "a", 7, 8)]);
    fails([append("a", "x", "a", 0, 5), get("c", "x", "aa", 7, 8)]);
    fails([append("a", "x", "a", 0, 1), append("b", "x", "b", 2, 3), get("c", "x", "ba", 7, 8)]);
  });

  test("keys are independent (checked one by one), and a failure names its key", () => {
    passes([
      put("a", "x", "1", 0, 10),
      put("a", "y", "2", 0, 10),
      get("b", "y", "2", 1, 2),
      get("b", "x", null, 3, 4),
    ]);
    const result = checkKvHistory([
      put("a", "x", "1", 0, 1),
      put("a", "y", "1", 0, 1),
      get("b", "y", null, 2, 3),
    ]);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.report).toContain('key "y"');
  });
});

interface Generated {
  history: KvOperation[];
  /** Indices of completed gets, and of puts, for corruption. */
  gets: number[];
}

/**
 * Operations applied one by one to a sequential model at increasing linearization points; each gets a
 * call before and a return after its point (windows up to `window`), so many overlap. Some lose their
 * response (pending): those took effect, or (half of them) never did.
 */
function generate(
  random: Random,
  count: number,
  keys: number,
  window: number,
  kinds: "put" | "append" | "mixed",
  pendingRate = 0.05,
): Generated {
  const state = new Map<string, string>();
  const history: KvOperation[] = [];
  const gets: number[] = [];
  let point = 0;
  for (let i = 0; i < count; i += 1) {
    point += randomInt(random, 1, 4);
    const key = `k${randomInt(random, 0, keys)}`;
    const call = point - randomInt(random, 0, window);
    const pending = random() < pendingRate;
    const ret = pending ? undefined : point + randomInt(random, 0, window);
    const client = `c${i % 16}`;
    if (random() < 0.5) {
      gets.push(history.length);
      history.push({ client, input: { kind: "get", key }, call, ret, output: state.get(key) ?? null });
      continue;
    }
    const value = `${i},`;
    const kind = kinds === "mixed" ? (random() < 0.5 ? "put" : "append") : kinds;
    if (!pending || random() < 0.5) state.set(key, kind === "put" ? value : (state.get(key) ?? "") + value);
    history.push({ client, input: { kind, key, value }, call, ret });
  }
  return { history, gets };
}

describe("random histories from a sequential model", () => {
  test("pass as generated; fail when a read is corrupted", () => {
    let failed = 0;
    for (let seed = 1; seed <= 200; seed += 1) {
      const random = seededRandom(seed);
      const kinds = (["put", "append", "mixed"] as const)[seed % 3];
      const { history, gets } = generate(random, 60, 1 + (seed % 4), 1 + (seed % 8), kinds);
      const result = checkKvHistory(history);
      expect(result.ok, `seed ${seed}`).toBe(true);
      const completed = gets.filter((i) => history[i].ret !== undefined);
      if (completed.length === 0) continue;
      const victim = completed[randomInt(random, 0, completed.length)];
      const corrupt = (output: string | null) =>
        history.map((op, i) => (i === victim ? { ...op, output } : op));
      // A value never written.
      expect(checkKvHistory(corrupt("never")).ok, `seed ${seed}`).toBe(false);
      // A value written only by an operation invoked after the read returned (a read from the future).
      const read = history[victim];
      const future = history.find(
        (op) =>
          op.input.kind === "put" &&
          op.input.key === read.input.key &&
          op.call > (read.ret ?? Number.POSITIVE_INFINITY),
      );
      if (future !== undefined && future.input.kind === "put") {
        expect(checkKvHistory(corrupt(future.input.value)).ok, `seed ${seed}`).toBe(false);
        failed += 1;
      }
    }
    expect(failed).toBeGreaterThan(20);
  });

  test("speed on 1,000-operation histories", () => {
    // Concurrency is about `window` operations at a time. A failing history costs an exhaustive search of
    // what precedes the bad read, so the corrupted read is one in the middle.
    const cases = [
      { name: "8 keys, 10 concurrent", keys: 8, window: 10, kinds: "put" as const },
      { name: "1 key, 6 concurrent", keys: 1, window: 6, kinds: "put" as const },
      { name: "1 key, appends, 6 concurrent", keys: 1, window: 6, kinds: "append" as const },
    ];
    const lines: string[] = [];
    for (const c of cases) {
      const { history, gets } = generate(seededRandom(7), 1_000, c.keys, c.window, c.kinds);
      const started = performance.now();
      const result = checkKvHistory(history);
      const passMs = performance.now() - started;
      expect(result.ok).toBe(true);
      const completed = gets.filter((i) => history[i].ret !== undefined);
      const victim = completed[Math.floor(completed.length / 2)];
      const corrupted = history.map((op, i) => (i === victim ? { ...op, output: "never" } : op));
      const failStarted = performance.now();
      const failed = checkKvHistory(corrupted);
      const failMs = performance.now() - failStarted;
      expect(failed.ok).toBe(false);
      lines.push(
        `${c.name}: pass ${passMs.toFixed(0)} ms (${result.steps} steps), fail ${failMs.toFixed(0)} ms (${failed.steps} steps)`,
      );
      expect(passMs + failMs).toBeLessThan(10_000);
    }
    console.log(`linearizability checker, 1,000 operations:\n  ${lines.join("\n  ")}`);
  });

  test("the search is bounded: a step budget answers unknown", () => {
    const { history } = generate(seededRandom(3), 400, 1, 200, "put");
    expect(checkKvHistory(history, { stepsMax: 50 }).ok).toBe("unknown");
  });
});
