// The simulation's base layer: its state, and the orchestrator. The decisions are the REAL
// JobRouter (src/orchestrator/router), unmodified, behind an inbox: this layer plays the shell
// around it, as test/orchestrator/router/script-env.ts does, under a virtual clock, and performs its
// effects (frames over the links to the peers, a journal commit landing commitMs later). The layers
// above: satellite-processes.ts, client-load.ts, simulation.ts (the run), replicated-simulation.ts.
import {
  JobRouter,
  type RouterEffect,
  type RouterEvent,
  resolveConfig,
  WaitingRoom,
} from "../orchestrator/index.ts";
import { WorkerCommand } from "../protocol/index.ts";
import type { Topology } from "../topology/index.ts";
import { DEFAULT_LATENCY, type SimClient, type SimSatellite } from "./actors.ts";
import { Metrics } from "./metrics.ts";
import { EventQueue } from "./queue.ts";
import { Random } from "./random.ts";
import {
  emptyFailover,
  type Failover,
  type ReplicatedResult,
  type Session,
  type SimOrchestratorNode,
} from "./replicated.ts";
import { DEFAULT_DRAIN_MS, type Scenario } from "./scenario.ts";
import { niceInterval, simulatedConfig } from "./support.ts";

export abstract class OrchestratorShell {
  protected readonly queue = new EventQueue();
  protected readonly random: Random;
  /** The router serving now (replicated: the leader's, or the last one's while none serves). */
  protected session: Session;
  protected readonly resolved: ReturnType<typeof resolveConfig>;
  protected readonly metrics: Metrics;
  protected readonly peers = new Map<
    string,
    { satellite?: SimSatellite; client?: SimClient; connection: number }
  >();
  protected readonly hierarchy: string[];
  protected readonly heartbeatMs: number;
  protected readonly liveness: number;
  protected readonly latency: typeof DEFAULT_LATENCY;
  protected readonly orchestratorLocation: Array<[string, string]>;
  protected readonly costMs: number;
  protected readonly commitMs: number;
  protected readonly endOfArrivals: number;
  protected readonly endMs: number;
  protected readonly intervalMs: number;
  // The orchestrator's inbox: events wait here while it is busy (costUs per event).
  protected inbox: RouterEvent[] = [];
  protected inboxHead = 0;
  protected busy = false;
  protected readonly raised: RouterEvent[] = [];
  protected readonly journal = { appended: 0 };
  protected routerSteps = 0;
  // Several orchestrators (the topology's `orchestrators`): the nodes, and what the result reports.
  protected readonly nodes: SimOrchestratorNode[] = [];
  protected readonly replicated: boolean;
  protected readonly leaderships: ReplicatedResult["leaderships"] = [];
  protected readonly failovers: Failover[] = [];
  protected readonly windows: Array<{ failover: Failover; before: number[]; after: number[] }> = [];
  protected readonly raftRandom: Random;
  protected readonly raftLastAt = new Map<string, number>();
  protected raftMessages = 0;
  protected proposals = 0;

  // Several orchestrators (replicated-simulation.ts): what the core calls of them.
  protected abstract startNodes(): void;
  protected abstract commitReplicated(session: Session): void;
  protected abstract answeredReplicated(session: Session, latency: number): void;
  protected abstract killLeader(atMs: number): string;
  protected abstract replicatedResult(): ReplicatedResult;
  // The peers (satellite-processes.ts, client-load.ts): what the orchestrator's sends reach.
  protected abstract satelliteReceive(satellite: SimSatellite, connection: number, frames: Buffer[]): void;
  protected abstract clientReceive(client: SimClient, frames: Buffer[], session: Session): void;

  constructor(
    protected readonly topology: Topology,
    protected readonly scenario: Scenario,
    protected readonly seed: number,
  ) {
    this.random = new Random(seed);
    const config = simulatedConfig(topology, scenario);
    const resolved = resolveConfig(config);
    this.resolved = resolved;
    this.hierarchy = resolved.hierarchy;
    this.heartbeatMs = resolved.limits.heartbeatMs;
    this.liveness = resolved.limits.heartbeatLiveness;
    this.replicated = (topology.orchestrators?.length ?? 0) > 1;
    this.raftRandom = this.random.fork("raft-network");
    // The single orchestrator serves from the start; replicated, a router starts with each leadership.
    this.session = {
      router: this.newRouter("router", "sim"),
      node: null,
      journal: null,
      term: 0,
      live: !this.replicated,
      startedAtMs: 0,
    };
    this.latency = { ...DEFAULT_LATENCY, ...scenario.latency };
    const orchestratorHost = scenario.orchestrator?.host ?? Object.keys(topology.hosts)[0];
    this.orchestratorLocation = this.locationOf(orchestratorHost, topology.hosts[orchestratorHost] ?? {});
    this.costMs = (scenario.orchestrator?.costUs ?? 0) / 1000;
    this.commitMs = scenario.orchestrator?.commitMs ?? 2;
    this.endOfArrivals = scenario.durationMs;
    this.endMs = scenario.durationMs + (scenario.drainMs ?? DEFAULT_DRAIN_MS);
    this.intervalMs = scenario.intervalMs ?? Math.max(100, niceInterval(scenario.durationMs / 30));
    this.metrics = new Metrics(this.intervalMs, Object.keys(topology.types));
    for (const event of scenario.events ?? [])
      if (event.action === "kill-leader")
        this.windows.push({ failover: emptyFailover(event.atMs), before: [], after: [] });
  }

  /** A router as the orchestrator process builds it: the real one, its randomness seeded. */
  protected newRouter(label: string, instance: string): JobRouter {
    const resolved = this.resolved;
    const routerRandom = this.random.fork(label);
    let counter = 0;
    return new JobRouter(resolved, {
      random: () => routerRandom.next(),
      randomBytes: (bytes) => {
        const buffer = Buffer.alloc(bytes);
        buffer.writeUIntBE(++counter % 2 ** 48, Math.max(0, bytes - 6), Math.min(6, bytes));
        return buffer;
      },
      instance,
      peerBacklogBytes: () => 0,
      spill: new WaitingRoom(resolved.limits.waitingBytesMax),
      curve: () => null,
    });
  }

  protected get router(): JobRouter {
    return this.session.router;
  }

  // ---- the orchestrator: the router behind an inbox ----

  /** A message a peer sent over its connection: lost if that orchestrator no longer serves. */
  protected arriveFrom(session: Session, event: RouterEvent): void {
    if (session === this.session) this.arrive(event);
  }

  protected arrive(event: RouterEvent): void {
    if (!this.session.live) return;
    if (this.costMs === 0) {
      // Free processing: the event is read and its turn ends at once (nothing else can arrive
      // at this instant meanwhile: arrivals are queued actions).
      this.step(event);
      this.endOfTurn();
      return;
    }
    this.inbox.push(event);
    if (!this.busy) {
      this.busy = true;
      this.queue.after(0, this.processNext);
    }
  }

  /**
   * With costUs: one event every costUs, as a single server; the turn ends (batches are flushed)
   * when the inbox is empty, as the shell's receive loop ends its turn when the socket is.
   */
  protected readonly processNext = (): void => {
    if (this.inboxHead >= this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
      this.endOfTurn();
      if (this.inboxHead >= this.inbox.length) {
        this.busy = false;
        return;
      }
      this.queue.after(0, this.processNext);
      return;
    }
    this.step(this.inbox[this.inboxHead++]);
    this.queue.after(this.costMs, this.processNext);
  };

  protected step(event: RouterEvent): void {
    if (!this.session.live) return;
    const now = Math.floor(this.queue.now);
    this.router.step(event, now);
    this.routerSteps++;
    this.perform(this.router.takeEffects(false));
    // What performing raised (a send to a peer that is gone) is stepped after, never within.
    while (this.raised.length > 0) {
      this.router.step(this.raised.shift() as RouterEvent, now);
      this.routerSteps++;
      this.perform(this.router.takeEffects(false));
    }
  }

  protected endOfTurn(): void {
    if (!this.session.live) return;
    this.flushTurn();
    // Replicated: what was appended while a commit replicates is proposed now (pipelined).
    this.session.journal?.endOfTurn();
  }

  protected flushTurn(): void {
    for (let round = 0; round < 1000; round++) {
      const flushed = this.router.takeEffects(true);
      if (flushed.length === 0 && this.raised.length === 0) return;
      this.perform(flushed);
      const now = Math.floor(this.queue.now);
      while (this.raised.length > 0) {
        this.router.step(this.raised.shift() as RouterEvent, now);
        this.routerSteps++;
        this.perform(this.router.takeEffects(false));
      }
    }
  }

  protected perform(effects: RouterEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case "send":
          this.send(effect.frames);
          break;
        case "publish":
          this.metrics.published(effect.topic, this.queue.now);
          break;
        case "journal-append":
          this.journal.appended = effect.seq;
          this.session.journal?.append(effect.record);
          break;
        case "journal-commit": {
          if (this.session.journal !== null) {
            this.commitReplicated(this.session);
            break;
          }
          // A group commit lands commitMs later and covers what was appended when it started.
          const seq = this.journal.appended;
          this.queue.after(this.commitMs, () =>
            this.arrive({ kind: "journal-committed", committedSeq: seq }),
          );
          break;
        }
        case "log":
          break;
      }
    }
  }

  /** A frame set from the router: to a satellite's connection or a client, over its link. */
  protected send(frames: Buffer[]): void {
    const peer = this.peers.get(this.routeKey(frames[0]));
    if (peer === undefined) return;
    if (peer.client !== undefined) {
      const client = peer.client;
      if (client.session !== this.session) {
        // Replicated: the client has no connection to this node (yet): unroutable, as libzmq says.
        this.raised.push({ kind: "peer-gone", route: frames[0] }, { kind: "undelivered", frames });
        return;
      }
      const session = this.session;
      this.queue.after(this.linkDelay(this.latency.clientMs), () =>
        this.clientReceive(client, frames, session),
      );
      return;
    }
    const satellite = peer.satellite as SimSatellite;
    const live =
      satellite.connection === peer.connection &&
      satellite.session === this.session &&
      satellite.state !== "dead" &&
      satellite.state !== "stopped";
    if (!live) {
      // libzmq's mandatory ROUTER refuses a send to a closed connection: the shell raises both.
      this.raised.push({ kind: "peer-gone", route: frames[0] }, { kind: "undelivered", frames });
      return;
    }
    if (satellite.partitioned) return;
    const command = frames[3]?.[0];
    if (command === WorkerCommand.heartbeat) {
      if (satellite.state !== "hung") satellite.lastHeard = this.queue.now + satellite.linkMs;
      return;
    }
    const at = Math.max(this.queue.now + this.linkDelay(satellite.linkMs), satellite.lastDown);
    satellite.lastDown = at;
    const connection = peer.connection;
    this.queue.at(at, () => this.satelliteReceive(satellite, connection, frames));
  }

  /** A route's key in `peers`; the router sends from the same few route buffers, so kept per buffer. */
  protected routeKey(route: Buffer): string {
    let key = this.routeKeys.get(route);
    if (key === undefined) {
      key = route.toString("latin1");
      this.routeKeys.set(route, key);
    }
    return key;
  }
  protected readonly routeKeys = new WeakMap<Buffer, string>();

  protected linkDelay(ms: number): number {
    return ms * (1 + this.latency.jitter * this.random.next());
  }

  // ---- where peers are ----

  protected locationOf(host: string, placement: Record<string, string>): Array<[string, string]> {
    return this.hierarchy.map((level): [string, string] => [
      level,
      level === "host" ? host : (placement[level] ?? ""),
    ]);
  }

  /** Latency between the orchestrator (or `other`) and a host: by the innermost level they share. */
  protected linkMsTo(
    location: Array<[string, string]>,
    other: Array<[string, string]> = this.orchestratorLocation,
  ): number {
    const n = this.hierarchy.length;
    const same = (i: number) => location[i]?.[1] === other[i]?.[1];
    if (same(n - 1)) return this.latency.sameHostMs;
    if (n < 2 || same(n - 2)) return this.latency.sameRackMs;
    if (n < 3 || same(n - 3)) return this.latency.acrossRacksMs;
    return this.latency.acrossDatacentersMs;
  }
}
