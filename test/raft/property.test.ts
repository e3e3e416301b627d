// The randomized property test: many seeds of chaos (chaos.ts), each with the invariants checked on
// every step and a liveness phase that heals everything and requires progress. CI runs a fixed set;
// `SIM_SEEDS=N` runs N seeds, `SIM_MS=M` gives each M ms of virtual chaos. A failure names its seed and
// its last actions; the same seed replays exactly.

import { describe, expect, test } from "vitest";
import type { MessageType } from "../../src/raft/index.ts";
import { chaosForSeed, runChaos } from "./chaos.ts";

const SEEDS = Number(process.env.SIM_SEEDS ?? 400);
const CHAOS_MS = Number(process.env.SIM_MS ?? 6_000);

/**
 * Seeds that once failed, kept as regressions (each fails again if its bug comes back):
 * - 279, 2463, 3753: commit of an earlier term's entry by counting replicas (Figure 8, pyraftlog bug 2);
 * - 875, 1115, 1319, 1679: a reluctant node starved by a stale node's vote requests resetting every
 *   election timer (fixed by resetting the timer only on a leader's message or a granted vote).
 * Votes by last index only (pyraftlog bug 1) fail seed 1 and about one seed in fifteen of the fixed set.
 */
const REGRESSIONS = [279, 2463, 3753, 875, 1115, 1319, 1679];

describe("randomized cluster runs", () => {
  test(`safety on every step and progress after healing, ${SEEDS} seeds of ${CHAOS_MS}ms`, () => {
    const seeds = [...Array.from({ length: SEEDS }, (_, i) => i + 1), ...REGRESSIONS];
    const delivered = new Map<MessageType, number>();
    let committed = 0;
    let checks = 0;
    let recoveryMsMax = 0;
    let configChanges = 0;
    for (const seed of seeds) {
      const outcome = runChaos(chaosForSeed(seed, CHAOS_MS));
      committed += outcome.committed;
      checks += outcome.checks;
      recoveryMsMax = Math.max(recoveryMsMax, outcome.recoveryMs);
      for (const [type, count] of outcome.cluster.deliveredByType)
        delivered.set(type, (delivered.get(type) ?? 0) + count);
      for (const payload of outcome.cluster.invariants.committedPayloads.values()) {
        if (payload.startsWith("add-") || payload.startsWith("remove")) configChanges += 1;
      }
    }
    // The runs exercise what they claim to: elections, transfers, snapshots, membership changes.
    expect(delivered.get("vote") ?? 0).toBeGreaterThan(seeds.length);
    expect(delivered.get("timeout-now") ?? 0).toBeGreaterThan(seeds.length / 10);
    expect(delivered.get("snapshot") ?? 0).toBeGreaterThan(seeds.length / 10);
    expect(configChanges).toBeGreaterThan(seeds.length / 10);
    expect(committed).toBeGreaterThan(seeds.length * 20);
    // Once healed, a new entry is applied everywhere within a few election timeouts.
    expect(recoveryMsMax).toBeLessThan(3_000);
    expect(checks).toBeGreaterThan(0);
  });

  test("a seed replays exactly", () => {
    const first = runChaos(chaosForSeed(42, 3_000));
    const second = runChaos(chaosForSeed(42, 3_000));
    expect(second.cluster.history).toEqual(first.cluster.history);
    expect(second.delivered).toBe(first.delivered);
    const digests = (outcome: typeof first) => [...outcome.cluster.nodes.values()].map((node) => node.digest);
    expect(digests(second)).toEqual(digests(first));
  });
});
