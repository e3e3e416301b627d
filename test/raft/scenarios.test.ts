// Whole-cluster scenarios on the simulator. Every one runs with the invariants checked after each
// persisted batch, applied entry and delivered message (cluster.ts), so besides its own assertions each
// scenario also fails on any safety violation along the way.

import { describe, expect, test } from "vitest";
import type { Message, NodeId } from "../../src/raft/index.ts";
import type { ClusterOptions } from "./cluster.ts";
import { Cluster } from "./cluster.ts";

function electedLeader(cluster: Cluster, msMax = 5_000): NodeId {
  const ok = cluster.runUntil(() => cluster.leader() !== null, msMax);
  if (!ok) throw new Error(`no leader within ${msMax}ms\n${cluster.report()}`);
  return cluster.leader() as NodeId;
}

function proposeMany(cluster: Cluster, count: number, prefix: string): void {
  for (let i = 0; i < count; i += 1) {
    const leader = electedLeader(cluster);
    const result = cluster.propose(leader, `${prefix}${i}`);
    if (!result.ok) throw new Error(`proposal refused: ${result.reason}`);
    cluster.runFor(5);
  }
}

/** Every live node has applied the same thing, up to at least `index`. */
function converged(cluster: Cluster, index: number): boolean {
  const nodes = [...cluster.nodes.values()].filter((node) => node.up);
  return nodes.every((node) => node.applied >= index && node.applied === nodes[0].applied);
}

const timed = (options: Partial<ClusterOptions> & { voters: NodeId[] }): Cluster =>
  new Cluster({ seed: 7, faults: { delayMsMin: 1, delayMsMax: 5 }, ...options });

describe("Figure 8: a leader never commits an entry of an earlier term by counting replicas", () => {
  test("the term-2 entry held by a majority is not committed, and is safely overwritten", () => {
    // The paper's protocol (no PreVote, no lease) and one entry per append, so the steps of the figure
    // can be scripted message by message.
    const cluster = new Cluster({
      seed: 1,
      voters: ["s1", "s2", "s3", "s4", "s5"],
      raft: { preVote: false, checkQuorum: false, maxAppendBytes: 1 },
    });
    const elect = (id: NodeId) => {
      for (let attempt = 0; attempt < 5 && cluster.raft(id).role !== "leader"; attempt += 1) {
        cluster.campaign(id);
        cluster.deliverAll();
      }
      expect(cluster.raft(id).role).toBe("leader");
    };
    // (a) s1 leads term 2; its entry at index 3 reaches s2 only.
    elect("s1");
    expect(cluster.raft("s1").term).toBe(2);
    cluster.partition(["s1", "s2"], ["s3", "s4", "s5"]);
    expect(cluster.propose("s1", "x")).toMatchObject({ ok: true, index: 3 });
    cluster.deliverAll();
    expect(cluster.node("s2").storage.term(3)).toBe(2);
    // (b) s1 crashes; s5 is elected for term 3 by s3 and s4, appends its own entry at 3, replicates nothing.
    cluster.crash("s1");
    cluster.dropIf = (m: Message) => m.from === "s5" && m.type === "append";
    elect("s5");
    expect(cluster.raft("s5").term).toBe(3);
    cluster.crash("s5");
    // (c) s1 comes back and leads term 4; it gets its term-2 entry onto s3 (a majority: s1, s2, s3)
    // while its own term-4 entry at index 4 never reaches s3 (s2 gets it: 2 of 5 is no majority).
    cluster.dropIf = (m: Message) =>
      m.type === "append" &&
      m.to === "s3" &&
      m.entries.some((e) => e.index === 4) &&
      cluster.node("s3").storage.lastIndex() >= 3; // (appends s3 rejects anyway may pass: they carry the probe)
    cluster.restart("s1");
    cluster.partition(["s1", "s2", "s3"], ["s4"]);
    elect("s1");
    expect(cluster.raft("s1").term).toBe(4);
    cluster.deliverAll();
    for (const id of ["s1", "s2", "s3"]) expect(cluster.node(id).storage.term(3)).toBe(2);
    expect(cluster.raft("s1").progress.get("s3")?.match).toBe(3);
    expect(cluster.raft("s1").progress.get("s2")?.match).toBe(4);
    // pyraftlog 2.x commits index 3 here. Raft must not: it is not of the leader's term.
    for (const id of ["s1", "s2", "s3", "s4"]) expect(cluster.raft(id).log.committed).toBeLessThan(3);
    // (d) s1 crashes; s5 returns and, with its newer last term, wins s2, s3 and s4 and overwrites index 3.
    cluster.crash("s1");
    cluster.dropIf = null;
    cluster.heal();
    cluster.restart("s5");
    elect("s5");
    cluster.deliverAll();
    cluster.tickAll(2);
    expect(cluster.invariants.committed.has(3)).toBe(true);
    expect(cluster.invariants.committedPayloads.get(3)).toBe(""); // s5's entry of term 3, not "x"
    // (e) s1 returns and converges on s5's log.
    cluster.restart("s1");
    cluster.tickAll(3);
    expect(cluster.node("s1").storage.term(3)).toBe(3);
    expect(converged(cluster, 3)).toBe(true);
  });
});

describe("votes by (last term, last index)", () => {
  test("a longer log of an older term never wins over a committed entry of a newer term (pyraftlog bug 1)", () => {
    // No lease, so the stale node's request reaches the voter; PreVote on, as in production.
    const cluster = new Cluster({ seed: 3, voters: ["a", "b", "c"], raft: { checkQuorum: false } });
    const elect = (id: NodeId) => {
      cluster.campaign(id);
      cluster.deliverAll();
    };
    elect("a");
    expect(cluster.raft("a").role).toBe("leader");
    cluster.tickAll(2);
    // a, cut off, appends five entries of term 2 that nobody else gets.
    cluster.isolate("a");
    for (let i = 0; i < 5; i += 1) cluster.propose("a", `stale${i}`);
    cluster.deliverAll();
    // b and c move on: b leads term 3 and commits its entry at index 3 with c.
    elect("b");
    expect(cluster.raft("b").role).toBe("leader");
    cluster.tickAll(2);
    expect(cluster.invariants.maxCommitted).toBe(3);
    cluster.crash("b");
    cluster.heal();
    cluster.tick("a"); // its heartbeat is answered with term 3: a steps down
    cluster.deliverAll();
    expect([cluster.raft("a").role, cluster.raft("a").term]).toEqual(["follower", 3]);
    // a's log is longer (index 7) but ends in term 2; c's ends in term 3 at index 3: c must refuse a.
    elect("a");
    expect(cluster.raft("a").role).not.toBe("leader");
    elect("c");
    expect(cluster.raft("c").role).toBe("leader");
    cluster.tickAll(3);
    expect(cluster.node("a").storage.term(3)).toBe(3); // a's stale suffix was replaced
    expect(cluster.invariants.committedPayloads.get(3)).toBe("");
  });
});

describe("a leader partitioned away", () => {
  test("CheckQuorum steps it down; the majority elects anew; PreVote keeps it from disrupting on return", () => {
    const cluster = timed({ voters: ["a", "b", "c"] });
    const old = electedLeader(cluster);
    proposeMany(cluster, 5, "before");
    const term = cluster.raft(old).term;
    cluster.isolate(old);
    // Within two election timeouts (10 ticks of 10ms, randomized up to 2x), it notices and steps down.
    expect(cluster.runUntil(() => cluster.raft(old).role !== "leader", 300)).toBe(true);
    const next = electedLeader(cluster);
    expect(next).not.toBe(old);
    const newTerm = cluster.raft(next).term;
    expect(newTerm).toBe(term + 1);
    proposeMany(cluster, 5, "during");
    // Alone for a long time, it keeps pre-voting but never raises its term.
    cluster.runFor(3_000);
    expect(cluster.raft(old).term).toBe(term);
    expect(cluster.deliveredByType.get("vote") ?? 0).toBeLessThan(10);
    cluster.heal();
    cluster.runFor(500);
    expect(cluster.leader()).toBe(next);
    expect(cluster.raft(next).term).toBe(newTerm);
    expect(cluster.raft(old).leader).toBe(next);
    proposeMany(cluster, 3, "after");
    expect(cluster.runUntil(() => converged(cluster, cluster.raft(next).log.lastIndex()), 1_000)).toBe(true);
  });

  test("a follower partitioned away rejoins without deposing the leader", () => {
    const cluster = timed({ voters: ["a", "b", "c"] });
    const leader = electedLeader(cluster);
    const term = cluster.raft(leader).term;
    const follower = ["a", "b", "c"].find((id) => id !== leader) as NodeId;
    cluster.isolate(follower);
    cluster.runFor(2_000);
    cluster.heal();
    cluster.runFor(500);
    expect(cluster.leader()).toBe(leader);
    expect(cluster.raft(leader).term).toBe(term);
  });
});

describe("leadership transfer", () => {
  test("to a caught-up follower: it leads the next term, with no election timeout in between", () => {
    const cluster = timed({ voters: ["a", "b", "c"] });
    const old = electedLeader(cluster);
    proposeMany(cluster, 5, "x");
    const target = ["a", "b", "c"].find((id) => id !== old) as NodeId;
    const term = cluster.raft(old).term;
    cluster.runFor(50);
    expect(cluster.act(old, (raft) => raft.transferLeadership(target))).toEqual({ ok: true });
    expect(cluster.propose(old, "refused")).toMatchObject({ ok: false, reason: "transfer-in-progress" });
    expect(cluster.runUntil(() => cluster.leader() === target, 50)).toBe(true);
    expect(cluster.raft(target).term).toBe(term + 1);
  });

  test("to a follower that was down: it is caught up first, then leads with every entry", () => {
    const cluster = timed({ voters: ["a", "b", "c"] });
    const old = electedLeader(cluster);
    const target = ["a", "b", "c"].find((id) => id !== old) as NodeId;
    cluster.crash(target);
    proposeMany(cluster, 20, "y");
    cluster.restart(target);
    cluster.act(old, (raft) => raft.transferLeadership(target));
    expect(cluster.runUntil(() => cluster.leader() === target, 500)).toBe(true);
    const values = [...cluster.invariants.committedPayloads.values()];
    expect(values.filter((v) => v.startsWith("y"))).toHaveLength(20);
    expect(cluster.node(target).storage.lastIndex()).toBeGreaterThanOrEqual(22);
  });
});

describe("membership", () => {
  test("a new server joins as a learner, catches up by snapshot, is promoted and then counts", () => {
    const cluster = timed({ voters: ["a", "b", "c"], joiners: ["d"], snapshotEvery: 10 });
    const leader = electedLeader(cluster);
    proposeMany(cluster, 30, "v");
    cluster.runFor(100);
    expect(cluster.node(leader).storage.firstIndex()).toBeGreaterThan(2); // compacted
    expect(
      cluster.act(leader, (raft) => raft.proposeConfigChange({ type: "add-learner", node: "d" })).ok,
    ).toBe(true);
    expect(
      cluster.act(leader, (raft) => raft.proposeConfigChange({ type: "add-voter", node: "d" })),
    ).toMatchObject({
      ok: false,
      reason: "change-pending",
    });
    cluster.runFor(20);
    expect(cluster.raft("d").status().membership).toBe("learner");
    expect(
      cluster.runUntil(() => cluster.node("d").applied >= cluster.raft(leader).log.committed, 1_000),
    ).toBe(true);
    expect(cluster.deliveredByType.get("snapshot")).toBeGreaterThanOrEqual(1);
    expect(cluster.act(leader, (raft) => raft.proposeConfigChange({ type: "add-voter", node: "d" })).ok).toBe(
      true,
    );
    cluster.runFor(50);
    expect(cluster.raft(leader).configs.current().voters).toEqual(["a", "b", "c", "d"]);
    // With a and one other voter down... rather: with one old follower down, the quorum (3 of 4) needs d.
    const other = ["a", "b", "c"].find((id) => id !== leader) as NodeId;
    cluster.crash(other);
    cluster.cut("d", leader); // d's acknowledgements no longer arrive: nothing can commit
    const pending = cluster.propose(leader, "needs-d");
    cluster.runFor(200);
    expect(cluster.raft(leader).log.committed).toBeLessThan(pending.ok ? pending.index : 0);
    cluster.heal();
    expect(
      cluster.runUntil(() => cluster.invariants.maxCommitted >= (pending.ok ? pending.index : 0), 500),
    ).toBe(true);
  });

  test("remove a follower, then the leader itself: the removed never disrupt, the leader hands over", () => {
    const cluster = timed({ voters: ["a", "b", "c", "d"] });
    const leader = electedLeader(cluster);
    proposeMany(cluster, 3, "r");
    const [follower, third] = ["a", "b", "c", "d"].filter((id) => id !== leader);
    expect(
      cluster.act(leader, (raft) => raft.proposeConfigChange({ type: "remove", node: follower })).ok,
    ).toBe(true);
    cluster.runFor(100);
    const term = cluster.raft(leader).term;
    cluster.runFor(3_000); // the removed node times out again and again
    expect(cluster.leader()).toBe(leader);
    expect(cluster.raft(leader).term).toBe(term);
    proposeMany(cluster, 3, "s");
    cluster.crash(follower);
    // Now the leader removes itself: once that commits, it tells a caught-up voter to campaign at once.
    expect(cluster.act(leader, (raft) => raft.proposeConfigChange({ type: "remove", node: leader })).ok).toBe(
      true,
    );
    expect(cluster.runUntil(() => cluster.leader() !== null && cluster.leader() !== leader, 100)).toBe(true);
    expect(cluster.raft(cluster.leader() as NodeId).term).toBe(term + 1);
    const next = cluster.leader() as NodeId;
    cluster.runFor(2_000);
    expect(cluster.leader()).toBe(next);
    expect([third, ...["a", "b", "c", "d"]].filter((id) => id !== leader && id !== follower)).toContain(next);
    // Outside the configuration, nobody writes to it and it never campaigns: its term stays.
    expect(cluster.raft(leader).role).toBe("follower");
    expect(cluster.raft(leader).term).toBe(term);
  });
});

describe("snapshots: log compaction never strands a node", () => {
  test("a follower far behind after compaction catches up by InstallSnapshot, even if the first is lost", () => {
    const cluster = timed({
      voters: ["a", "b", "c"],
      snapshotEvery: 10,
      keepAfterSnapshot: 2,
      raft: { snapshotRetryTicks: 20 },
    });
    const leader = electedLeader(cluster);
    const lagging = ["a", "b", "c"].find((id) => id !== leader) as NodeId;
    cluster.crash(lagging);
    proposeMany(cluster, 100, "z");
    cluster.runFor(100);
    expect(cluster.node(leader).storage.firstIndex()).toBeGreaterThan(90);
    let dropped = 0;
    cluster.dropIf = (m) => m.type === "snapshot" && dropped++ === 0;
    cluster.restart(lagging);
    const goal = cluster.raft(leader).log.committed;
    expect(cluster.runUntil(() => cluster.node(lagging).applied >= goal, 2_000)).toBe(true);
    expect(dropped).toBeGreaterThanOrEqual(2); // the first was lost, another one got through
    expect(cluster.node(lagging).digest).toBe(cluster.node(leader).digestAt(cluster.node(lagging).applied));
  });

  test("every committed entry survives a crash of the whole cluster", () => {
    const cluster = timed({ voters: ["a", "b", "c"], snapshotEvery: 7 });
    electedLeader(cluster);
    proposeMany(cluster, 30, "w");
    const committed = cluster.invariants.maxCommitted;
    for (const id of ["a", "b", "c"]) cluster.crash(id);
    for (const id of ["c", "b", "a"]) cluster.restart(id);
    electedLeader(cluster);
    proposeMany(cluster, 1, "after");
    expect(cluster.runUntil(() => converged(cluster, committed + 1), 1_000)).toBe(true);
  });
});

describe("modes", () => {
  test("a reluctant leader hands over to an active node once it is caught up, with no leaderless gap", () => {
    const cluster = timed({ voters: ["a", "b", "c"], modes: { a: "reluctant", c: "passive" } });
    cluster.crash("b");
    // Only a can lead now (c is passive); it does, reluctantly.
    expect(electedLeader(cluster)).toBe("a");
    proposeMany(cluster, 10, "r");
    const term = cluster.raft("a").term;
    let leaderlessSince: number | null = null;
    let longestGap = 0;
    cluster.onEvent = () => {
      const leaderless = cluster.leader() === null;
      if (leaderless && leaderlessSince === null) leaderlessSince = cluster.now;
      if (!leaderless && leaderlessSince !== null) {
        longestGap = Math.max(longestGap, cluster.now - leaderlessSince);
        leaderlessSince = null;
      }
    };
    cluster.restart("b");
    expect(cluster.runUntil(() => cluster.leader() === "b", 1_000)).toBe(true);
    cluster.runFor(500);
    expect(cluster.leader()).toBe("b");
    expect(cluster.raft("b").term).toBe(term + 1); // one election, no timeout, no split vote
    // A vote request and its answer (at most 5ms each): far less than one tick, let alone an election timeout.
    expect(longestGap).toBeLessThanOrEqual(10);
    expect(leaderlessSince).toBeNull();
  });

  test("a reluctant node leads only while no active node can", () => {
    const cluster = timed({ voters: ["a", "b", "c"], modes: { b: "reluctant", c: "reluctant" } });
    expect(electedLeader(cluster)).toBe("a");
    cluster.crash("a");
    const stand = electedLeader(cluster);
    expect(["b", "c"]).toContain(stand);
    proposeMany(cluster, 3, "q");
    cluster.restart("a");
    expect(cluster.runUntil(() => cluster.leader() === "a", 1_000)).toBe(true);
    // With a up, crashing a reluctant node changes nothing.
    cluster.crash(stand);
    cluster.runFor(1_000);
    expect(cluster.leader()).toBe("a");
  });

  test("a passive node never campaigns, even when that leaves the cluster without a leader", () => {
    const cluster = timed({ voters: ["a", "b", "c"], modes: { b: "passive", c: "passive" } });
    expect(electedLeader(cluster)).toBe("a");
    proposeMany(cluster, 3, "p");
    const term = cluster.raft("b").term;
    const roles = new Set<string>();
    cluster.onEvent = () => {
      for (const id of ["b", "c"]) roles.add(cluster.raft(id).role);
    };
    cluster.crash("a");
    cluster.runFor(5_000);
    expect([...roles]).toEqual(["follower"]);
    expect(cluster.leader()).toBeNull();
    expect([cluster.raft("b").term, cluster.raft("c").term]).toEqual([term, term]);
    // Liveness, never safety: switching one to active brings a leader back.
    cluster.onEvent = null;
    cluster.setMode("b", "active");
    expect(electedLeader(cluster, 1_000)).toBe("b");
    cluster.restart("a");
    cluster.runFor(1_000);
    expect(cluster.leader()).toBe("b");
  });
});
