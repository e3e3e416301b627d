// One core driven by hand: one test per rule of the Raft paper (§5.1-5.4), then the rules of the
// features on top (PreVote, CheckQuorum, transfer, learners, membership, modes, flow control, Ready).

import { describe, expect, test } from "vitest";
import type { AppendResponseMessage, Message } from "../../src/raft/index.ts";
import { MemoryStorage, makeConfig, Raft, seededRandom } from "../../src/raft/index.ts";
import {
  append,
  drain,
  electLeader,
  newRaft,
  normal,
  ofType,
  tickUntilCampaign,
  voteRequest,
  voteResponse,
} from "./helpers.ts";

const encoder = new TextEncoder();
const ack = (from: string, to: string, term: number, index: number): AppendResponseMessage => ({
  type: "append-response",
  from,
  to,
  term,
  index,
  reject: false,
  rejectHint: 0,
  rejectTerm: 0,
  mode: "active",
});

describe("§5.1 terms", () => {
  test("a node starts as a follower at its stored term", () => {
    const { raft } = newRaft("a", ["a", "b", "c"]);
    expect([raft.role, raft.term, raft.leader]).toEqual(["follower", 1, null]);
  });

  test.each(["follower", "candidate", "leader"] as const)(
    "a %s seeing a higher term adopts it and follows",
    (role) => {
      const harness = newRaft("a", ["a", "b", "c"], { preVote: false });
      if (role === "candidate") tickUntilCampaign(harness);
      if (role === "leader") electLeader(harness);
      harness.raft.step(append("b", "a", 9, 1, 1, [], 1));
      expect([harness.raft.role, harness.raft.term, harness.raft.leader]).toEqual(["follower", 9, "b"]);
    },
  );

  test("a message of an older term is not obeyed; a stale leader is told the newer term", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    harness.raft.step(append("b", "a", 5, 1, 1, [], 1));
    drain(harness);
    harness.raft.step(append("c", "a", 3, 1, 1, [normal(2, 3)], 1));
    const [answer] = drain(harness);
    expect(harness.raft.log.lastIndex()).toBe(1);
    expect(answer).toMatchObject({ type: "append-response", to: "c", term: 5 });
  });
});

describe("§5.2 leader election", () => {
  test("a follower campaigns after the election timeout: PreVote for the next term, then a real vote", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    const preVotes = tickUntilCampaign(harness);
    expect(harness.raft.role).toBe("pre-candidate");
    expect(harness.raft.term).toBe(1); // a dry run does not raise the term
    expect(preVotes.map((m) => [m.type, m.to, m.term])).toEqual([
      ["pre-vote", "b", 2],
      ["pre-vote", "c", 2],
    ]);
    harness.raft.step(voteResponse("b", "a", 2, false, true));
    const votes = drain(harness);
    expect([harness.raft.role, harness.raft.term, harness.raft.vote]).toEqual(["candidate", 2, "a"]);
    expect(ofType(votes, "vote").map((m) => m.to)).toEqual(["b", "c"]);
  });

  test("election timeouts are drawn from [electionTicks, 2 * electionTicks) with the injected randomness", () => {
    const timeouts = new Set<number>();
    for (let seed = 0; seed < 50; seed += 1) {
      const { raft } = newRaft("a", ["a", "b", "c"], { seed });
      timeouts.add(raft.randomizedElectionTimeout);
    }
    expect(Math.min(...timeouts)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...timeouts)).toBeLessThan(20);
    expect(timeouts.size).toBeGreaterThan(5);
    // Same seed, same timeout: a run replays.
    expect(newRaft("a", ["a"], { seed: 7 }).raft.randomizedElectionTimeout).toBe(
      newRaft("a", ["a"], { seed: 7 }).raft.randomizedElectionTimeout,
    );
  });

  test("a candidate wins with a majority and then asserts leadership with an entry of its term", () => {
    const harness = newRaft("a", ["a", "b", "c", "d", "e"], { preVote: false });
    tickUntilCampaign(harness);
    harness.raft.step(voteResponse("b", "a", 2));
    expect(harness.raft.role).toBe("candidate");
    harness.raft.step(voteResponse("c", "a", 2));
    expect(harness.raft.role).toBe("leader");
    const messages = drain(harness);
    expect(ofType(messages, "append")).toHaveLength(4);
    expect(harness.raft.log.lastTerm()).toBe(2); // the noop of its term
  });

  test("a candidate that a majority rejects goes back to following", () => {
    const harness = newRaft("a", ["a", "b", "c"], { preVote: false });
    tickUntilCampaign(harness);
    harness.raft.step(voteResponse("b", "a", 2, true));
    expect(harness.raft.role).toBe("candidate");
    harness.raft.step(voteResponse("c", "a", 2, true));
    expect(harness.raft.role).toBe("follower");
  });

  test("a candidate that hears from a leader of its term follows it", () => {
    const harness = newRaft("a", ["a", "b", "c"], { preVote: false });
    tickUntilCampaign(harness);
    harness.raft.step(append("b", "a", 2, 1, 1, [], 1));
    expect([harness.raft.role, harness.raft.leader]).toEqual(["follower", "b"]);
  });

  test("only a leader or a granted vote resets the election timer, not a refused request of a later term", () => {
    const harness = newRaft("a", ["a", "b", "c"], { preVote: false, checkQuorum: false });
    for (let i = 0; i < 5; i += 1) harness.raft.tick();
    harness.raft.step(voteRequest("b", "a", 5, 0, 0)); // stale log: refused
    expect([harness.raft.term, harness.raft.electionElapsed]).toEqual([5, 5]);
    harness.raft.step(voteRequest("c", "a", 6, 1, 1)); // granted
    expect([harness.raft.term, harness.raft.electionElapsed]).toEqual([6, 0]);
  });

  test("a candidate whose election times out starts another in a new term", () => {
    const harness = newRaft("a", ["a", "b", "c"], { preVote: false });
    tickUntilCampaign(harness);
    expect(harness.raft.term).toBe(2);
    for (let i = 0; i < 20; i += 1) harness.raft.tick();
    expect([harness.raft.role, harness.raft.term]).toEqual(["candidate", 3]);
  });

  test("one vote per term, first come first served; a repeated request gets the same answer", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    harness.raft.step(voteRequest("b", "a", 2, 1, 1));
    harness.raft.step(voteRequest("c", "a", 2, 1, 1));
    harness.raft.step(voteRequest("b", "a", 2, 1, 1));
    const answers = ofType(drain(harness), "vote-response");
    expect(answers.map((m) => [m.to, m.reject])).toEqual([
      ["b", false],
      ["c", true],
      ["b", false],
    ]);
    expect(harness.storage.hardState()).toMatchObject({ term: 2, vote: "b" });
  });

  test("the leader sends heartbeats every heartbeatTicks, carrying no more commit than each follower holds", () => {
    const harness = newRaft("a", ["a", "b", "c"], { heartbeatTicks: 2 });
    electLeader(harness);
    harness.raft.step(ack("b", "a", 2, 2));
    drain(harness);
    harness.raft.tick();
    expect(ofType(drain(harness), "heartbeat")).toHaveLength(0);
    harness.raft.tick();
    const beats = ofType(drain(harness), "heartbeat");
    expect(beats.map((m) => [m.to, m.commit])).toEqual([
      ["b", 2],
      ["c", 0],
    ]);
  });
});

describe("§5.3 log replication", () => {
  test("the leader appends a proposal, replicates it, commits it on a majority and applies it", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    // Each follower answers the probe (the noop), which moves it to pipelined replication.
    harness.raft.step(ack("b", "a", 2, 2));
    harness.raft.step(ack("c", "a", 2, 2));
    drain(harness);
    const result = harness.raft.propose(encoder.encode("x"));
    expect(result).toEqual({ ok: true, index: 3, term: 2 });
    const appends = ofType(drain(harness), "append");
    expect(appends.map((m) => [m.to, m.prevIndex, m.entries.length])).toEqual([
      ["b", 2, 1],
      ["c", 2, 1],
    ]);
    expect(harness.raft.log.committed).toBe(2);
    harness.raft.step(ack("b", "a", 2, 3));
    drain(harness);
    expect(harness.raft.log.committed).toBe(3);
    expect(harness.applied.map((e) => e.kind)).toEqual(["noop", "normal"]);
  });

  test("a follower refuses an append whose previous entry it does not hold, and hints where to resume", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(append("a", "b", 2, 1, 1, [normal(2, 2), normal(3, 2)], 1));
    drain(harness);
    harness.raft.step(append("a", "b", 2, 6, 2, [normal(7, 2)], 1));
    const [answer] = ofType(drain(harness), "append-response");
    expect(answer).toMatchObject({ reject: true, index: 6, rejectHint: 3, rejectTerm: 2 });
  });

  test("a follower drops a conflicting suffix and takes the leader's entries", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(append("a", "b", 2, 1, 1, [normal(2, 2), normal(3, 2), normal(4, 2)], 1));
    drain(harness);
    harness.raft.step(append("c", "b", 3, 2, 2, [normal(3, 3)], 1));
    drain(harness);
    expect(harness.storage.lastIndex()).toBe(3);
    expect(harness.storage.term(3)).toBe(3);
  });

  test("a follower commits up to min(leader commit, last entry of the append)", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(append("a", "b", 2, 1, 1, [normal(2, 2), normal(3, 2)], 1));
    harness.raft.step(append("a", "b", 2, 1, 1, [normal(2, 2)], 3));
    expect(harness.raft.log.committed).toBe(2);
  });

  test("the leader walks back a divergent follower one term at a time and repairs its log", () => {
    const leader = newRaft("a", ["a", "b", "c"], { preVote: false });
    // The leader's log: terms 1 1 3 3 3 (indexes 2..6), from an earlier leadership.
    leader.storage.append([normal(2, 1), normal(3, 1), normal(4, 3), normal(5, 3), normal(6, 3)]);
    leader.storage.setHardState({ term: 3, vote: null, commit: 1 });
    const fresh = newRaft("a", ["a", "b", "c"], { preVote: false, storage: leader.storage });
    const elected = electLeader(fresh);
    // The follower's log: terms 1 2 2 2 2 2 (indexes 2..7): divergent from index 3 on.
    const follower = newRaft("b", ["a", "b", "c"]);
    follower.storage.append([2, 3, 4, 5, 6, 7].map((i) => normal(i, i === 2 ? 1 : 2, `old${i}`)));
    follower.storage.setHardState({ term: 3, vote: null, commit: 1 });
    const b = newRaft("b", ["a", "b", "c"], { storage: follower.storage });
    let toB = ofType(elected, "append").filter((m) => m.to === "b");
    let rounds = 0;
    while (toB.length > 0 && rounds < 10) {
      rounds += 1;
      for (const m of toB) b.raft.step(m);
      for (const m of drain(b)) fresh.raft.step(m);
      toB = ofType(drain(fresh), "append").filter((m) => m.to === "b");
    }
    expect(rounds).toBeLessThanOrEqual(4); // per term, not per entry
    const leaderTerms = [2, 3, 4, 5, 6, 7].map((i) => fresh.storage.term(i));
    const followerTerms = [2, 3, 4, 5, 6, 7].map((i) => b.storage.term(i));
    expect(followerTerms).toEqual(leaderTerms);
    expect(fresh.raft.log.committed).toBe(7);
  });
});

describe("§5.4 safety", () => {
  // (checkQuorum off: with it, a voter that just heard from its leader ignores vote requests altogether.)
  test("§5.4.1 a voter refuses a candidate with an older last term even if its log is longer (pyraftlog bug 1)", () => {
    const voter = newRaft("a", ["a", "b", "c"], { checkQuorum: false });
    voter.raft.step(append("c", "a", 3, 1, 1, [normal(2, 1), normal(3, 3)], 1)); // a ends at (3, 3)
    drain(voter);
    voter.raft.step(voteRequest("b", "a", 4, 9, 2)); // longer log, older last term
    expect(ofType(drain(voter), "vote-response")[0]).toMatchObject({ to: "b", reject: true });
    voter.raft.step(voteRequest("c", "a", 5, 2, 4)); // shorter log, newer last term
    expect(ofType(drain(voter), "vote-response")[0]).toMatchObject({ to: "c", reject: false });
  });

  test("§5.4.1 with equal last terms, the longer log wins", () => {
    const voter = newRaft("a", ["a", "b", "c"], { checkQuorum: false });
    voter.raft.step(append("c", "a", 2, 1, 1, [normal(2, 2), normal(3, 2)], 1));
    drain(voter);
    voter.raft.step(voteRequest("b", "a", 3, 2, 2));
    expect(ofType(drain(voter), "vote-response")[0].reject).toBe(true);
    voter.raft.step(voteRequest("b", "a", 4, 3, 2));
    expect(ofType(drain(voter), "vote-response")[0].reject).toBe(false);
  });

  test("§5.4.2 a leader never commits an entry of an earlier term by counting replicas (pyraftlog bug 2)", () => {
    // a holds an entry of term 2 that it never committed; it leads term 4 now.
    const storage = MemoryStorage.bootstrap(makeConfig(["a", "b", "c"], []));
    storage.append([normal(2, 2)]);
    storage.setHardState({ term: 3, vote: null, commit: 1 });
    const leader = newRaft("a", ["a", "b", "c"], { preVote: false, storage, maxAppendBytes: 1 });
    electLeader(leader); // term 4, noop at index 3
    // b acknowledges index 2 only (the noop has not reached it): a majority holds the term-2 entry.
    leader.raft.step(ack("b", "a", 4, 2));
    drain(leader);
    expect(leader.raft.log.committed).toBe(1);
    // Once the noop of term 4 is on a majority, both commit together.
    leader.raft.step(ack("b", "a", 4, 3));
    drain(leader);
    expect(leader.raft.log.committed).toBe(3);
  });
});

describe("PreVote and CheckQuorum", () => {
  test("a failed PreVote leaves every term as it was", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    tickUntilCampaign(harness);
    harness.raft.step(voteResponse("b", "a", 1, true, true));
    harness.raft.step(voteResponse("c", "a", 1, true, true));
    expect([harness.raft.role, harness.raft.term]).toEqual(["follower", 1]);
    expect(harness.storage.hardState().term).toBe(1);
  });

  test("a voter grants a PreVote without changing its term or its vote", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(voteRequest("a", "b", 2, 1, 1, { type: "pre-vote" }));
    const [answer] = drain(harness);
    expect(answer).toMatchObject({ type: "pre-vote-response", term: 2, reject: false });
    expect([harness.raft.term, harness.raft.vote]).toEqual([1, null]);
  });

  test("the leader lease: a follower that hears from its leader ignores vote requests (unless a transfer)", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(append("a", "b", 2, 1, 1, [], 1));
    drain(harness);
    harness.raft.step(voteRequest("c", "b", 3, 1, 1));
    expect(drain(harness)).toEqual([]);
    expect(harness.raft.term).toBe(2);
    harness.raft.step(voteRequest("c", "b", 3, 1, 1, { transfer: true }));
    expect(ofType(drain(harness), "vote-response")[0].reject).toBe(false);
  });

  test("a leader that does not hear from a quorum for an election timeout steps down", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    harness.raft.step({ type: "heartbeat-response", from: "b", to: "a", term: 2, mode: "active" });
    for (let i = 0; i < 10; i += 1) harness.raft.tick();
    expect(harness.raft.role).toBe("leader"); // b was heard in the first round
    for (let i = 0; i < 10; i += 1) harness.raft.tick();
    expect([harness.raft.role, harness.raft.term]).toEqual(["follower", 2]);
  });
});

describe("Ready and advance", () => {
  test("a vote goes out with the hard state that records it, which must be synced first", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(voteRequest("a", "b", 2, 1, 1));
    const ready = harness.raft.ready();
    expect(ready.hardState).toEqual({ term: 2, vote: "a", commit: 1 });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toHaveLength(1);
    expect(() => harness.raft.ready()).toThrow(/advance/);
    harness.raft.advance(ready);
    expect(harness.raft.hasReady()).toBe(false);
  });

  test("a commit index alone need not be synced", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(append("a", "b", 2, 1, 1, [normal(2, 2)], 1));
    drain(harness);
    harness.raft.step({ type: "heartbeat", from: "a", to: "b", term: 2, commit: 2 });
    const ready = harness.raft.ready();
    expect(ready.hardState?.commit).toBe(2);
    expect(ready.mustSync).toBe(false);
  });

  test("a leader counts its own entries only once they are persisted", () => {
    const harness = newRaft("a", ["a"]);
    harness.raft.campaign();
    expect(harness.raft.role).toBe("leader");
    harness.raft.propose(encoder.encode("x"));
    expect(harness.raft.log.committed).toBe(1);
    drain(harness);
    expect(harness.raft.log.committed).toBe(3);
    expect(harness.applied.map((e) => e.index)).toEqual([2, 3]);
  });

  test("committed entries are handed out in batches of at most maxApplyBytes (one at least)", () => {
    const harness = newRaft("a", ["a"], { maxApplyBytes: 1 });
    harness.raft.campaign();
    for (let i = 0; i < 3; i += 1) harness.raft.propose(encoder.encode(`x${i}`));
    drain(harness);
    const batches = harness.readies.map((r) => r.committedEntries.length).filter((n) => n > 0);
    expect(batches.every((n) => n === 1)).toBe(true);
    expect(harness.applied).toHaveLength(4);
  });

  test("a restarted node recovers term, vote, commit and configuration from storage", () => {
    const harness = newRaft("a", ["a"]);
    harness.raft.campaign();
    drain(harness);
    harness.raft.proposeConfigChange({ type: "add-learner", node: "z" });
    harness.raft.propose(encoder.encode("after"));
    drain(harness);
    const again = new Raft({ id: "a" }, harness.storage, seededRandom(2));
    expect([again.term, again.vote, again.log.committed]).toEqual([2, "a", 4]);
    expect(again.configs.current()).toEqual(makeConfig(["a"], ["z"]));
    expect(again.log.applied).toBe(1); // the application replays from its snapshot
  });

  test("malformed or misaddressed messages are dropped and counted, never thrown", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    harness.raft.step({ type: "nonsense" } as unknown as Message);
    harness.raft.step(append("b", "z", 2, 1, 1, [], 1));
    harness.raft.step({ ...append("b", "a", 2, 1, 1, [], 1), prevIndex: -3 });
    expect(harness.raft.status().droppedMessages).toBe(3);
    expect(harness.raft.term).toBe(1);
  });
});

describe("flow control", () => {
  test("appends carry at most maxAppendBytes (one entry at least) and at most maxInflightAppends are in flight", () => {
    // Entries of 26 bytes: two fit in 60.
    const harness = newRaft("a", ["a", "b"], { maxAppendBytes: 60, maxInflightAppends: 2 });
    electLeader(harness);
    // b has not answered the probe yet, so proposals pile up.
    for (let i = 0; i < 10; i += 1) harness.raft.propose(encoder.encode(`p${i}`));
    expect(ofType(drain(harness), "append")).toHaveLength(0);
    harness.raft.step(ack("b", "a", 2, 2)); // b is caught up to the noop: replicate (pipelined)
    const appends = ofType(drain(harness), "append");
    expect(appends.map((m) => [m.prevIndex, m.entries.length])).toEqual([
      [2, 2],
      [4, 2],
    ]);
    harness.raft.step(ack("b", "a", 2, 4)); // frees one slot of the window
    const more = ofType(drain(harness), "append").filter((m) => m.entries.length > 0);
    expect(more.map((m) => [m.prevIndex, m.entries.length])).toEqual([[6, 2]]);
  });

  test("proposals beyond maxUncommittedBytes are refused until entries commit", () => {
    const harness = newRaft("a", ["a", "b", "c"], { maxUncommittedBytes: 100 });
    electLeader(harness);
    expect(harness.raft.propose(new Uint8Array(40)).ok).toBe(true);
    expect(harness.raft.propose(new Uint8Array(40))).toMatchObject({
      ok: false,
      reason: "uncommitted-limit",
    });
    drain(harness);
    harness.raft.step(ack("b", "a", 2, 3));
    drain(harness);
    expect(harness.raft.propose(new Uint8Array(40)).ok).toBe(true);
  });

  test("proposals are refused by followers, with the leader to redirect to", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    harness.raft.step(append("a", "b", 2, 1, 1, [], 1));
    expect(harness.raft.propose(encoder.encode("x"))).toEqual({
      ok: false,
      reason: "not-leader",
      leader: "a",
    });
  });
});

describe("transport reports", () => {
  test("an unreachable follower goes back to probing; a snapshot report ends the snapshot state", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    harness.raft.step(ack("b", "a", 2, 2));
    drain(harness);
    expect(harness.raft.status().progress?.b.state).toBe("replicate");
    harness.raft.reportUnreachable("b");
    expect(harness.raft.status().progress?.b.state).toBe("probe");
    const progress = harness.raft.progress.get("c");
    progress?.becomeSnapshot(7);
    harness.raft.reportSnapshot("c", false);
    expect([progress?.state, progress?.next, progress?.isPaused()]).toEqual(["probe", 1, true]);
  });

  test("a snapshot that is never acknowledged is offered again after snapshotRetryTicks", () => {
    const harness = newRaft("a", ["a", "b", "c"], { snapshotRetryTicks: 3 });
    electLeader(harness);
    harness.raft.step(ack("b", "a", 2, 2));
    harness.raft.step(ack("c", "a", 2, 2));
    const progress = harness.raft.progress.get("c");
    progress?.becomeSnapshot(2);
    for (let i = 0; i < 3; i += 1) harness.raft.tick();
    expect(progress?.state).toBe("probe");
  });
});

describe("leadership transfer", () => {
  test("a caught-up target is told to campaign now; proposals wait; the target skips PreVote and the lease", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    harness.raft.step(ack("b", "a", 2, 2));
    drain(harness);
    expect(harness.raft.transferLeadership("b")).toEqual({ ok: true });
    expect(ofType(drain(harness), "timeout-now").map((m) => m.to)).toEqual(["b"]);
    expect(harness.raft.propose(encoder.encode("x"))).toMatchObject({
      ok: false,
      reason: "transfer-in-progress",
    });

    const target = newRaft("b", ["a", "b", "c"]);
    target.raft.step(append("a", "b", 2, 1, 1, [{ index: 2, term: 2, kind: "noop" }], 1));
    drain(target);
    target.raft.step({ type: "timeout-now", from: "a", to: "b", term: 2 });
    const votes = ofType(drain(target), "vote");
    expect(target.raft.role).toBe("candidate");
    expect(votes.every((m) => m.transfer && m.term === 3)).toBe(true);
  });

  test("a lagging target is caught up first; an unfinished transfer is abandoned after an election timeout", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    expect(harness.raft.transferLeadership("c")).toEqual({ ok: true });
    expect(ofType(drain(harness), "timeout-now")).toHaveLength(0);
    harness.raft.step(ack("c", "a", 2, 2));
    expect(ofType(drain(harness), "timeout-now").map((m) => m.to)).toEqual(["c"]);
    harness.raft.step(ack("b", "a", 2, 2)); // keeps the quorum active
    for (let i = 0; i < 10; i += 1) harness.raft.tick();
    expect(harness.raft.leadTransferee).toBeNull();
    expect(harness.raft.propose(encoder.encode("x")).ok).toBe(true);
  });

  test("refused for a learner, an unknown node, a passive node, oneself, and by a follower", () => {
    const harness = newRaft("a", ["a", "b", "c"], { learners: ["l"] });
    expect(harness.raft.transferLeadership("b")).toEqual({ ok: false, reason: "not-leader" });
    electLeader(harness);
    harness.raft.step({ type: "heartbeat-response", from: "c", to: "a", term: 2, mode: "passive" });
    expect(harness.raft.transferLeadership("l")).toEqual({ ok: false, reason: "learner" });
    expect(harness.raft.transferLeadership("zz")).toEqual({ ok: false, reason: "unknown-node" });
    expect(harness.raft.transferLeadership("c")).toEqual({ ok: false, reason: "passive" });
    expect(harness.raft.transferLeadership("a")).toEqual({ ok: false, reason: "self" });
  });
});

describe("membership", () => {
  function leaderWithLearner() {
    const harness = newRaft("a", ["a", "b", "c"], { learners: ["l"] });
    electLeader(harness);
    harness.raft.step(ack("b", "a", 2, 2));
    drain(harness);
    return harness;
  }

  test("a learner never campaigns, and votes when asked", () => {
    const learner = newRaft("l", ["a", "b", "c"], { learners: ["l"] });
    for (let i = 0; i < 100; i += 1) learner.raft.tick();
    expect(learner.raft.role).toBe("follower");
    expect(drain(learner)).toEqual([]);
    learner.raft.step(voteRequest("a", "l", 2, 1, 1));
    expect(ofType(drain(learner), "vote-response")[0].reject).toBe(false);
  });

  test("learners receive the log but do not count for commit", () => {
    const harness = leaderWithLearner();
    harness.raft.step(ack("l", "a", 2, 2));
    drain(harness);
    harness.raft.propose(encoder.encode("x"));
    expect(ofType(drain(harness), "append").map((m) => m.to)).toContain("l");
    harness.raft.step(ack("l", "a", 2, 3));
    drain(harness);
    expect(harness.raft.log.committed).toBe(2);
  });

  test("promotion waits until the learner holds everything committed", () => {
    const harness = leaderWithLearner();
    expect(harness.raft.proposeConfigChange({ type: "add-voter", node: "l" })).toMatchObject({
      ok: false,
      reason: "learner-behind",
    });
    harness.raft.step(ack("l", "a", 2, 2));
    drain(harness);
    expect(harness.raft.proposeConfigChange({ type: "add-voter", node: "l" })).toMatchObject({
      ok: true,
      index: 3,
    });
    // On-append: the new configuration counts at once (4 voters: commit needs 3).
    expect(harness.raft.configs.current()).toEqual(makeConfig(["a", "b", "c", "l"], []));
    drain(harness);
    harness.raft.step(ack("b", "a", 2, 3));
    drain(harness);
    expect(harness.raft.log.committed).toBe(2);
    harness.raft.step(ack("l", "a", 2, 3));
    drain(harness);
    expect(harness.raft.log.committed).toBe(3);
  });

  test("one change at a time, and none before the leader has committed an entry of its term", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    expect(harness.raft.proposeConfigChange({ type: "add-learner", node: "d" })).toMatchObject({
      ok: false,
      reason: "term-not-committed",
    });
    harness.raft.step(ack("b", "a", 2, 2));
    drain(harness);
    expect(harness.raft.proposeConfigChange({ type: "add-learner", node: "d" }).ok).toBe(true);
    expect(harness.raft.proposeConfigChange({ type: "add-learner", node: "e" })).toMatchObject({
      ok: false,
      reason: "change-pending",
    });
    expect(harness.raft.proposeConfigChange({ type: "add-voter", node: "zz" })).toMatchObject({ ok: false });
  });

  test("a follower takes a configuration when it is appended and drops it when it is truncated", () => {
    const harness = newRaft("b", ["a", "b", "c"]);
    const config = makeConfig(["a", "b", "c"], ["d"]);
    const change = {
      index: 2,
      term: 2,
      kind: "config",
      change: { type: "add-learner", node: "d" },
      config,
    } as const;
    harness.raft.step(append("a", "b", 2, 1, 1, [change], 1));
    expect(harness.raft.configs.current()).toEqual(config);
    harness.raft.step(append("c", "b", 3, 1, 1, [normal(2, 3)], 1));
    expect(harness.raft.configs.current()).toEqual(makeConfig(["a", "b", "c"], []));
  });

  test("a removed leader keeps leading until its removal commits, then hands over and steps down", () => {
    const harness = newRaft("a", ["a", "b", "c"]);
    electLeader(harness);
    harness.raft.step(ack("b", "a", 2, 2));
    drain(harness);
    expect(harness.raft.proposeConfigChange({ type: "remove", node: "a" }).ok).toBe(true);
    expect(harness.raft.propose(encoder.encode("x"))).toMatchObject({ ok: false, reason: "leaving" });
    drain(harness);
    harness.raft.step(ack("b", "a", 2, 3));
    drain(harness);
    expect(harness.raft.role).toBe("leader"); // {b, c} must both hold it
    harness.raft.step(ack("c", "a", 2, 3));
    const messages = drain(harness);
    expect(harness.raft.role).toBe("follower");
    expect(ofType(messages, "timeout-now")).toHaveLength(1);
    for (let i = 0; i < 100; i += 1) harness.raft.tick();
    expect(harness.raft.role).toBe("follower"); // not a voter: never campaigns
  });
});

describe("modes", () => {
  test("a passive node never campaigns, and ignores timeout-now; switched to active, it campaigns", () => {
    const harness = newRaft("a", ["a", "b", "c"], { mode: "passive" });
    for (let i = 0; i < 200; i += 1) harness.raft.tick();
    harness.raft.step({ type: "timeout-now", from: "b", to: "a", term: 1 });
    expect(drain(harness)).toEqual([]);
    expect(harness.raft.role).toBe("follower");
    harness.raft.setMode("active");
    tickUntilCampaign(harness);
    expect(harness.raft.role).toBe("pre-candidate");
  });

  test("a reluctant node waits an extra election timeout before campaigning", () => {
    const active = newRaft("a", ["a", "b", "c"], { seed: 3 });
    const reluctant = newRaft("a", ["a", "b", "c"], { seed: 3, mode: "reluctant" });
    expect(reluctant.raft.randomizedElectionTimeout).toBe(active.raft.randomizedElectionTimeout + 10);
  });

  test("an active voter with a log as good refuses a reluctant candidate; a passive or behind one grants", () => {
    const active = newRaft("b", ["a", "b", "c"]);
    active.raft.step(voteRequest("a", "b", 2, 1, 1, { type: "pre-vote", mode: "reluctant" }));
    expect(ofType(drain(active), "pre-vote-response")[0].reject).toBe(true);
    active.raft.step(voteRequest("a", "b", 2, 1, 1, { type: "pre-vote", mode: "reluctant", transfer: true }));
    expect(ofType(drain(active), "pre-vote-response")[0].reject).toBe(false);
    active.raft.step(voteRequest("a", "b", 2, 5, 1, { type: "pre-vote", mode: "reluctant" })); // newer log
    expect(ofType(drain(active), "pre-vote-response")[0].reject).toBe(false);
    const passive = newRaft("c", ["a", "b", "c"], { mode: "passive" });
    passive.raft.step(voteRequest("a", "c", 2, 1, 1, { type: "pre-vote", mode: "reluctant" }));
    expect(ofType(drain(passive), "pre-vote-response")[0].reject).toBe(false);
  });

  test("a reluctant leader hands over to an active voter as soon as it holds everything committed", () => {
    const harness = newRaft("a", ["a", "b", "c"], { mode: "reluctant" });
    electLeader(harness);
    harness.raft.step({ ...ack("c", "a", 2, 2), mode: "passive" });
    drain(harness);
    expect(harness.raft.leadTransferee).toBeNull(); // a passive voter is no candidate
    harness.raft.step(ack("b", "a", 2, 2));
    expect(harness.raft.leadTransferee).toBe("b");
    expect(ofType(drain(harness), "timeout-now").map((m) => m.to)).toEqual(["b"]);
  });

  test("switching a candidate to passive ends its candidacy", () => {
    const harness = newRaft("a", ["a", "b", "c"], { preVote: false });
    tickUntilCampaign(harness);
    harness.raft.setMode("passive");
    expect(harness.raft.role).toBe("follower");
  });
});
