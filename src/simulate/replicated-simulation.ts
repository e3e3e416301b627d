// A simulation with several orchestrators (the topology's `orchestrators`, docs/simulate.md,
// "Replicated orchestrators"): each node the real Raft core on the simulated network, the leader's
// real router journaling through it, kill-leader and the failover figures. The rest of the
// simulation (peers, load, events, results) is SimulationBase's, in simulation.ts and the layers
// under it (orchestrator-shell.ts, satellite-processes.ts, client-load.ts).
import type { Entry, Message } from "../raft/index.ts";
import type { Topology } from "../topology/index.ts";
import type { SimulationResult } from "./actors.ts";
import { RECONNECT_MS } from "./client-load.ts";
import { percentiles, round } from "./metrics.ts";
import {
  emptyFailover,
  FAILOVER_WINDOW_MS,
  type ReplicatedResult,
  type Session,
  SimOrchestratorNode,
  SimReplicatedJournal,
} from "./replicated.ts";
import { instancesOf } from "./satellite-processes.ts";
import { checkAgainst, type Scenario } from "./scenario.ts";
import { SimulationBase } from "./simulation.ts";

/** While a new leader's recovery window is open, how often the shell places held jobs (recovery.ts). */
const RECOVERY_POLL_MS = 10;

/** The simulation: SimulationBase with its replicated-orchestrator part. */
class Simulation extends SimulationBase {
  // ---- several orchestrators: Raft nodes, leaderships, failovers ----

  /**
   * The nodes of the topology's `orchestrators`, each the real Raft core on its own disk. The first
   * active node campaigns at 0 ms, as if the set had been running before the scenario: it serves a
   * few round trips later, and peers connect to it at their first try.
   */
  protected startNodes(): void {
    const nodes = this.topology.orchestrators ?? [];
    const hostNames = Object.keys(this.topology.hosts);
    const ids = nodes.map((node) => node.id);
    const timing = {
      tickMs: this.scenario.orchestrator?.raftTickMs ?? 50,
      electionTicks: this.scenario.orchestrator?.electionTicks ?? 10,
      fsyncMs: this.commitMs,
    };
    const journal = this.resolved.journal;
    const retentionMs = journal?.retentionMs ?? 3_600_000;
    const finishedMax = journal?.finishedMax ?? 100_000;
    const hooks = {
      after: (ms: number, action: () => void) => this.queue.after(ms, action),
      send: (from: SimOrchestratorNode, message: Message) => this.raftSend(from, message),
      applied: (node: SimOrchestratorNode, entry: Entry) => this.appliedOn(node, entry),
      changed: (node: SimOrchestratorNode) => this.reconcile(node),
      diskFree: (node: SimOrchestratorNode) => {
        if (this.session.node === node && this.session.live) this.session.journal?.diskFree();
      },
      ticked: (node: SimOrchestratorNode) =>
        node.book.expire(Math.floor(this.queue.now), retentionMs, finishedMax),
    };
    for (const [index, spec] of nodes.entries()) {
      const host = this.scenario.orchestrator?.hosts?.[spec.id] ?? hostNames[index % hostNames.length];
      const node = new SimOrchestratorNode(
        spec.id,
        index,
        host,
        this.locationOf(host, this.topology.hosts[host] ?? {}),
        spec.mode ?? "active",
        SimOrchestratorNode.bootstrapStorage(ids),
        timing,
        this.random.fork(`raft:${spec.id}`),
        hooks,
      );
      this.nodes.push(node);
    }
    for (const node of this.nodes) node.start();
    this.nodes.find((node) => node.mode === "active")?.campaign();
  }

  /** A Raft message over the link between two nodes' hosts, in order on that link (TCP). */
  protected raftSend(from: SimOrchestratorNode, message: Message): void {
    const to = this.nodes.find((node) => node.id === message.to);
    if (to === undefined) return;
    const link = `${from.id}>${to.id}`;
    const delay =
      this.linkMsTo(from.location, to.location) * (1 + this.latency.jitter * this.raftRandom.next());
    const at = Math.max(this.queue.now + delay, this.raftLastAt.get(link) ?? 0);
    this.raftLastAt.set(link, at);
    const life = to.life;
    this.queue.at(at, () => {
      // A connection to a process that died since is gone, with what was on it.
      if (to.life !== life || !to.up) return;
      this.raftMessages++;
      to.step(message);
    });
  }

  /** An entry applied on a node: on the serving leader, a group commit of its journal may land. */
  protected appliedOn(node: SimOrchestratorNode, entry: Entry): void {
    const session = this.session;
    if (session.node !== node || !session.live || session.journal === null) return;
    if (!session.journal.applied(entry)) return;
    // Heard by the router in a turn of its own (the Ready being performed here is not its turn).
    this.queue.after(0, () => this.settleCommit(session));
  }

  protected commitReplicated(session: Session): void {
    const outcome = (session.journal as SimReplicatedJournal).commit();
    if (outcome === "busy" || outcome === "waiting") return;
    this.queue.after(0, () => this.settleCommit(session, true));
  }

  protected settleCommit(session: Session, now = false): void {
    const journal = session.journal as SimReplicatedJournal;
    if (!now) journal.settle();
    if (journal.failure !== null)
      this.arriveFrom(session, { kind: "journal-failed", error: journal.failure, notLeader: true });
    else this.arriveFrom(session, { kind: "journal-committed", committedSeq: journal.committedSeq });
  }

  /**
   * After each of a node's Readies, as the real node's reconcile loop: it serves once it leads and
   * has applied its own term's first entry; it stops as soon as it no longer leads that term.
   */
  protected reconcile(node: SimOrchestratorNode): void {
    const raft = node.raft;
    if (raft === null) return;
    const session = this.session;
    if (raft.role === "leader") {
      const failover = this.failovers.at(-1);
      if (failover !== undefined && failover.electedAtMs === null && failover.killed !== node.id) {
        failover.electedAtMs = round(this.queue.now);
        failover.leader = node.id;
      }
    }
    if (session.node === node && session.live && (raft.role !== "leader" || raft.term !== session.term)) {
      this.stopServing(session, `no longer the leader of term ${session.term}`);
      return;
    }
    if (
      !(session.node === node && session.live) &&
      raft.role === "leader" &&
      node.book.lastAppliedTerm === raft.term
    )
      this.startServing(node, raft.term);
  }

  /** The node's router starts from its book, as after a restart's replay ("recovered"), then binds. */
  protected startServing(node: SimOrchestratorNode, term: number): void {
    if (this.session.live) this.stopServing(this.session, `node ${node.id} leads term ${term}`);
    const session: Session = {
      router: this.newRouter(`router:${node.id}:${term}`, `sim-${node.id}-${term}`),
      node,
      journal: new SimReplicatedJournal(node, term),
      term,
      live: true,
      startedAtMs: this.queue.now,
    };
    this.session = session;
    node.leaderships++;
    this.leaderships.push({ node: node.id, term, fromMs: round(this.queue.now), toMs: null });
    const failover = this.failovers.at(-1);
    if (failover !== undefined && failover.servingAtMs === null && failover.killed !== node.id)
      failover.servingAtMs = round(this.queue.now);
    const recovery = node.book.recovery();
    node.book.defer(true);
    this.step({
      kind: "recovered",
      unfinished: recovery.unfinished,
      finished: recovery.finished,
      appendedSeq: 0,
      records: recovery.records,
      badRecords: recovery.badRecords,
    });
    this.step({ kind: "bound" });
    this.endOfTurn();
    // The shell looks at the held jobs every RECOVERY_POLL_MS while the recovery window is open.
    const poll = () => {
      if (session !== this.session || !session.live || !session.router.isRecovering) return;
      this.arrive({ kind: "recovery-poll" });
      this.queue.after(RECOVERY_POLL_MS, poll);
    };
    this.queue.after(RECOVERY_POLL_MS, poll);
  }

  /** Its node died or no longer leads: connections close (peers see it one link delay later). */
  protected stopServing(session: Session, why: string): void {
    session.live = false;
    this.proposals += session.journal?.proposals ?? 0;
    session.node?.book.defer(false);
    this.inbox = [];
    this.inboxHead = 0;
    const leadership = this.leaderships.at(-1);
    if (leadership !== undefined && leadership.toMs === null) {
      leadership.toMs = round(this.queue.now);
      leadership.ended = why;
    }
    for (const clients of this.clients.values())
      for (const client of clients)
        if (client.session === session)
          this.queue.after(this.linkDelay(this.latency.clientMs), () => {
            if (client.session !== session) return;
            client.session = null;
            // The dsat client sends every waiting request again (they wait until a node serves).
            this.reconnect(client, RECONNECT_MS);
          });
    for (const satellite of this.satellites)
      if (satellite.session === session)
        this.queue.after(this.linkDelay(satellite.linkMs), () => {
          if (satellite.session !== session) return;
          satellite.session = null;
          this.reconnect(satellite, RECONNECT_MS);
        });
  }

  /** The failover figures: the first answer from a leadership started after a kill, windows. */
  protected answeredReplicated(session: Session, latency: number): void {
    const now = this.queue.now;
    for (const window of this.windows) {
      const failover = window.failover;
      if (now >= failover.atMs - FAILOVER_WINDOW_MS && now < failover.atMs) window.before.push(latency);
      else if (now >= failover.atMs && now < failover.atMs + FAILOVER_WINDOW_MS) window.after.push(latency);
      if (
        failover.killed !== "" &&
        failover.firstAnswerAtMs === null &&
        session.startedAtMs >= failover.atMs
      ) {
        failover.firstAnswerAtMs = round(now);
        failover.failoverMs = round(now - failover.atMs);
      }
    }
  }

  /** kill -9 of the node that leads (serving or not yet): its router and unsynced writes are gone. */
  protected killLeader(atMs: number): string {
    const serving = this.session.live ? this.session.node : null;
    const leader =
      serving ??
      this.nodes
        .filter((node) => node.raft?.role === "leader")
        .sort((a, b) => (b.raft?.term ?? 0) - (a.raft?.term ?? 0))[0] ??
      null;
    if (leader === null) return "no leader";
    let inFlight = 0;
    for (const clients of this.clients.values())
      for (const client of clients) inFlight += client.pending.size;
    const failover = { ...emptyFailover(atMs), killed: leader.id, inFlight };
    this.failovers.push(failover);
    // The window before the kill has been filling since the run began (placeholders: emptyFailover).
    const window = this.windows.find((w) => w.failover.atMs === atMs && w.failover.killed === "");
    if (window !== undefined) window.failover = failover;
    else this.windows.push({ failover, before: [], after: [] });
    leader.kill();
    if (this.session.node === leader && this.session.live) this.stopServing(this.session, "killed");
    return leader.id;
  }

  protected replicatedResult(): ReplicatedResult {
    for (const window of this.windows) {
      window.failover.latencyBeforeMs = percentiles(window.before);
      window.failover.latencyAfterMs = percentiles(window.after);
    }
    return {
      nodes: this.nodes.map((node) => {
        const status = node.raft?.status();
        return {
          id: node.id,
          host: node.host,
          mode: node.mode,
          up: node.up,
          role: status?.role ?? "dead",
          term: status?.term ?? node.storage.hardState().term,
          commit: status?.commit ?? node.storage.hardState().commit,
          applied: status?.applied ?? 0,
          leaderships: node.leaderships,
          book: node.up ? node.book.jobs : { unfinished: 0, finished: 0 },
        };
      }),
      leaderships: this.leaderships,
      failovers: this.failovers,
      raftMessages: this.raftMessages,
      proposals: this.proposals + (this.session.live ? (this.session.journal?.proposals ?? 0) : 0),
      resent: this.resent,
      notLeader: this.notLeader,
      executions: this.satellites.reduce((sum, satellite) => sum + satellite.jobs, 0),
    };
  }
}

/** Runs `scenario` on `topology` with `seed`; deterministic: the same inputs give the same result. */
export function simulate(topology: Topology, scenario: Scenario, seed: number): SimulationResult {
  checkAgainst(
    scenario,
    topology,
    instancesOf(topology).map((instance) => instance.id),
  );
  return new Simulation(topology, scenario, seed).run();
}
