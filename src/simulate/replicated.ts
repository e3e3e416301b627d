// Replicated orchestrators in the simulation (docs/simulate.md, "Replicated orchestrators"): each
// node is the REAL Raft core (src/raft, unmodified) on a MemoryStorage, ticked in virtual time,
// folding the committed journal records into the REAL job book (ReplicatedBook), as
// src/orchestrator/replicated/node.ts does. The Ready contract is performed in its documented order;
// a batch that must reach the disk (mustSync) takes `fsyncMs` before its messages go and its
// committed entries apply, so a crash in that window loses what it held, as a real one would.
// The simulation (simulation.ts) carries the messages over its links and runs the router of the
// node that serves.

import type { JournalRecord } from "../journal/index.ts";
import { encodeRecord } from "../journal/index.ts";
import { encodeBatch, type JobRouter, ReplicatedBook } from "../orchestrator/index.ts";
// ReplicatedBook is not exported by src/orchestrator/index.ts (the replicated node is its only user
// there); it is pure apart from its log callback, so the simulator takes it as it is.
import {
  type Entry,
  MemoryStorage,
  type Message,
  type Mode,
  makeConfig,
  type NodeId,
  type ProposeResult,
  Raft,
  type Ready,
} from "../raft/index.ts";
import { type Percentiles, percentiles } from "./metrics.ts";
import type { Random } from "./random.ts";

/** What a run with several orchestrators adds to the result (docs/simulate.md). */
export interface ReplicatedResult {
  nodes: Array<{
    id: string;
    host: string;
    mode: Mode;
    up: boolean;
    role: string;
    term: number;
    commit: number;
    applied: number;
    leaderships: number;
    /** Jobs in its book at the end (what a new leader would start from). */
    book: { unfinished: number; finished: number };
  }>;
  /** Each leadership that served: from when (its term's first entry applied) to when (null: the end). */
  leaderships: Array<{ node: string; term: number; fromMs: number; toMs: number | null; ended?: string }>;
  failovers: Failover[];
  /** Raft messages delivered between the nodes. */
  raftMessages: number;
  /** Entries the leaders proposed (one per group commit). */
  proposals: number;
  /** Requests clients sent again (after a lost connection, or DSAT_ERR_NOT_LEADER). */
  resent: number;
  /** Answers DSAT_ERR_NOT_LEADER (a deposed leader's refusals: never passed on to the caller). */
  notLeader: number;
  /**
   * Jobs the satellites ran (done or failed); above the answers when a job ran again under the new
   * leader (at-least-once execution: it was running for the old one when it died).
   */
  executions: number;
}

/** One `kill-leader`: how long until the set answered again, and the latency around it. */
export interface Failover {
  atMs: number;
  killed: string;
  /** Requests clients were waiting on when it died. */
  inFlight: number;
  /** When a new leader was elected, which, when it served (its term's first entry applied). */
  electedAtMs: number | null;
  leader: string | null;
  servingAtMs: number | null;
  /** The first answer a client got from the new leader; failoverMs = that - atMs. */
  firstAnswerAtMs: number | null;
  failoverMs: number | null;
  /** Latency (ms) of the answers in the windowMs before the kill, and in the windowMs after it. */
  windowMs: number;
  latencyBeforeMs: Percentiles;
  latencyAfterMs: Percentiles;
}

/** The latency around a leader kill: answers in this window before it, and after it. */
export const FAILOVER_WINDOW_MS = 5000;

/** A failover before it happens: its latency window before the kill fills as answers come. */
export function emptyFailover(atMs: number): Failover {
  return {
    atMs,
    killed: "",
    inFlight: 0,
    electedAtMs: null,
    leader: null,
    servingAtMs: null,
    firstAnswerAtMs: null,
    failoverMs: null,
    windowMs: FAILOVER_WINDOW_MS,
    latencyBeforeMs: percentiles([]),
    latencyAfterMs: percentiles([]),
  };
}

/** What a node needs from the simulation around it. */
export interface NodeHooks {
  /** Runs `action` `ms` of virtual time from now. */
  after(ms: number, action: () => void): void;
  /** A Raft message onto the simulated network. */
  send(from: SimOrchestratorNode, message: Message): void;
  /** A committed entry was applied here (after the book folded it). */
  applied(node: SimOrchestratorNode, entry: Entry): void;
  /** A Ready was performed: the role, the term or what is applied may have changed. */
  changed(node: SimOrchestratorNode): void;
  /** The node's disk finished a write: what waited to be proposed may go (one entry, not many). */
  diskFree(node: SimOrchestratorNode): void;
  /** Every tick of a live node (the book's expiry, as the real node's reconcile loop). */
  ticked(node: SimOrchestratorNode): void;
}

/** One leadership's router (or the single orchestrator's, for the whole run). */
export interface Session {
  router: JobRouter;
  /** The node it runs on (null: the single orchestrator). */
  node: SimOrchestratorNode | null;
  journal: SimReplicatedJournal | null;
  term: number;
  /** Serving: peers' messages reach it and it steps; false once its node died or stopped leading. */
  live: boolean;
  startedAtMs: number;
}

export interface NodeTiming {
  tickMs: number;
  electionTicks: number;
  /** How long a batch that must be synced takes to reach the disk. */
  fsyncMs: number;
}

/** One orchestrator node: its disk (kept across kills), and while up its Raft core and book. */
export class SimOrchestratorNode {
  raft: Raft | null = null;
  book: ReplicatedBook;
  /** Bumped at every kill and restart: timers and fsyncs of an earlier life do nothing. */
  life = 0;
  /** Becomes leader, serving: counters for the result. */
  leaderships = 0;
  /** A Ready is being written (fsyncMs): the next one waits for its advance. */
  writing = false;
  private readyScheduled = false;

  constructor(
    readonly id: NodeId,
    readonly index: number,
    readonly host: string,
    /** [level, bucket] from the top of the hierarchy down to its host: its links' latencies. */
    readonly location: Array<[string, string]>,
    readonly mode: Mode,
    readonly storage: MemoryStorage,
    private readonly timing: NodeTiming,
    private readonly random: Random,
    private readonly hooks: NodeHooks,
  ) {
    this.book = new ReplicatedBook(() => {});
  }

  /** Founding members: a disk holding the founding configuration. */
  static bootstrapStorage(ids: NodeId[]): MemoryStorage {
    return MemoryStorage.bootstrap(makeConfig(ids, []));
  }

  get up(): boolean {
    return this.raft !== null;
  }

  /** Starts (or restarts) the process from its disk: the book replays what is committed. */
  start(): void {
    this.life++;
    this.writing = false;
    this.readyScheduled = false;
    this.book = new ReplicatedBook(() => {});
    this.book.restore(this.storage.snapshot());
    const seed = Math.floor(this.random.next() * 2 ** 31);
    const random = this.random.fork(`life${this.life}:${seed}`);
    this.raft = new Raft(
      { id: this.id, mode: this.mode, electionTicks: this.timing.electionTicks, heartbeatTicks: 1 },
      this.storage,
      () => random.next(),
    );
    const life = this.life;
    const tick = () => {
      if (this.life !== life || this.raft === null) return;
      this.raft.tick();
      this.processReady();
      this.hooks.ticked(this);
      this.hooks.after(this.timing.tickMs, tick);
    };
    // Nodes do not tick in step: each process started at its own moment.
    this.hooks.after(this.random.next() * this.timing.tickMs, tick);
    this.processReady();
  }

  /** kill -9: the core and everything not on disk are gone; the disk stays. */
  kill(): void {
    this.raft = null;
    this.life++;
    this.writing = false;
  }

  step(message: Message): void {
    if (this.raft === null) return;
    this.raft.step(message);
    this.processReady();
  }

  /** The leader proposes `data`; its Ready is performed at the end of this instant. */
  propose(data: Uint8Array): ProposeResult {
    if (this.raft === null) return { ok: false, reason: "not-leader", leader: null };
    const result = this.raft.propose(data);
    this.scheduleReady();
    return result;
  }

  campaign(): void {
    this.raft?.campaign();
    this.processReady();
  }

  private scheduleReady(): void {
    if (this.readyScheduled) return;
    this.readyScheduled = true;
    const life = this.life;
    this.hooks.after(0, () => {
      if (this.life !== life) return;
      this.readyScheduled = false;
      this.processReady();
    });
  }

  /** Performs the Readies the core has, in the documented order (docs/raft.md, "The Ready contract"). */
  private processReady(): void {
    for (let round = 0; !this.writing && this.raft?.hasReady(); round++) {
      if (round > 10_000) throw new Error(`${this.id} keeps producing Readies`);
      const ready = this.raft.ready();
      if (ready.mustSync && this.timing.fsyncMs > 0) {
        // Written and synced fsyncMs from now; a kill meanwhile loses the whole batch.
        this.writing = true;
        const life = this.life;
        this.hooks.after(this.timing.fsyncMs, () => {
          if (this.life !== life) return;
          this.writing = false;
          this.perform(ready);
          this.hooks.diskFree(this);
          this.processReady();
        });
        return;
      }
      this.perform(ready);
    }
  }

  private perform(ready: Ready): void {
    const raft = this.raft as Raft;
    if (ready.snapshot !== undefined) {
      this.storage.applySnapshot(ready.snapshot);
      this.book.restore(ready.snapshot);
    }
    if (ready.entries.length > 0) this.storage.append(ready.entries);
    if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState);
    for (const message of ready.messages) this.hooks.send(this, message);
    for (const entry of ready.committedEntries) {
      this.book.apply(entry);
      this.hooks.applied(this, entry);
    }
    raft.advance(ready);
    this.hooks.changed(this);
  }
}

/**
 * The journal of one leadership, as src/orchestrator/replicated/journal.ts, in virtual time: the
 * router's records are proposed as one entry per group commit, and a commit lands once its entry is
 * applied on this node (so a majority has it) in this leadership's term. What is appended while a
 * commit replicates is proposed at the end of the turn (pipelined).
 */
export class SimReplicatedJournal {
  appendedSeq = 0;
  committedSeq = 0;
  failure: string | null = null;
  /** The appendedSeq a running group commit waits for, or null. */
  waitingFor: number | null = null;
  private pending: Buffer[] = [];
  /** Proposals not applied yet, oldest first. */
  private readonly inFlight: Array<{ upTo: number; index: number }> = [];
  proposals = 0;

  constructor(
    private readonly node: SimOrchestratorNode,
    readonly term: number,
  ) {}

  append(record: JournalRecord): void {
    this.pending.push(encodeRecord(record));
    this.appendedSeq++;
  }

  /**
   * Starts a group commit: "busy" if one is running (the shell's driver ignores the request then),
   * "done" if everything appended is committed already, "failed", or "waiting" for its entry.
   */
  commit(): "busy" | "done" | "failed" | "waiting" {
    if (this.waitingFor !== null) return "busy";
    this.flush();
    if (this.failure !== null) return "failed";
    if (this.committedSeq >= this.appendedSeq) return "done";
    this.waitingFor = this.appendedSeq;
    return "waiting";
  }

  /** The end of a turn: records appended while a commit replicates are proposed now. */
  endOfTurn(): void {
    if (this.inFlight.length > 0) this.flush();
  }

  /** The disk is free again: what was held back goes as one entry. */
  diskFree(): void {
    if (this.waitingFor !== null || this.inFlight.length > 0) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0 || this.failure !== null) return;
    // While the leader's disk writes, a proposal would wait for it anyway: the records gather
    // into one entry instead (the same timing, fewer entries; the real node's batching).
    if (this.node.writing) return;
    const records = this.pending;
    this.pending = [];
    const proposal = this.node.propose(encodeBatch(records));
    this.proposals++;
    if (!proposal.ok) this.failure = `not the leader any more (${proposal.reason})`;
    else if (proposal.term !== this.term) this.failure = `leadership moved on to term ${proposal.term}`;
    else this.inFlight.push({ upTo: this.appendedSeq, index: proposal.index });
  }

  /**
   * An entry was applied on this node: a proposal of ours landed (or was overwritten by another
   * term's, so it never will). Returns true when a waiting group commit is now complete or failed.
   */
  applied(entry: Entry): boolean {
    // Raft applies in log order, so our proposals land (or are overwritten) in the order made.
    if (this.inFlight.length > 0 && this.inFlight[0].index === entry.index) {
      const proposal = this.inFlight.shift() as { upTo: number; index: number };
      if (entry.term !== this.term) this.failure = `leadership moved on to term ${entry.term}`;
      else if (proposal.upTo > this.committedSeq) this.committedSeq = proposal.upTo;
    }
    return this.waitingFor !== null && (this.failure !== null || this.committedSeq >= this.waitingFor);
  }

  /** The waiting commit is answered: the router hears committed or failed. */
  settle(): void {
    this.waitingFor = null;
  }
}
