// Followers, pre-candidates and candidates: the election timer, and the receiving end of appends,
// heartbeats and snapshots.

import type { Raft } from "./raft.ts";
import type { AppendMessage, HeartbeatMessage, Message, SnapshotMessage } from "./types.ts";

export function tickElection(raft: Raft): void {
  raft.electionElapsed += 1;
  if (raft.promotable() && raft.electionElapsed >= raft.randomizedElectionTimeout) {
    raft.electionElapsed = 0;
    raft.hup(raft.config.preVote ? "pre-election" : "election");
  }
}

export function stepFollower(raft: Raft, message: Message): void {
  switch (message.type) {
    case "append":
      heardFromLeader(raft, message);
      handleAppend(raft, message);
      break;
    case "heartbeat":
      heardFromLeader(raft, message);
      handleHeartbeat(raft, message);
      break;
    case "snapshot":
      heardFromLeader(raft, message);
      handleSnapshot(raft, message);
      break;
    case "timeout-now":
      // Leadership transfer: campaign at once, skipping PreVote (the leader itself asked).
      raft.hup("transfer");
      break;
    default:
      break;
  }
}

/** Shared by pre-candidates and candidates; each counts only the answers to its own kind of request. */
export function stepCandidate(raft: Raft, message: Message): void {
  switch (message.type) {
    case "append":
    case "heartbeat":
    case "snapshot":
      // A leader of this term exists (terms are equal here): follow it.
      raft.becomeFollower(message.term, message.from);
      stepFollower(raft, message);
      break;
    case "pre-vote-response":
    case "vote-response": {
      const expected = raft.role === "pre-candidate" ? "pre-vote-response" : "vote-response";
      if (message.type !== expected) break;
      raft.votes.set(message.from, !message.reject);
      raft.tallyVotes();
      break;
    }
    default:
      break;
  }
}

function heardFromLeader(raft: Raft, message: Message): void {
  raft.electionElapsed = 0;
  raft.leader = message.from;
}

function handleAppend(raft: Raft, message: AppendMessage): void {
  const log = raft.log;
  const answer = { type: "append-response" as const, to: message.from, mode: raft.mode };
  if (message.prevIndex < log.committed) {
    // Everything up to our commit index is settled; tell the leader where we are.
    raft.send({ ...answer, index: log.committed, reject: false, rejectHint: 0, rejectTerm: 0 });
    return;
  }
  const result = log.maybeAppend(message.prevIndex, message.prevTerm, message.commit, message.entries);
  if (result !== undefined) {
    raft.logAppended(result.appended);
    raft.send({ ...answer, index: result.lastNewIndex, reject: false, rejectHint: 0, rejectTerm: 0 });
    return;
  }
  // Suggest where to resume: the last index whose term is not above the leader's prevTerm.
  const hint = log.findConflictByTerm(Math.min(message.prevIndex, log.lastIndex()), message.prevTerm);
  raft.send({
    ...answer,
    index: message.prevIndex,
    reject: true,
    rejectHint: hint.index,
    rejectTerm: hint.term,
  });
}

function handleHeartbeat(raft: Raft, message: HeartbeatMessage): void {
  // The leader sends at most our acknowledged match, which we hold; the clamp only guards a lost disk.
  raft.log.commitTo(Math.min(message.commit, raft.log.lastIndex()));
  raft.send({ type: "heartbeat-response", to: message.from, mode: raft.mode });
}

function handleSnapshot(raft: Raft, message: SnapshotMessage): void {
  const snapshot = message.snapshot;
  const answer = {
    type: "append-response" as const,
    to: message.from,
    reject: false,
    rejectHint: 0,
    rejectTerm: 0,
  };
  if (snapshot.index <= raft.log.committed) {
    raft.send({ ...answer, index: raft.log.committed, mode: raft.mode });
    return;
  }
  if (raft.log.matchTerm(snapshot.index, snapshot.term)) {
    // We hold the snapshot's last entry, hence (log matching) everything before it: just commit.
    raft.log.commitTo(snapshot.index);
    raft.send({ ...answer, index: raft.log.committed, mode: raft.mode });
    return;
  }
  raft.log.restore(snapshot);
  raft.configs.restore(snapshot);
  raft.send({ ...answer, index: raft.log.lastIndex(), mode: raft.mode });
}
