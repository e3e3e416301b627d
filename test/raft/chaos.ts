// The randomized run behind the property test: a cluster under a seeded nemesis (partitions of every
// shape, flapping links, crashes mid-batch, restarts, mode switches, leadership transfers, promotions and
// demotions) with a client proposing all along; then a liveness phase heals everything and requires
// progress. The invariants are checked throughout by the simulator; a violation names the seed.

import type { Mode, NodeId } from "../../src/raft/index.ts";
import { randomInt } from "../../src/raft/index.ts";
import { Cluster } from "./cluster.ts";

export interface ChaosOptions {
  seed: number;
  /** Founding voters and learners. */
  voters: NodeId[];
  learners?: NodeId[];
  modes?: Partial<Record<NodeId, Mode>>;
  /** Virtual time of the faulty phase, ms. */
  chaosMs: number;
  /** Virtual time the healed cluster gets to make progress, ms. */
  livenessMsMax: number;
}

export interface ChaosOutcome {
  cluster: Cluster;
  /** Proposals the leaders accepted during the run. */
  accepted: number;
  /** Entries committed (largest committed index). */
  committed: number;
  /** Virtual ms the healed cluster took to commit and apply a new entry everywhere. */
  recoveryMs: number;
  delivered: number;
  checks: number;
}

const MODES: Mode[] = ["active", "reluctant", "passive"];

function pick<T>(cluster: Cluster, items: readonly T[]): T {
  return items[randomInt(cluster.random, 0, items.length)];
}

export function nemesis(cluster: Cluster, ids: NodeId[]): void {
  const random = cluster.random;
  const leader = cluster.leader();
  const roll = random();
  if (roll < 0.12) {
    cluster.heal();
  } else if (roll < 0.22 && leader !== null) {
    cluster.isolate(leader);
  } else if (roll < 0.32) {
    // A random split: a minority and a majority, or a bridge node that sees both sides.
    const shuffled = [...ids].sort(() => random() - 0.5);
    const cutAt = randomInt(random, 1, ids.length);
    const bridge = random() < 0.4 ? shuffled.pop() : undefined;
    cluster.partition(shuffled.slice(0, cutAt), shuffled.slice(cutAt));
    if (bridge !== undefined) cluster.history.push(`  bridge ${bridge}`);
  } else if (roll < 0.4) {
    cluster.cut(pick(cluster, ids), pick(cluster, ids));
  } else if (roll < 0.5) {
    const live = cluster.liveIds();
    // Keep a majority up most of the time, so that the run also makes progress while faulty. Leaders
    // crash more often than others: that is where Figure 8 and lost commits hide.
    const victim = leader !== null && random() < 0.5 ? leader : pick(cluster, live);
    if (live.length > Math.ceil(ids.length / 2)) cluster.crash(victim);
  } else if (roll < 0.62) {
    const down = ids.filter((id) => !cluster.node(id).up);
    if (down.length > 0) cluster.restart(pick(cluster, down));
  } else if (roll < 0.72) {
    cluster.setMode(pick(cluster, ids), pick(cluster, MODES));
  } else if (roll < 0.8 && leader !== null) {
    const target = pick(cluster, ids);
    cluster.history.push(`${cluster.now}ms transfer ${leader} -> ${target}`);
    cluster.act(leader, (raft) => raft.transferLeadership(target));
  } else if (roll < 0.88 && leader !== null) {
    changeMembership(cluster, leader);
  }
}

/** Promote a learner, or demote a voter (keeping at least three voters). */
function changeMembership(cluster: Cluster, leader: NodeId): void {
  const config = cluster.raft(leader).configs.current();
  const promote = config.learners.length > 0 && (config.voters.length <= 3 || cluster.random() < 0.5);
  const node = promote ? pick(cluster, config.learners) : pick(cluster, config.voters);
  if (!promote && config.voters.length <= 3) return;
  const change = { type: promote ? "add-voter" : "add-learner", node } as const;
  const result = cluster.act(leader, (raft) => raft.proposeConfigChange(change));
  cluster.history.push(`${cluster.now}ms ${change.type} ${node}: ${result.ok ? "proposed" : result.reason}`);
}

/**
 * The run for one seed: 3 voters, or 4 voters and a learner; all active, or with reluctant nodes (passive
 * only as a nemesis mode: a passive founder may legitimately leave the healed cluster leaderless).
 */
export function chaosForSeed(seed: number, chaosMs: number): ChaosOptions {
  const five = seed % 2 === 0;
  const modes: Partial<Record<NodeId, Mode>>[] = [{}, { c: "reluctant" }, { a: "reluctant", b: "reluctant" }];
  return {
    seed,
    voters: five ? ["a", "b", "c", "d"] : ["a", "b", "c"],
    learners: five ? ["e"] : [],
    modes: modes[seed % 3],
    chaosMs,
    livenessMsMax: 10_000,
  };
}

export function runChaos(options: ChaosOptions): ChaosOutcome {
  const ids = [...options.voters, ...(options.learners ?? [])];
  const cluster = new Cluster({
    seed: options.seed,
    voters: options.voters,
    learners: options.learners,
    modes: options.modes,
    // Small messages and windows, so batching, pipelining and snapshots all happen in a short run; one
    // entry per append (1 byte) lets a new leader's old entries arrive without its own (Figure 8).
    raft: {
      electionTicks: 10,
      heartbeatTicks: 2,
      maxAppendBytes: [1, 200, 4096][options.seed % 3],
      maxInflightAppends: [1, 4, 64][Math.floor(options.seed / 3) % 3],
      snapshotRetryTicks: 30,
      // Some runs without PreVote and CheckQuorum: the bare protocol elects more often (more races).
      preVote: options.seed % 4 !== 3,
      checkQuorum: options.seed % 4 !== 3,
    },
    snapshotEvery: 20,
    keepAfterSnapshot: 4,
    faults: { dropRate: 0.05, duplicateRate: 0.03, delayMsMin: 1, delayMsMax: 25, crashInReadyRate: 0.0005 },
  });
  let accepted = 0;
  let sequence = 0;
  const proposeToLeader = () => {
    const leader = cluster.leader();
    if (leader === null) return false;
    const result = cluster.propose(leader, `${options.seed}-${sequence++}`);
    if (result.ok) accepted += 1;
    return result.ok;
  };

  while (cluster.now < options.chaosMs) {
    nemesis(cluster, ids);
    const until = cluster.now + randomInt(cluster.random, 20, 400);
    while (cluster.now < until) {
      if (cluster.random() < 0.6) proposeToLeader();
      cluster.runFor(Math.min(25, until - cluster.now));
    }
  }

  // Liveness: heal everything, bring every node back in its founding mode, stop the faults.
  cluster.heal();
  Object.assign(cluster.faults, { dropRate: 0, duplicateRate: 0, crashInReadyRate: 0, delayMsMax: 10 });
  for (const id of ids) {
    cluster.restart(id);
    cluster.setMode(id, options.modes?.[id] ?? "active");
  }
  const healedAt = cluster.now;
  let target: { index: number; term: number } | null = null;
  const recovered = cluster.runUntil(() => {
    const leader = cluster.leader();
    if (leader === null) return false;
    const raft = cluster.raft(leader);
    if (target === null || raft.term !== target.term) {
      const result = cluster.propose(leader, `${options.seed}-final`);
      target = result.ok ? { index: result.index, term: result.term } : null;
      return false;
    }
    const members = [...raft.configs.current().voters, ...raft.configs.current().learners];
    const goal = target.index;
    return members.every((id) => cluster.node(id).applied >= goal);
  }, options.livenessMsMax);
  if (!recovered) {
    const states = ids.map((id) => {
      const raft = cluster.node(id).raft;
      if (raft === null) return `${id}: down`;
      const config = raft.configs.current();
      return (
        `${id}: ${raft.role} t${raft.term} ${raft.mode} last ${raft.log.lastTerm()}/${raft.log.lastIndex()} ` +
        `commit ${raft.log.committed} voters ${config.voters.join(",")} learners ${config.learners.join(",")}`
      );
    });
    throw new Error(`no progress after healing\n  ${states.join("\n  ")}\n${cluster.report()}`);
  }
  return {
    cluster,
    accepted,
    committed: cluster.invariants.maxCommitted,
    recoveryMs: cluster.now - healedAt,
    delivered: cluster.delivered,
    checks: cluster.invariants.checks,
  };
}
