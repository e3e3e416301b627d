// The Raft state machine: a pure core in the etcd-raft manner. No sockets, no timers, no clock and no
// ambient randomness: messages come in through `step`, time through `tick`, and everything the node wants
// done (persist, send, apply) comes out through `ready` / `advance` (see ready.ts for the order).
//
// `step` handles what every role shares once (terms, the leader lease, votes), then hands the message to
// the role's handler (leader.ts, follower.ts), so there is no ladder of `if (role)` here.

import { assert } from "./assert.ts";
import type { RaftConfig } from "./config.ts";
import { validateRaftConfig } from "./config.ts";
import { stepCandidate, stepFollower, tickElection } from "./follower.ts";
import {
  bcastAppend,
  maybeCommit,
  proposeEntry,
  stepLeader,
  syncProgress,
  type TransferResult,
  tickHeartbeat,
  transferLeadership,
} from "./leader.ts";
import { RaftLog } from "./log.ts";
import type { ChangeRefusal } from "./membership.ts";
import { applyChange, ConfigHistory, isLearner, isVoter, sameConfig } from "./membership.ts";
import type { Progress, ProgressState } from "./progress.ts";
import { voteResult } from "./quorum.ts";
import type { Random } from "./random.ts";
import { randomInt } from "./random.ts";
import type { Ready, SoftState } from "./ready.ts";
import { mustSync, sameHardState, sameSoftState } from "./ready.ts";
import type { Storage } from "./storage.ts";
import type {
  ConfigChange,
  ConfigState,
  Entry,
  HardState,
  Message,
  Mode,
  NodeId,
  OutgoingMessage,
  Role,
  VoteMessage,
} from "./types.ts";
import { checkMessage } from "./validate.ts";

export type ProposeRefusal =
  | "not-leader"
  | "transfer-in-progress"
  | "uncommitted-limit"
  | "leaving"
  | "change-pending"
  | "term-not-committed"
  | "learner-behind"
  | ChangeRefusal;

/** Accepted: the entry is at (index, term); it took effect if the entry applied at `index` has that term. */
export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: ProposeRefusal; leader: NodeId | null };

export type { TransferResult } from "./leader.ts";

export type CampaignKind = "pre-election" | "election" | "transfer";

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  paused: boolean;
  inflight: number;
  mode: Mode | undefined;
  isLearner: boolean;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  mode: Mode;
  /** Membership in this node's current configuration. */
  membership: "voter" | "learner" | "none";
  term: number;
  vote: NodeId | null;
  leader: NodeId | null;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  config: ConfigState;
  leadTransferee: NodeId | null;
  /** Messages dropped by `step` because they were malformed. */
  droppedMessages: number;
  /** Per member, on the leader only. */
  progress: Record<NodeId, ProgressStatus> | undefined;
}

type StepHandler = (raft: Raft, message: Message) => void;
type TickHandler = (raft: Raft) => void;

export class Raft {
  readonly id: NodeId;
  readonly config: Readonly<RaftConfig>;
  /** Internal state below is read by the role handlers and the tests; change it only through methods. */
  readonly log: RaftLog;
  readonly configs: ConfigHistory;
  term = 0;
  vote: NodeId | null = null;
  leader: NodeId | null = null;
  role: Role = "follower";
  mode: Mode;
  progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  leadTransferee: NodeId | null = null;
  /** Leader: bytes of this term's proposals not yet committed, oldest first. */
  readonly uncommitted: { index: number; bytes: number }[] = [];
  uncommittedBytes = 0;
  messages: Message[] = [];
  droppedMessages = 0;
  private stepRole: StepHandler = stepFollower;
  private tickRole: TickHandler = tickElection;
  private previousHardState: HardState;
  private previousSoftState: SoftState = { leader: null, role: "follower" };
  private readyOutstanding = false;

  constructor(
    config: Partial<RaftConfig> & { id: NodeId },
    storage: Storage,
    private readonly random: Random,
  ) {
    this.config = validateRaftConfig(config);
    this.id = this.config.id;
    this.mode = this.config.mode;
    this.log = new RaftLog(storage, this.config.applied);
    const snapshot = storage.snapshot();
    this.configs = new ConfigHistory({ index: snapshot.index, config: snapshot.config });
    // On-append membership: the configuration is the last one anywhere in the stored log.
    // (Entries kept from before the snapshot are covered by the snapshot's configuration.)
    for (let low = snapshot.index + 1, last = storage.lastIndex(); low <= last; ) {
      const page = storage.entries(low, last + 1, this.config.maxApplyBytes);
      this.configs.append(page);
      low += page.length;
    }
    const hardState = storage.hardState();
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.previousHardState = { term: hardState.term, vote: hardState.vote, commit: this.log.committed };
    this.becomeFollower(this.term, null);
  }

  // ---- inputs -------------------------------------------------------------------------------------

  /** Feeds one message from a peer. Malformed or misaddressed messages are dropped (and counted). */
  step(message: Message): void {
    if (checkMessage(message) !== null || message.to !== this.id || message.from === this.id) {
      this.droppedMessages += 1;
      return;
    }
    if (message.term > this.term) {
      if (!this.acceptHigherTerm(message)) return;
    } else if (message.term < this.term) {
      this.answerLowerTerm(message);
      return;
    }
    if (message.type === "vote" || message.type === "pre-vote") {
      this.handleVoteRequest(message);
      return;
    }
    this.stepRole(this, message);
  }

  /** Advances logical time by one tick (election timeout, heartbeats, CheckQuorum). */
  tick(): void {
    this.tickRole(this);
  }

  /** Proposes a command; only the leader accepts (answer `leader` to redirect the client). */
  propose(data: Uint8Array): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal !== undefined) return refusal;
    return proposeEntry(this, { kind: "normal", data });
  }

  /**
   * Proposes one membership change. Refused while another change is uncommitted, before this leader has
   * committed an entry of its own term, and for promoting a learner that has not caught up.
   */
  proposeConfigChange(change: ConfigChange): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal !== undefined) return refusal;
    if (this.configs.currentIndex() > this.log.committed) return this.refused("change-pending");
    if (this.log.term(this.log.committed) !== this.term) return this.refused("term-not-committed");
    const result = applyChange(this.configs.current(), change);
    if (!result.ok) return this.refused(result.reason);
    if (change.type === "add-voter") {
      const progress = this.progress.get(change.node);
      if (progress === undefined || progress.match < this.log.committed)
        return this.refused("learner-behind");
    }
    return proposeEntry(this, { kind: "config", change, config: result.config });
  }

  /** Hands leadership to `target` (leader only): catch it up, then tell it to campaign at once. */
  transferLeadership(target: NodeId): TransferResult {
    return transferLeadership(this, target);
  }

  /** Starts an election now (as if the election timeout passed), if this node may campaign. */
  campaign(): void {
    this.hup(this.config.preVote ? "pre-election" : "election");
  }

  /** Switches the local candidacy policy. A passive node stops campaigning at once. */
  setMode(mode: Mode): void {
    assert(mode === "active" || mode === "reluctant" || mode === "passive", `unknown mode ${String(mode)}`);
    if (mode === this.mode) return;
    this.mode = mode;
    this.resetRandomizedElectionTimeout();
    if (mode === "passive" && (this.role === "candidate" || this.role === "pre-candidate")) {
      this.becomeFollower(this.term, null);
    }
  }

  /** The transport could not reach `id`: stop pipelining to it (appends are probably lost). */
  reportUnreachable(id: NodeId): void {
    const progress = this.role === "leader" ? this.progress.get(id) : undefined;
    if (progress?.state === "replicate") progress.becomeProbe();
  }

  /** The transport delivered (or failed to deliver) the snapshot sent to `id`. */
  reportSnapshot(id: NodeId, delivered: boolean): void {
    const progress = this.role === "leader" ? this.progress.get(id) : undefined;
    if (progress?.state !== "snapshot") return;
    if (!delivered) progress.pendingSnapshot = 0;
    progress.becomeProbe();
    // Wait for the follower's answer (or the next heartbeat's) before sending again.
    progress.paused = true;
  }

  // ---- effects (ready.ts) -------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    return (
      this.messages.length > 0 ||
      this.log.unstable.snapshot !== undefined ||
      this.log.unstable.entries.length > 0 ||
      this.log.hasNextCommittedEntries() ||
      !sameSoftState(this.softState(), this.previousSoftState) ||
      !sameHardState(this.hardState(), this.previousHardState)
    );
  }

  /** The next batch to persist, send and apply. Call `advance(ready)` when done, before the next `ready()`. */
  ready(): Ready {
    assert(!this.readyOutstanding, "advance() the previous Ready before asking for another");
    const softState = this.softState();
    const hardState = this.hardState();
    const snapshot = this.log.unstable.snapshot;
    const entries = this.log.unstableEntries();
    const committedEntries = this.log.nextCommittedEntries(this.config.maxApplyBytes);
    const ready: Ready = {
      ...(sameSoftState(softState, this.previousSoftState) ? {} : { softState }),
      ...(sameHardState(hardState, this.previousHardState) ? {} : { hardState }),
      ...(snapshot === undefined ? {} : { snapshot }),
      entries,
      committedEntries,
      messages: this.messages,
      mustSync: mustSync(this.previousHardState, hardState, entries.length, snapshot !== undefined),
    };
    this.messages = [];
    this.previousSoftState = softState;
    this.previousHardState = hardState;
    if (committedEntries.length > 0) this.log.applying = committedEntries[committedEntries.length - 1].index;
    this.readyOutstanding = true;
    return ready;
  }

  /** The application has persisted, sent and applied `ready`. */
  advance(ready: Ready): void {
    assert(this.readyOutstanding, "advance() without an outstanding Ready");
    this.readyOutstanding = false;
    if (ready.snapshot !== undefined) {
      this.log.stableSnapshotTo(ready.snapshot.index);
      this.log.snapshotApplied(ready.snapshot.index);
    }
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1];
      this.log.stableTo(last.index, last.term);
    }
    if (ready.committedEntries.length > 0) {
      this.log.appliedTo(ready.committedEntries[ready.committedEntries.length - 1].index);
      this.configs.forgetUpTo(this.log.applied);
    }
    if (this.role === "leader") {
      // The leader counts its own entries only once they are on its disk.
      const self = this.progress.get(this.id);
      if (self?.maybeUpdate(this.log.lastStableIndex()) && maybeCommit(this) && this.role === "leader") {
        bcastAppend(this);
      }
    }
  }

  // ---- queries ------------------------------------------------------------------------------------

  /** The membership in force at `index` (for a snapshot taken at an applied index). */
  configAt(index: number): ConfigState {
    return this.configs.configAt(index);
  }

  status(): RaftStatus {
    const config = this.configs.current();
    let progress: Record<NodeId, ProgressStatus> | undefined;
    if (this.role === "leader") {
      progress = {};
      for (const [id, pr] of this.progress) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          paused: pr.isPaused(),
          inflight: pr.inflights.size(),
          mode: id === this.id ? this.mode : pr.mode,
          isLearner: pr.isLearner,
        };
      }
    }
    return {
      id: this.id,
      role: this.role,
      mode: this.mode,
      membership: isVoter(config, this.id) ? "voter" : isLearner(config, this.id) ? "learner" : "none",
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      config,
      leadTransferee: this.leadTransferee,
      droppedMessages: this.droppedMessages,
      progress,
    };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.leader, role: this.role };
  }

  // ---- transitions (used by the role handlers) -----------------------------------------------------

  becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.stepRole = stepFollower;
    this.tickRole = tickElection;
    this.leader = leader;
    this.role = "follower";
  }

  becomePreCandidate(): void {
    assert(this.role !== "leader", "a leader does not become a pre-candidate");
    // A dry run: neither the term nor the vote changes, so a failed PreVote disturbs nobody.
    this.stepRole = stepCandidate;
    this.tickRole = tickElection;
    this.votes.clear();
    this.leader = null;
    this.role = "pre-candidate";
  }

  becomeCandidate(): void {
    assert(this.role !== "leader", "a leader does not become a candidate");
    this.reset(this.term + 1);
    this.stepRole = stepCandidate;
    this.tickRole = tickElection;
    this.vote = this.id;
    this.role = "candidate";
  }

  becomeLeader(): void {
    assert(this.role === "candidate", "only a candidate becomes leader");
    this.reset(this.term);
    this.stepRole = stepLeader;
    this.tickRole = tickHeartbeat;
    this.leader = this.id;
    this.role = "leader";
    syncProgress(this);
    const self = this.progress.get(this.id);
    assert(self !== undefined, "a leader tracks its own progress");
    self.match = this.log.lastStableIndex();
    self.becomeReplicate();
    self.recentActive = true;
    // Entries of earlier terms commit only together with one of this term (§5.4.2, Figure 8).
    proposeEntry(this, { kind: "noop" });
  }

  /** May this node start an election? Voters only, never while passive or installing a snapshot. */
  promotable(): boolean {
    return (
      this.mode !== "passive" &&
      isVoter(this.configs.current(), this.id) &&
      this.log.unstable.snapshot === undefined
    );
  }

  hup(kind: CampaignKind): void {
    if (this.role === "leader" || !this.promotable()) return;
    this.campaignAs(kind);
  }

  private campaignAs(kind: CampaignKind): void {
    let term: number;
    let type: "pre-vote" | "vote";
    if (kind === "pre-election") {
      this.becomePreCandidate();
      type = "pre-vote";
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = "vote";
      term = this.term;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    const voters = this.configs.current().voters;
    this.votes.set(this.id, true);
    for (const to of voters) {
      if (to === this.id) continue;
      this.send({ type, to, term, lastIndex, lastTerm, transfer: kind === "transfer", mode: this.mode });
    }
    this.tallyVotes();
  }

  /** Counts the votes of the current configuration's voters; acts once the election is decided. */
  tallyVotes(): void {
    const result = voteResult(this.configs.current().voters, this.votes);
    if (result === "won") {
      if (this.role === "pre-candidate") {
        this.campaignAs("election");
      } else {
        this.becomeLeader();
        bcastAppend(this);
      }
    } else if (result === "lost") {
      this.becomeFollower(this.term, null);
    }
  }

  send(message: OutgoingMessage): void {
    this.messages.push({ ...message, from: this.id, term: message.term ?? this.term } as Message);
  }

  /**
   * After entries were written to the log: track the configurations they carry. `truncatedFrom` is the
   * first index written (everything from it on was replaced).
   */
  logAppended(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const before = this.configs.current();
    this.configs.truncateFrom(entries[0].index);
    this.configs.append(entries);
    if (this.role !== "leader" || sameConfig(before, this.configs.current())) return;
    syncProgress(this);
    // A smaller voter set may commit at once (e.g. after removing a lagging voter); the caller broadcasts.
    maybeCommit(this);
  }

  resetRandomizedElectionTimeout(): void {
    const base = this.config.electionTicks;
    // A reluctant node waits one more election timeout, so active nodes get the first chance.
    const extra = this.mode === "reluctant" ? base : 0;
    this.randomizedElectionTimeout = base + extra + randomInt(this.random, 0, base);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = null;
  }

  // ---- private ------------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.votes.clear();
    this.progress = new Map();
    this.uncommitted.length = 0;
    this.uncommittedBytes = 0;
  }

  /** A message from a later term. False when it is to be ignored (a vote request inside the lease). */
  private acceptHigherTerm(message: Message): boolean {
    if (message.type === "vote" || message.type === "pre-vote") {
      // The leader lease (with CheckQuorum): while we hear from a leader, a vote request is a disruption
      // by a node that lost touch (a removed or partitioned one), not a sign that the leader is gone.
      const inLease =
        this.config.checkQuorum && this.leader !== null && this.electionElapsed < this.config.electionTicks;
      if (inLease && !message.transfer) return false;
    }
    if (message.type === "pre-vote") return true; // a PreVote never changes our term
    if (message.type === "pre-vote-response" && !message.reject) return true; // our own future term
    const fromLeader =
      message.type === "append" || message.type === "heartbeat" || message.type === "snapshot";
    const elapsed = this.electionElapsed;
    this.becomeFollower(message.term, fromLeader ? message.from : null);
    // As the paper has it, only a leader or a granted vote resets the election timer, not a mere higher
    // term: a node that keeps losing (stale log) must not hold back everyone's timeout, or a reluctant
    // node (whose timeout is longer) would never get its turn.
    if (message.type === "vote") this.electionElapsed = elapsed;
    return true;
  }

  private answerLowerTerm(message: Message): void {
    if (
      (this.config.checkQuorum || this.config.preVote) &&
      (message.type === "append" || message.type === "heartbeat")
    ) {
      // A stale leader (e.g. back from a partition) learns our term from this and steps down; without it,
      // a node whose term ran ahead could never rejoin, since we ignore its votes during our lease.
      this.send({
        type: "append-response",
        to: message.from,
        index: 0,
        reject: false,
        rejectHint: 0,
        rejectTerm: 0,
        mode: this.mode,
      });
    } else if (message.type === "pre-vote") {
      this.send({ type: "pre-vote-response", to: message.from, reject: true });
    }
  }

  private handleVoteRequest(message: VoteMessage): void {
    const canVote =
      this.vote === message.from ||
      (this.vote === null && this.leader === null) ||
      (message.type === "pre-vote" && message.term > this.term);
    // §5.4.1: by (last term, last index). Comparing indexes alone (pyraftlog 2.x) elects stale logs.
    const upToDate = this.log.isUpToDate(message.lastIndex, message.lastTerm);
    const responseType = message.type === "vote" ? "vote-response" : "pre-vote-response";
    if (canVote && upToDate && !this.reluctanceBlocks(message)) {
      // Answer with the request's term: a pre-candidate ignores answers from other terms.
      this.send({ type: responseType, to: message.from, term: message.term, reject: false });
      if (message.type === "vote") {
        this.electionElapsed = 0;
        this.vote = message.from;
      }
    } else {
      this.send({ type: responseType, to: message.from, reject: true });
    }
  }

  /**
   * Reluctant candidacy: an active voter refuses a reluctant candidate whose log is no newer than its own,
   * because it can lead itself (and will, at its own timeout). Refusing a vote is always safe; this only
   * decides who leads. A leadership transfer overrides it.
   */
  private reluctanceBlocks(message: VoteMessage): boolean {
    if (message.transfer || message.mode !== "reluctant" || this.mode !== "active" || !this.promotable())
      return false;
    const lastTerm = this.log.lastTerm();
    const candidateNewer =
      message.lastTerm > lastTerm ||
      (message.lastTerm === lastTerm && message.lastIndex > this.log.lastIndex());
    return !candidateNewer;
  }

  private refuseProposal(): ProposeResult | undefined {
    if (this.role !== "leader") return this.refused("not-leader");
    if (this.leadTransferee !== null) return this.refused("transfer-in-progress");
    if (!isVoter(this.configs.current(), this.id)) return this.refused("leaving");
    return undefined;
  }

  private refused(reason: ProposeRefusal): ProposeResult {
    return { ok: false, reason, leader: this.leader };
  }
}
