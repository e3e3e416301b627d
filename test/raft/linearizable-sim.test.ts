// Client histories from the simulator, checked for linearizability: key/value clients (kv-clients.ts)
// work through the leader while the chaos nemesis (chaos.ts) partitions, crashes, restarts, switches
// modes, transfers leadership and changes membership. CI runs a fixed seed set; SIM_SEEDS=N runs N.
// A failure names the seed, the key and the operations on it, and the nemesis's last actions.

import { describe, expect, test } from "vitest";
import { randomInt } from "../../src/raft/index.ts";
import { chaosForSeed, nemesis } from "./chaos.ts";
import { Cluster } from "./cluster.ts";
import { KvClients } from "./kv-clients.ts";
import { checkKvHistory } from "./linearizability.ts";

const SEEDS = Number(process.env.SIM_SEEDS ?? 120);
const CHAOS_MS = Number(process.env.SIM_MS ?? 4_000);

function runClients(seed: number, chaosMs: number, reads: "log" | "local") {
  const options = chaosForSeed(seed, chaosMs);
  const ids = [...options.voters, ...(options.learners ?? [])];
  const cluster = new Cluster({
    seed,
    voters: options.voters,
    learners: options.learners,
    modes: options.modes,
    raft: {
      electionTicks: 10,
      heartbeatTicks: 2,
      maxAppendBytes: [1, 200, 4096][seed % 3],
      maxInflightAppends: [1, 4, 64][Math.floor(seed / 3) % 3],
      snapshotRetryTicks: 30,
      preVote: seed % 4 !== 3,
      checkQuorum: seed % 4 !== 3,
    },
    snapshotEvery: 20,
    keepAfterSnapshot: 4,
    faults: { dropRate: 0.05, duplicateRate: 0.03, delayMsMin: 1, delayMsMax: 25, crashInReadyRate: 0.0005 },
  });
  const clients = new KvClients(cluster, { clients: 4, keys: 3, timeoutMs: 500, reads });
  cluster.onEvent = () => clients.observe();
  while (cluster.now < chaosMs) {
    nemesis(cluster, ids);
    const until = cluster.now + randomInt(cluster.random, 20, 400);
    while (cluster.now < until) {
      clients.invoke();
      cluster.runFor(Math.min(10, until - cluster.now));
    }
  }
  return { cluster, history: clients.operations() };
}

describe("linearizability of client histories in the simulator", () => {
  test(`${SEEDS} seeds of ${CHAOS_MS}ms: reads and writes through the log`, () => {
    let operations = 0;
    let completed = 0;
    let pending = 0;
    for (let seed = 1; seed <= SEEDS; seed += 1) {
      const { cluster, history } = runClients(seed, CHAOS_MS, "log");
      const result = checkKvHistory(history);
      if (result.ok !== true) {
        const why = result.ok === false ? result.report : `search budget exhausted on key ${result.key}`;
        throw new Error(`seed ${seed}: ${why}\n${cluster.report()}`);
      }
      operations += history.length;
      for (const op of history) if (op.ret === undefined) pending += 1;
      completed += history.filter((op) => op.ret !== undefined).length;
    }
    // The histories have substance: many answered operations, and some of unknown outcome.
    expect(completed).toBeGreaterThan(SEEDS * 20);
    expect(pending).toBeGreaterThan(SEEDS / 4);
    expect(operations).toBe(completed + pending);
  });

  test("the check can fail: reads from the leader's applied state, without the log, are caught", () => {
    const failing: number[] = [];
    for (let seed = 1; seed <= 40 && failing.length === 0; seed += 1) {
      const { history } = runClients(seed, CHAOS_MS, "local");
      if (checkKvHistory(history).ok === false) failing.push(seed);
    }
    expect(failing.length).toBeGreaterThan(0);
  });
});
