// One orchestrator of a replicated set (docs/raft.md, "Replicated orchestrators"): a Raft node whose
// state machine is the job book (book.ts), and, while this node leads, an Orchestrator serving
// clients and satellites whose journal commits through Raft (journal.ts).
//
// A node serves only once it leads AND has applied its own term's first entry: its book then holds
// every job a majority accepted, under any earlier leader. It stops serving (closing its sockets, so
// clients and satellites move to the new leader) as soon as it is no longer leader of that term.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Mode, makeConfig, type NodeId } from "../../raft/index.ts";
import { DiskStorage, RaftNode, type TransportCurve } from "../../raft/node/index.ts";
import { readKeyPair } from "../../security/index.ts";
import type { OrchestratorConfig } from "../config.ts";
import { Orchestrator } from "../orchestrator.ts";
import { type AdminHandlers, AdminPort } from "./admin.ts";
import { ReplicatedBook } from "./book.ts";
import { ReplicatedJournal } from "./journal.ts";

export interface OrchestratorNodeOptions {
  id: NodeId;
  /** Every node's Raft endpoint to connect to (this one's included), by id: the voters at first start. */
  peers: Record<NodeId, string>;
  /** What this node binds for Raft (default its entry in `peers`; e.g. tcp://*:7101). */
  bind?: string;
  /** Candidacy policy (docs/raft.md, "Modes"); default active. */
  mode?: Mode;
  /** This node's own directory: its Raft log and hard state, and its disk spill. */
  dir: string;
  /**
   * This node's orchestrator when it leads: its own endpoints, and the settings every node shares.
   * `journal` sets retention and recovery (its `dir` is ignored: the journal is the Raft log).
   */
  orchestrator: OrchestratorConfig;
  /**
   * CURVE between the nodes' Raft sockets. Default, when `orchestrator.security` is set: the
   * orchestrators' shared server key for every node (one logical orchestrator, one key).
   */
  curve?: TransportCurve;
  /** Milliseconds per Raft tick (default 50: elections after 0.5-1 s with electionTicks 10). */
  tickMs?: number;
  electionTicks?: number;
  /** This node's admin socket for `dsat orch` (admin.ts); this host only unless `insecureAdmin`. */
  admin?: string;
  insecureAdmin?: boolean;
  /** Snapshot the book and compact the Raft log every this many applied entries (default 10,000). */
  snapshotEvery?: number;
  log?: (line: string) => void;
  /** The Raft node stopped on a storage failure or a bug: the process should exit. */
  onFatal?: (error: Error) => void;
  /** Called with the orchestrator once it serves, and with null just before it stops (metrics follow it). */
  onServing?: (orchestrator: Orchestrator | null) => void;
}

/** Every node with the orchestrators' server key pair (a NAME.key file or the pair itself). */
function sharedKeyCurve(
  security: OrchestratorConfig["security"],
  nodes: readonly NodeId[],
): TransportCurve | undefined {
  if (security === undefined) return undefined;
  const pair = typeof security.serverKey === "string" ? readKeyPair(security.serverKey) : security.serverKey;
  return {
    publicKey: pair.publicKey,
    secretKey: pair.secretKey,
    peers: Object.fromEntries(nodes.map((id) => [id, pair.publicKey])),
  };
}

/** How often the node looks at its role (a change of leader is acted on within this). */
const RECONCILE_MS = 20;
/** Committed entries not yet applied that still count as caught up (health green). */
const LAG_GREEN_MAX = 1000;

export interface OrchestratorNodeStatus {
  id: NodeId;
  /**
   * green: a leader is known, this node has applied what is committed (within 1,000 entries) and,
   * on the leader, every voter was heard from within an election timeout; yellow: a leader, but
   * lagging or a peer silent; red: no leader known.
   */
  health: "green" | "yellow" | "red";
  /** Committed entries not yet applied here. */
  lag: number;
  /** On the leader: each peer's match index, whether it was heard from recently, its mode. */
  peers?: Record<NodeId, { match: number; active: boolean; mode: Mode | undefined; learner: boolean }>;
  role: string;
  mode: Mode;
  term: number;
  leader: NodeId | null;
  commit: number;
  applied: number;
  /** This node's orchestrator serves clients and satellites now. */
  serving: boolean;
  /** Jobs in the replicated book (what a new leader would start from). */
  book: { unfinished: number; finished: number };
  /** Leaderships this node has taken up and left since it started. */
  leaderships: number;
}

export class OrchestratorNode {
  private serving: { term: number; orchestrator: Orchestrator } | null = null;
  private transition: Promise<void> = Promise.resolve();
  private busy = false;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private leaderships = 0;
  private readonly log: (line: string) => void;
  private admin: AdminPort | null = null;

  private constructor(
    readonly raft: RaftNode,
    private readonly book: ReplicatedBook,
    private readonly options: OrchestratorNodeOptions,
  ) {
    this.log = options.log ?? ((line) => console.log(line));
    this.timer = setInterval(() => this.reconcile(), RECONCILE_MS);
  }

  static async start(options: OrchestratorNodeOptions): Promise<OrchestratorNode> {
    const log = options.log ?? ((line: string) => console.log(line));
    const raftDir = join(options.dir, "raft");
    mkdirSync(raftDir, { recursive: true });
    const storage = await DiskStorage.open(raftDir, {
      bootstrap: makeConfig(Object.keys(options.peers), []),
      log: (line) => log(`raft: ${line}`),
    });
    const book = new ReplicatedBook(log);
    const curve = options.curve ?? sharedKeyCurve(options.orchestrator.security, Object.keys(options.peers));
    const raft = await RaftNode.start({
      raft: {
        id: options.id,
        mode: options.mode ?? "active",
        electionTicks: options.electionTicks ?? 10,
        heartbeatTicks: 1,
      },
      storage,
      bind: options.bind ?? options.peers[options.id],
      peers: Object.fromEntries(Object.entries(options.peers).filter(([id]) => id !== options.id)),
      ...(curve !== undefined ? { curve } : {}),
      tickMs: options.tickMs ?? 50,
      apply: (entry) => book.apply(entry),
      restore: (snapshot) => book.restore(snapshot),
      takeSnapshot: () => book.snapshot(),
      snapshotEvery: options.snapshotEvery ?? 10_000,
      keepEntries: 1000,
      maxEntryBytes: 4 * 1024 * 1024,
      onFatal: (error) => {
        log(`raft: fatal: ${error.message}`);
        options.onFatal?.(error);
      },
      log: (line) => log(`raft: ${line}`),
    });
    const node = new OrchestratorNode(raft, book, options);
    if (options.admin !== undefined) {
      try {
        node.admin = await AdminPort.start(
          options.admin,
          node.adminHandlers(),
          options.insecureAdmin === true,
        );
      } catch (error) {
        await node.stop();
        throw error;
      }
    }
    return node;
  }

  private adminHandlers(): AdminHandlers {
    return {
      status: () => this.status(),
      stepDown: (to) => {
        const target = to ?? this.successor();
        if (target === undefined)
          return { ok: false, error: "no voter to hand over to is caught up and active" };
        const result = this.raft.transferLeadership(target);
        return result.ok
          ? { ok: true, to: target }
          : {
              ok: false,
              error: `cannot hand over to ${target}: ${result.reason}`,
              leader: this.raft.raft.leader,
            };
      },
      setMode: (mode) => {
        this.raft.setMode(mode);
        return { ok: true, mode };
      },
      snapshot: async () => ({ ok: true, ...(await this.raft.snapshotNow()) }),
      membership: (type, node) => {
        const result = this.raft.proposeConfigChange({ type, node });
        return result.ok
          ? { ok: true, index: result.index }
          : { ok: false, error: `${type} ${node}: ${result.reason}`, leader: this.raft.raft.leader };
      },
    };
  }

  /** The best voter to hand leadership to: active mode, heard from recently, furthest along. */
  private successor(): NodeId | undefined {
    const peers = this.status().peers ?? {};
    return Object.entries(peers)
      .filter(([, peer]) => peer.active && !peer.learner && peer.mode === "active")
      .sort(([, a], [, b]) => b.match - a.match)[0]?.[0];
  }

  get id(): NodeId {
    return this.options.id;
  }

  /** The orchestrator serving now (this node leads), or null. */
  get orchestrator(): Orchestrator | null {
    return this.serving?.orchestrator ?? null;
  }

  status(): OrchestratorNodeStatus {
    const raft = this.raft.status();
    const lag = Math.max(0, raft.commit - raft.applied);
    const peers =
      raft.progress === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(raft.progress)
              .filter(([id]) => id !== raft.id)
              .map(([id, progress]) => [
                id,
                {
                  match: progress.match,
                  active: progress.recentActive,
                  mode: progress.mode,
                  learner: progress.isLearner,
                },
              ]),
          );
    const silentPeer =
      peers !== undefined && Object.values(peers).some((peer) => !peer.active && !peer.learner);
    const health = raft.leader === null ? "red" : lag > LAG_GREEN_MAX || silentPeer ? "yellow" : "green";
    return {
      id: raft.id,
      health,
      lag,
      ...(peers !== undefined ? { peers } : {}),
      role: raft.role,
      mode: raft.mode,
      term: raft.term,
      leader: raft.leader,
      commit: raft.commit,
      applied: raft.applied,
      serving: this.serving !== null,
      book: this.book.jobs,
      leaderships: this.leaderships,
    };
  }

  /** Starts serving once this node leads with everything committed applied; stops when it no longer leads. */
  private reconcile(): void {
    if (this.busy || this.stopped) return;
    const { role, term } = this.raft.raft;
    const journal = this.options.orchestrator.journal;
    if (journal !== undefined)
      this.book.expire(Date.now(), journal.retentionMs ?? 3_600_000, journal.finishedMax ?? 100_000);
    const serving = this.serving;
    if (serving !== null && (role !== "leader" || term !== serving.term)) {
      this.run(() => this.stopServing(`no longer the leader of term ${serving.term}`));
      return;
    }
    if (serving === null && role === "leader" && this.book.lastAppliedTerm === term)
      this.run(() => this.startServing(term));
  }

  private run(work: () => Promise<void>): void {
    this.busy = true;
    this.transition = this.transition
      .then(work)
      .catch((error: unknown) => this.log(`orchestrator node ${this.id}: ${(error as Error).message}`))
      .finally(() => {
        this.busy = false;
      });
  }

  private async startServing(term: number): Promise<void> {
    const journal = new ReplicatedJournal(this.raft, term);
    const config: OrchestratorConfig = {
      ...this.options.orchestrator,
      journal: { ...this.options.orchestrator.journal, dir: this.options.dir },
      // Attempt tokens carry the term: this leadership's never match an earlier or later one's.
      fencingEpoch: term,
      log: this.log,
    };
    const orchestrator = new Orchestrator(config, () => ({ journal, recovery: this.book.recovery() }));
    try {
      await orchestrator.start();
    } catch (error) {
      await orchestrator.stop().catch(() => {});
      throw new Error(`could not serve as leader of term ${term}: ${(error as Error).message}`);
    }
    this.serving = { term, orchestrator };
    this.book.defer(true);
    this.notifyServing(orchestrator);
    this.leaderships++;
    this.log(`orchestrator node ${this.id}: leader of term ${term}, serving`);
  }

  private async stopServing(why: string): Promise<void> {
    const serving = this.serving;
    if (serving === null) return;
    this.serving = null;
    this.book.defer(false);
    this.notifyServing(null);
    this.log(`orchestrator node ${this.id}: ${why}: stops serving`);
    await serving.orchestrator.stop();
  }

  private notifyServing(orchestrator: Orchestrator | null): void {
    try {
      this.options.onServing?.(orchestrator);
    } catch (error) {
      this.log(`orchestrator node ${this.id}: onServing: ${(error as Error).message}`);
    }
  }

  /** Hands leadership to another node (docs/raft.md, "Leadership transfer"). */
  transferLeadership(to: NodeId) {
    return this.raft.transferLeadership(to);
  }

  setMode(mode: Mode): void {
    this.raft.setMode(mode);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.admin?.close();
    await this.transition;
    await this.stopServing("stopping");
    await this.raft.stop();
  }
}
