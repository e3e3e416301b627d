// The leader's side: replication (probe, pipelined replicate, snapshot), commit, heartbeats, CheckQuorum,
// leadership transfer and the hand-over of a reluctant or passive leader.

import { assert } from "./assert.ts";
import { isMember, isVoter } from "./membership.ts";
import { Progress } from "./progress.ts";
import { committedIndex, quorumActive } from "./quorum.ts";
import type { ProposeResult, Raft } from "./raft.ts";
import type { AppendResponseMessage, DistributiveOmit, Entry, Message, NodeId } from "./types.ts";
import { entriesBytes, entryBytes } from "./types.ts";

export type TransferRefusal = "not-leader" | "self" | "unknown-node" | "learner" | "passive";
export type TransferResult = { ok: true } | { ok: false; reason: TransferRefusal };

export function stepLeader(raft: Raft, message: Message): void {
  const progress = raft.progress.get(message.from);
  if (progress === undefined) return; // not (or no longer) a member
  switch (message.type) {
    case "append-response":
      handleAppendResponse(raft, message, progress);
      break;
    case "heartbeat-response":
      progress.recentActive = true;
      progress.mode = message.mode;
      progress.paused = false;
      // Also unsticks a follower whose appends were all lost (its window filled up).
      if (progress.match < raft.log.lastIndex() || progress.state === "probe") sendAppend(raft, message.from);
      maybeHandOver(raft);
      break;
    default:
      // Appends or votes of this term from anyone else cannot exist; stale answers need nothing.
      break;
  }
}

function handleAppendResponse(raft: Raft, message: AppendResponseMessage, progress: Progress): void {
  progress.recentActive = true;
  progress.mode = message.mode;
  if (message.reject) {
    let nextProbe = message.rejectHint;
    if (message.rejectTerm > 0) {
      // Skip every index where our term is above the follower's: none of them can match.
      nextProbe = raft.log.findConflictByTerm(message.rejectHint, message.rejectTerm).index;
    }
    if (progress.maybeDecreaseTo(message.index, nextProbe)) {
      if (progress.state === "replicate") progress.becomeProbe();
      sendAppend(raft, message.from);
    }
    return;
  }
  const wasProbing = progress.state === "probe" && progress.match === message.index;
  if (!progress.maybeUpdate(message.index) && !wasProbing) return;
  if (progress.state === "probe") {
    progress.becomeReplicate();
  } else if (progress.state === "snapshot" && progress.match + 1 >= raft.log.firstIndex()) {
    progress.becomeProbe();
    progress.becomeReplicate();
  } else if (progress.state === "replicate") {
    progress.inflights.freeLE(message.index);
  }
  if (maybeCommit(raft)) {
    if (raft.role !== "leader") return; // stepped down: its own removal committed
    bcastAppend(raft);
  }
  // The window may have room again: keep the pipeline full.
  while (sendAppend(raft, message.from, false)) {}
  if (message.from === raft.leadTransferee && progress.match === raft.log.lastIndex()) {
    raft.send({ type: "timeout-now", to: message.from });
  }
  maybeHandOver(raft);
}

export function tickHeartbeat(raft: Raft): void {
  raft.heartbeatElapsed += 1;
  raft.electionElapsed += 1;
  if (raft.electionElapsed >= raft.config.electionTicks) {
    raft.electionElapsed = 0;
    if (raft.config.checkQuorum && !checkQuorum(raft)) {
      raft.becomeFollower(raft.term, null);
      return;
    }
    // A transfer that has not finished within an election timeout has failed: lead on.
    raft.abortLeaderTransfer();
  }
  retrySnapshots(raft);
  if (raft.heartbeatElapsed >= raft.config.heartbeatTicks) {
    raft.heartbeatElapsed = 0;
    bcastHeartbeat(raft);
  }
  maybeHandOver(raft);
}

/** True when a majority of voters was heard from this round; starts the next round. */
function checkQuorum(raft: Raft): boolean {
  const voters = raft.configs.current().voters;
  const active = quorumActive(voters, (id) => id === raft.id || raft.progress.get(id)?.recentActive === true);
  for (const [id, progress] of raft.progress) if (id !== raft.id) progress.recentActive = false;
  return active;
}

function retrySnapshots(raft: Raft): void {
  for (const progress of raft.progress.values()) {
    if (progress.state !== "snapshot") continue;
    progress.snapshotTicks += 1;
    if (progress.snapshotTicks < raft.config.snapshotRetryTicks) continue;
    // Lost on the way (or never installed): probe again, which sends a fresh snapshot if still needed.
    progress.pendingSnapshot = 0;
    progress.becomeProbe();
  }
}

/** Appends an entry of this term to the leader's log and starts replicating it. */
export function proposeEntry(raft: Raft, body: DistributiveOmit<Entry, "index" | "term">): ProposeResult {
  const entry = { ...body, index: raft.log.lastIndex() + 1, term: raft.term } as Entry;
  const bytes = entryBytes(entry);
  if (
    entry.kind === "normal" &&
    raft.uncommittedBytes > 0 &&
    raft.uncommittedBytes + bytes > raft.config.maxUncommittedBytes
  ) {
    return { ok: false, reason: "uncommitted-limit", leader: raft.leader };
  }
  raft.log.append([entry]);
  raft.uncommitted.push({ index: entry.index, bytes });
  raft.uncommittedBytes += bytes;
  raft.logAppended([entry]);
  if (raft.role === "leader") bcastAppend(raft);
  return { ok: true, index: entry.index, term: entry.term };
}

/**
 * Commits the highest index a majority of voters holds, but only if it is of this term: an entry of an
 * earlier term may still be overwritten even when a majority holds it (§5.4.2, Figure 8). Committing it
 * anyway was pyraftlog 2.x's second bug. True when the commit index moved.
 */
export function maybeCommit(raft: Raft): boolean {
  const voters = raft.configs.current().voters;
  const index = committedIndex(voters, (id) => raft.progress.get(id)?.match ?? 0);
  if (index <= raft.log.committed || raft.log.term(index) !== raft.term) return false;
  raft.log.commitTo(index);
  releaseUncommitted(raft);
  if (!isVoter(raft.configs.current(), raft.id) && raft.configs.currentIndex() <= index)
    stepDownRemoved(raft);
  return true;
}

function releaseUncommitted(raft: Raft): void {
  let released = 0;
  while (released < raft.uncommitted.length && raft.uncommitted[released].index <= raft.log.committed) {
    raft.uncommittedBytes -= raft.uncommitted[released].bytes;
    released += 1;
  }
  if (released > 0) raft.uncommitted.splice(0, released);
}

/**
 * The change that removed (or demoted) this leader has committed: hand over to the most caught-up voter
 * so the cluster needs no election timeout, then follow.
 */
function stepDownRemoved(raft: Raft): void {
  let best: NodeId | null = null;
  let bestMatch = -1;
  for (const id of raft.configs.current().voters) {
    const progress = raft.progress.get(id);
    if (progress !== undefined && progress.match > bestMatch) {
      best = id;
      bestMatch = progress.match;
    }
  }
  if (best !== null && bestMatch === raft.log.lastIndex()) raft.send({ type: "timeout-now", to: best });
  raft.becomeFollower(raft.term, null);
}

/** Makes the progress map follow the current configuration (after an election or a change). */
export function syncProgress(raft: Raft): void {
  const config = raft.configs.current();
  for (const id of [...config.voters, ...config.learners, raft.id]) {
    const existing = raft.progress.get(id);
    if (existing !== undefined) {
      existing.isLearner = config.learners.includes(id);
      continue;
    }
    const { maxInflightAppends, maxInflightBytes } = raft.config;
    const progress = new Progress(
      raft.log.lastIndex() + 1,
      config.learners.includes(id),
      maxInflightAppends,
      maxInflightBytes,
    );
    raft.progress.set(id, progress);
  }
  for (const id of [...raft.progress.keys()]) {
    if (id !== raft.id && !isMember(config, id)) raft.progress.delete(id);
  }
  if (raft.leadTransferee !== null && !isVoter(config, raft.leadTransferee)) raft.abortLeaderTransfer();
}

/**
 * Sends `to` what it lacks: entries from its next index (within maxAppendBytes and the inflight window),
 * or the snapshot when those entries were compacted. True when a message went out.
 */
export function sendAppend(raft: Raft, to: NodeId, sendIfEmpty = true): boolean {
  const progress = raft.progress.get(to);
  if (progress === undefined || progress.isPaused()) return false;
  const prevIndex = progress.next - 1;
  const prevTerm = raft.log.term(prevIndex);
  if (prevTerm === undefined) return sendSnapshot(raft, to, progress);
  const entries =
    progress.state === "replicate" && progress.inflights.isFull()
      ? []
      : raft.log.entriesFrom(progress.next, raft.config.maxAppendBytes);
  if (entries.length === 0 && !sendIfEmpty) return false;
  raft.send({ type: "append", to, prevIndex, prevTerm, entries, commit: raft.log.committed });
  progress.sentEntries(entries.length, entriesBytes(entries));
  return true;
}

function sendSnapshot(raft: Raft, to: NodeId, progress: Progress): boolean {
  // A node that does not answer would only get the (large) snapshot again and again.
  if (!progress.recentActive) return false;
  const snapshot = raft.log.snapshot();
  assert(snapshot.index > 0, "entries were compacted, so a snapshot covers them");
  progress.becomeSnapshot(snapshot.index);
  raft.send({ type: "snapshot", to, snapshot });
  return true;
}

export function bcastAppend(raft: Raft): void {
  for (const id of raft.progress.keys()) if (id !== raft.id) sendAppend(raft, id);
}

function bcastHeartbeat(raft: Raft): void {
  for (const [id, progress] of raft.progress) {
    if (id === raft.id) continue;
    // Never more than the follower is known to hold: its log past `match` may still differ from ours.
    raft.send({ type: "heartbeat", to: id, commit: Math.min(progress.match, raft.log.committed) });
  }
}

export function transferLeadership(raft: Raft, target: NodeId): TransferResult {
  if (raft.role !== "leader") return { ok: false, reason: "not-leader" };
  if (target === raft.id) return { ok: false, reason: "self" };
  const progress = raft.progress.get(target);
  if (progress === undefined) return { ok: false, reason: "unknown-node" };
  if (progress.isLearner) return { ok: false, reason: "learner" };
  if (progress.mode === "passive") return { ok: false, reason: "passive" };
  if (raft.leadTransferee === target) return { ok: true };
  // Proposals wait (refused) while the target catches up; the transfer gives up after an election timeout.
  raft.electionElapsed = 0;
  raft.leadTransferee = target;
  if (progress.match === raft.log.lastIndex()) raft.send({ type: "timeout-now", to: target });
  else sendAppend(raft, target);
  return { ok: true };
}

/**
 * A reluctant or passive leader leads only until someone better is ready: an active voter (for a passive
 * leader, a reluctant one will do too) that is heard from and holds everything committed. It then hands
 * over by leadership transfer, so the cluster is never without a leader in between.
 */
export function maybeHandOver(raft: Raft): void {
  if (raft.role !== "leader" || raft.mode === "active" || raft.leadTransferee !== null) return;
  let best: NodeId | null = null;
  let bestRank = -1;
  let bestMatch = -1;
  for (const id of raft.configs.current().voters) {
    const progress = raft.progress.get(id);
    if (id === raft.id || progress === undefined || !progress.recentActive) continue;
    if (progress.match < raft.log.committed) continue;
    const rank =
      progress.mode === "active" ? 2 : progress.mode === "reluctant" && raft.mode === "passive" ? 1 : 0;
    if (rank === 0) continue;
    if (rank > bestRank || (rank === bestRank && progress.match > bestMatch)) {
      best = id;
      bestRank = rank;
      bestMatch = progress.match;
    }
  }
  if (best !== null) transferLeadership(raft, best);
}
