// A discrete-event simulation of a topology under a scenario. The orchestrator's decisions are the
// REAL JobRouter (src/orchestrator/router), unmodified: this file plays the shell around it, as
// test/orchestrator/router/script-env.ts does, under a virtual clock. Peers speak the protocol for
// real: satellites and clients build their frames with src/protocol's builders and read the
// router's with its parsers. Only the sockets (a latency model per link), the disk (a commit delay)
// and time are simulated.
import {
  JobRouter,
  type RouterEffect,
  type RouterEvent,
  resolveConfig,
  tickPeriodMs,
  WaitingRoom,
} from "../orchestrator/index.ts";
import {
  ackBatchFrames,
  BATCH_ENTRIES_MAX,
  BATCH_FLUSH_ENTRIES,
  clientBatchFrames,
  decode,
  ErrorCode,
  encode,
  isJobEntry,
  jobReplyBatchFrames,
  jobReplyFrames,
  parseJobRequest,
  type ReplyEntry,
  type RequestEntry,
  splitBatch,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../protocol/index.ts";
import { type SatelliteInstance, satelliteInstances, type Topology } from "../topology/index.ts";
import {
  DEFAULT_LATENCY,
  DEFAULT_SERVICE,
  type RunningJob,
  type SatelliteLoad,
  SimClient,
  SimSatellite,
  type SimulationResult,
} from "./actors.ts";
import { Metrics, percentiles, round } from "./metrics.ts";
import { EventQueue } from "./queue.ts";
import { draw, KeyPicker, Random } from "./random.ts";
import type { Failover, ReplicatedResult, Session, SimOrchestratorNode } from "./replicated.ts";
import {
  DEFAULT_DRAIN_MS,
  type LoadSpec,
  type Scenario,
  type ScenarioEvent,
  type ServiceSpec,
} from "./scenario.ts";
import { baseName, factorAt, niceInterval, simulatedConfig, splitToken } from "./support.ts";

export type { SatelliteLoad, SimulationResult };

/** libzmq's reconnect interval (ZMQ_RECONNECT_IVL): how often a peer tries an endpoint again. */
export const RECONNECT_MS = 100;
/** While a new leader's recovery window is open, how often the shell places held jobs (recovery.ts). */
export const RECOVERY_POLL_MS = 10;
/** The dsat client sends a request refused with DSAT_ERR_NOT_LEADER again after this. */
const NOT_LEADER_RETRY_MS = 100;
/** The latency around a leader kill: answers in this window before it, and after it. */
export const FAILOVER_WINDOW_MS = 5000;

/** A type the scenario says nothing about (shared, never written: read per job). */
const NO_SERVICE: ServiceSpec = Object.freeze({});
/** A simulated job's result payloads, encoded once (they are the same bytes for every job). */
const DONE_PAYLOAD = encode("done");
const FAILED_PAYLOAD = encode(null);

/** The topology's satellites; a type without a module still gets them (nothing is started). */
export function instancesOf(topology: Topology): SatelliteInstance[] {
  return satelliteInstances({
    ...topology,
    types: Object.fromEntries(
      Object.entries(topology.types).map(([name, type]) => [
        name,
        { ...type, module: type.module ?? "(simulated)" },
      ]),
    ),
  });
}

export abstract class SimulationBase {
  protected readonly queue = new EventQueue();
  protected readonly random: Random;
  /** The router serving now (replicated: the leader's, or the last one's while none serves). */
  protected session: Session;
  protected readonly resolved: ReturnType<typeof resolveConfig>;
  protected readonly metrics: Metrics;
  protected readonly satellites: SimSatellite[] = [];
  protected readonly peers = new Map<
    string,
    { satellite?: SimSatellite; client?: SimClient; connection: number }
  >();
  protected readonly clients = new Map<string, SimClient[]>();
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
  protected readonly timeouts = new Map<string, number | null>();
  protected readonly keyOwner = new Map<string, Map<string, string>>();
  protected readonly eventLog: SimulationResult["events"] = [];
  // The orchestrator's inbox: events wait here while it is busy (costUs per event).
  protected inbox: RouterEvent[] = [];
  protected inboxHead = 0;
  protected busy = false;
  protected readonly raised: RouterEvent[] = [];
  protected readonly journal = { appended: 0 };
  protected routerSteps = 0;
  protected submitted = 0;
  protected answered = 0;
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
  protected resent = 0;
  protected notLeader = 0;

  // Several orchestrators (replicated-simulation.ts): what the core calls of them.
  protected abstract startNodes(): void;
  protected abstract commitReplicated(session: Session): void;
  protected abstract answeredReplicated(session: Session, latency: number): void;
  protected abstract killLeader(atMs: number): string;
  protected abstract replicatedResult(): ReplicatedResult;

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

  run(): SimulationResult {
    if (this.replicated) this.startNodes();
    this.startSatellites();
    this.startTicks();
    this.startLoad();
    this.scheduleEvents();
    this.scheduleSamples();
    let steps = 0;
    while (this.queue.peek() <= this.endMs) {
      this.queue.runNext();
      // Once arrivals are over and every job is answered, the rest is heartbeats: stop.
      if ((++steps & 1023) === 0 && this.queue.now >= this.endOfArrivals && this.answered === this.submitted)
        break;
    }
    const simulatedMs = Math.min(this.queue.now, this.endMs);
    this.sample();
    return this.result(simulatedMs);
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

  /**
   * A peer without a connection tries every RECONNECT_MS; once a node serves, the connection
   * completes a round trip later: a satellite registers (READY), a client sends again every request
   * still waiting, with the same ids (as the dsat client does on a new connection).
   */
  protected reconnect(peer: SimSatellite | SimClient, firstTryMs: number): void {
    // One loop per peer: a newer one (a new process, another lost connection) replaces it.
    const token = ++peer.reconnecting;
    const satellite = peer instanceof SimSatellite ? peer : null;
    const oneWayMs = satellite !== null ? 0 : this.latency.clientMs;
    const gone = () =>
      peer.reconnecting !== token ||
      (satellite !== null && (satellite.state === "dead" || satellite.state === "stopped"));
    const attempt = () => {
      if (gone()) return;
      const session = this.session;
      if (!session.live || session.node === null) {
        this.queue.after(RECONNECT_MS, attempt);
        return;
      }
      const linkMs = satellite !== null ? satellite.linksMs[session.node.index] : oneWayMs;
      this.queue.after(2 * this.linkDelay(linkMs), () => {
        if (gone()) return;
        if (session !== this.session || !session.live) {
          this.queue.after(RECONNECT_MS, attempt);
          return;
        }
        peer.reconnecting++;
        if (satellite !== null) this.attach(satellite, session);
        else this.resendPending(peer as SimClient, session);
      });
    };
    this.queue.after(firstTryMs, attempt);
  }

  protected resendPending(client: SimClient, session: Session): void {
    client.session = session;
    client.lastUp = 0;
    client.entries = [];
    client.payloads = [];
    for (const pending of client.pending.values()) {
      client.entries.push(pending.entry as RequestEntry);
      client.payloads.push(pending.payload as Buffer);
      this.resent++;
      if (client.entries.length >= BATCH_FLUSH_ENTRIES) this.flushClient(client);
    }
    this.flushClient(client);
  }

  /** One request again (after DSAT_ERR_NOT_LEADER), if it still waits. */
  protected resend(client: SimClient, correlation: number): void {
    const pending = client.pending.get(correlation);
    if (pending === undefined) return;
    this.resent++;
    client.entries.push(pending.entry as RequestEntry);
    client.payloads.push(pending.payload as Buffer);
    this.flushClient(client);
  }

  // ---- satellites ----

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

  protected addSatellite(
    id: string,
    type: string,
    host: string,
    location: Array<[string, string]>,
    capacity: number,
    weight: number,
  ): SimSatellite {
    const satellite = new SimSatellite(id, type, host, location, capacity, weight, this.linkMsTo(location));
    if (this.replicated) satellite.linksMs = this.nodes.map((node) => this.linkMsTo(location, node.location));
    for (const override of this.scenario.satellites ?? []) {
      if (!satellite.in(override.target)) continue;
      if (override.time !== undefined) satellite.time = override.time;
      if (override.slowdown !== undefined) satellite.slowdown = override.slowdown;
      if (override.failureRate !== undefined) satellite.failureRate = override.failureRate;
      if (override.hangRate !== undefined) satellite.hangRate = override.hangRate;
      if (override.startMs !== undefined) satellite.startMs = override.startMs;
    }
    this.satellites.push(satellite);
    return satellite;
  }

  protected startSatellites(): void {
    for (const instance of instancesOf(this.topology)) {
      const satellite = this.addSatellite(
        instance.id,
        instance.type,
        instance.host,
        instance.location,
        instance.concurrency,
        instance.weight,
      );
      // Processes start within the first 50 ms, in no particular order, unless the scenario says
      // when (the order they register in sets the CRUSH device ids, so which keys land where).
      const at = this.random.next() * 50;
      this.queue.at(satellite.startMs ?? at, () => this.startProcess(satellite));
    }
  }

  /** A new satellite process: a new incarnation on a new connection, READY, then its heartbeats. */
  protected startProcess(satellite: SimSatellite): void {
    satellite.state = "up";
    satellite.incarnations++;
    satellite.generation++;
    satellite.running.clear();
    satellite.waiting = [];
    satellite.deferred = [];
    satellite.replies = [];
    satellite.replyPayloads = [];
    satellite.unacked = [];
    this.connect(satellite);
    const generation = satellite.generation;
    const beat = () => {
      if (satellite.generation !== generation || satellite.state === "dead" || satellite.state === "stopped")
        return;
      this.queue.after(this.heartbeatMs, beat);
      if (satellite.state === "hung") return;
      if (satellite.session === null) return; // replicated: reconnecting to whichever node serves
      if (this.queue.now - satellite.lastHeard > this.heartbeatMs * this.liveness) {
        // The orchestrator went silent: reconnect, same incarnation (its jobs may carry on).
        this.connect(satellite);
        return;
      }
      this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.heartbeat));
    };
    this.queue.after(this.random.next() * this.heartbeatMs, beat);
  }

  protected connect(satellite: SimSatellite): void {
    if (this.replicated) {
      satellite.session = null;
      this.reconnect(satellite, 0);
      return;
    }
    this.attach(satellite, this.session);
  }

  /** A new connection to `session`'s orchestrator: a new route, READY. */
  protected attach(satellite: SimSatellite, session: Session): void {
    satellite.session = session;
    if (session.node !== null) satellite.linkMs = satellite.linksMs[session.node.index];
    satellite.connection++;
    satellite.route = Buffer.from(`${satellite.id}~${satellite.connection}`);
    this.peers.set(satellite.route.toString("latin1"), { satellite, connection: satellite.connection });
    satellite.lastHeard = this.queue.now;
    satellite.lastUp = 0;
    satellite.lastDown = 0;
    this.satelliteSend(
      satellite,
      workerReadyFrames(satellite.type, {
        id: satellite.id,
        types: [satellite.type],
        location: satellite.location,
        capacity: satellite.capacity,
        weight: satellite.weight,
        batch: true,
        heartbeatMs: this.heartbeatMs,
        incarnation: `${satellite.id}.${satellite.incarnations}`,
      }),
    );
  }

  protected satelliteSend(satellite: SimSatellite, frames: Buffer[]): void {
    if (satellite.partitioned || satellite.state === "dead" || satellite.state === "stopped") return;
    // Replicated, between connections: nothing to send on (the new leader never dispatched it).
    const session = satellite.session;
    if (session === null) return;
    const at = Math.max(this.queue.now + this.linkDelay(satellite.linkMs), satellite.lastUp);
    satellite.lastUp = at;
    const message = [satellite.route, ...frames];
    this.queue.at(at, () => this.arriveFrom(session, { kind: "frontend", frames: message }));
  }

  protected satelliteReceive(satellite: SimSatellite, connection: number, frames: Buffer[]): void {
    if (satellite.connection !== connection || satellite.state === "dead" || satellite.state === "stopped")
      return;
    if (satellite.state === "hung") {
      satellite.deferred.push(() => this.satelliteReceive(satellite, connection, frames));
      return;
    }
    satellite.lastHeard = this.queue.now;
    const message = frames.slice(1);
    switch (message[2]?.[0]) {
      case WorkerCommand.request: {
        const job = parseJobRequest(message);
        if (job === null) return;
        const [jobId, attempt] = splitToken(job.address.toString());
        this.startJob(satellite, jobId, attempt, job.header.type, job.header.k ?? null, job.address);
        return;
      }
      case WorkerCommand.requestBatch: {
        const batch = splitBatch(message[3], message[4], isJobEntry, (entry) => entry[3], BATCH_ENTRIES_MAX);
        if (typeof batch === "string") return;
        for (const [id, attempt, type, , , , key] of batch.entries)
          this.startJob(satellite, id, attempt, type, key, null);
        this.flushSatellite(satellite);
        return;
      }
      case WorkerCommand.cancel: {
        const job = satellite.running.get(message[3]?.toString() ?? "");
        if (job !== undefined) this.endJob(satellite, job);
        else {
          const token = message[3]?.toString();
          satellite.waiting = satellite.waiting.filter((waiting) => waiting.token !== token);
        }
        return;
      }
      case WorkerCommand.disconnect:
        this.connect(satellite);
        return;
      default:
        return;
    }
  }

  protected startJob(
    satellite: SimSatellite,
    id: string,
    attempt: number,
    type: string,
    key: string | null,
    address: Buffer | null,
  ): void {
    const token = `${id}#${attempt}`;
    if (satellite.running.has(token)) return;
    const job: RunningJob = {
      token,
      id,
      attempt,
      type,
      key,
      address,
      started: false,
      finished: false,
      durationMs: 0,
    };
    if (address !== null) this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.ack, address));
    else {
      // Acked when the message that brought it is done (the end of the satellite's turn).
      satellite.unacked.push(job);
    }
    if (satellite.running.size < satellite.capacity) this.begin(satellite, job);
    else satellite.waiting.push(job);
  }

  protected begin(satellite: SimSatellite, job: RunningJob): void {
    satellite.running.set(job.token, job);
    job.started = true;
    const service: ServiceSpec = this.scenario.service?.[job.type] ?? NO_SERVICE;
    const hangRate = satellite.hangRate ?? service.hangRate ?? 0;
    if (hangRate > 0 && this.random.next() < hangRate) return; // this job never finishes
    job.durationMs =
      draw(this.random, satellite.time ?? service.time ?? DEFAULT_SERVICE) * satellite.slowdown;
    const generation = satellite.generation;
    this.queue.after(job.durationMs, () => {
      if (satellite.generation === generation) this.complete(satellite, job);
    });
  }

  protected complete(satellite: SimSatellite, job: RunningJob): void {
    if (satellite.running.get(job.token) !== job) return; // cancelled meanwhile
    if (satellite.state === "hung") {
      satellite.deferred.push(() => this.complete(satellite, job));
      return;
    }
    const service: ServiceSpec = this.scenario.service?.[job.type] ?? NO_SERVICE;
    const failureRate = satellite.failureRate ?? service.failureRate ?? 0;
    const ok = !(failureRate > 0 && this.random.next() < failureRate);
    satellite.jobs++;
    satellite.busyMs += job.durationMs;
    const payload = ok ? DONE_PAYLOAD : FAILED_PAYLOAD;
    if (job.address !== null) {
      this.satelliteSend(
        satellite,
        jobReplyFrames(
          job.address,
          ok ? { s: "ok" } : { s: "error", e: "simulated failure", r: true },
          payload,
        ),
      );
    } else {
      satellite.replies.push([
        job.id,
        job.attempt,
        ok ? 0 : 1,
        payload.length,
        ok ? null : "simulated failure",
        ok ? null : true,
      ]);
      satellite.replyPayloads.push(payload);
      if (satellite.replies.length >= BATCH_FLUSH_ENTRIES) this.flushSatellite(satellite);
      else this.scheduleFlush(satellite);
    }
    if (ok && job.key !== null) {
      // Per type, then per key: no "type\0key" string built and hashed per job.
      let owners = this.keyOwner.get(job.type);
      if (owners === undefined) {
        owners = new Map();
        this.keyOwner.set(job.type, owners);
      }
      const before = owners.get(job.key);
      if (before !== undefined && before !== satellite.id) this.metrics.keyMoved(job.type, this.queue.now);
      owners.set(job.key, satellite.id);
    }
    this.endJob(satellite, job);
  }

  protected endJob(satellite: SimSatellite, job: RunningJob): void {
    job.finished = true;
    satellite.running.delete(job.token);
    const next = satellite.waiting.shift();
    if (next !== undefined) this.begin(satellite, next);
    if (satellite.state === "draining" && satellite.running.size === 0) this.stopDrained(satellite);
  }

  protected scheduleFlush(satellite: SimSatellite): void {
    if (satellite.flushScheduled) return;
    satellite.flushScheduled = true;
    const generation = satellite.generation;
    this.queue.after(0, () => {
      satellite.flushScheduled = false;
      if (satellite.generation === generation) this.flushSatellite(satellite);
    });
  }

  /** The end of the satellite's turn: one REPLY-BATCH, then one ACK-BATCH for jobs still running. */
  protected flushSatellite(satellite: SimSatellite): void {
    if (satellite.state === "hung") {
      satellite.deferred.push(() => this.flushSatellite(satellite));
      return;
    }
    if (satellite.replies.length > 0) {
      const frames = jobReplyBatchFrames(satellite.replies, satellite.replyPayloads);
      satellite.replies = [];
      satellite.replyPayloads = [];
      this.satelliteSend(satellite, frames);
    }
    if (satellite.unacked.length > 0) {
      const flat: Array<string | number> = [];
      for (const job of satellite.unacked) if (!job.finished) flat.push(job.id, job.attempt);
      satellite.unacked = [];
      if (flat.length > 0) this.satelliteSend(satellite, ackBatchFrames(flat));
    }
  }

  protected stopDrained(satellite: SimSatellite): void {
    this.flushSatellite(satellite);
    this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.disconnect));
    satellite.state = "stopped";
    satellite.generation++;
    if (satellite.restartWeight !== null) {
      satellite.weight = satellite.restartWeight;
      satellite.restartWeight = null;
      this.queue.after(0, () => this.startProcess(satellite));
    }
  }

  // ---- clients and load ----

  protected startLoad(): void {
    for (const [type, load] of Object.entries(this.scenario.load)) {
      const clients: SimClient[] = [];
      for (let i = 0; i < (load.clients ?? 1); i++) {
        const client = new SimClient(Buffer.from(`client-${type}-${i}`));
        this.peers.set(client.route.toString("latin1"), { client, connection: 0 });
        clients.push(client);
        if (this.replicated) this.reconnect(client, 0);
        else client.session = this.session;
      }
      this.clients.set(type, clients);
      this.timeouts.set(type, load.timeoutMs ?? null);
      this.generate(type, load, clients);
    }
  }

  /** Arrivals for one type: Poisson (thinned by the curve) or bursts, until the window ends. */
  protected generate(type: string, load: LoadSpec, clients: SimClient[]): void {
    const random = this.random.fork(`load:${type}`);
    const keys =
      load.keys === undefined
        ? null
        : new KeyPicker(
            load.keys.count,
            load.keys.distribution === "zipf" ? (load.keys.exponent ?? 1) : null,
          );
    const peak = Math.max(1, ...(load.curve ?? [[0, 1]]).map(([, factor]) => factor));
    const payloads = new Map<number, Buffer>();
    let next = 0;
    const submit = () => {
      const client = clients[next++ % clients.length];
      const size =
        typeof load.payloadBytes === "object"
          ? load.payloadBytes.min + random.below(load.payloadBytes.max - load.payloadBytes.min + 1)
          : (load.payloadBytes ?? 16);
      let payload = payloads.get(size);
      if (payload === undefined) {
        payload = encode("x".repeat(size));
        payloads.set(size, payload);
      }
      const key = keys === null ? null : `k${keys.pick(random)}`;
      this.submit(client, type, key, payload);
    };
    if ((load.arrival ?? "poisson") === "bursts") {
      const burst = load.burst as { size: number; everyMs: number };
      const fire = () => {
        const count = Math.round(burst.size * factorAt(load.curve, this.queue.now));
        for (let i = 0; i < count; i++) submit();
        if (this.queue.now + burst.everyMs < this.endOfArrivals) this.queue.after(burst.everyMs, fire);
      };
      this.queue.at(burst.everyMs, fire);
      return;
    }
    const rate = load.rate ?? 0;
    if (rate <= 0) return;
    const meanGap = 1000 / (rate * peak);
    const arrive = () => {
      if (random.next() * peak < factorAt(load.curve, this.queue.now)) submit();
      const gap = random.exponential(meanGap);
      if (this.queue.now + gap < this.endOfArrivals) this.queue.after(gap, arrive);
    };
    this.queue.after(random.exponential(meanGap), arrive);
  }

  protected submit(client: SimClient, type: string, key: string | null, payload: Buffer): void {
    const correlation = client.nextCorrelation++;
    const timeoutMs = this.timeouts.get(type) ?? null;
    if (this.replicated) {
      // As the dsat client: every job gets an id, so a request sent again after a failover is the
      // same job to the new leader (attached, or answered from its completed record).
      const entry: RequestEntry = [
        type,
        correlation,
        payload.length,
        timeoutMs,
        `${client.route.toString("latin1")}-${correlation.toString(36)}`,
        key,
      ];
      client.pending.set(correlation, { type, sentAt: this.queue.now, entry, payload });
      client.entries.push(entry);
    } else {
      client.pending.set(correlation, { type, sentAt: this.queue.now });
      client.entries.push([type, correlation, payload.length, timeoutMs, null, key]);
    }
    client.payloads.push(payload);
    this.submitted++;
    this.metrics.submitted(type, this.queue.now);
    // A client sends what one turn produced as one batch (at most 64 entries each).
    if (client.entries.length >= BATCH_FLUSH_ENTRIES) this.flushClient(client);
    else if (!client.flushScheduled) {
      client.flushScheduled = true;
      this.queue.after(0, () => this.flushClient(client));
    }
  }

  protected flushClient(client: SimClient): void {
    client.flushScheduled = false;
    if (client.entries.length === 0) return;
    const session = client.session;
    if (session === null) {
      // Replicated, no node serves yet: the requests wait in `pending` and go once one does.
      client.entries = [];
      client.payloads = [];
      return;
    }
    const frames = [client.route, ...clientBatchFrames(client.entries, client.payloads)];
    client.entries = [];
    client.payloads = [];
    const at = Math.max(this.queue.now + this.linkDelay(this.latency.clientMs), client.lastUp);
    client.lastUp = at;
    this.queue.at(at, () => this.arriveFrom(session, { kind: "frontend", frames }));
  }

  protected clientReceive(client: SimClient, frames: Buffer[], session: Session): void {
    const message = frames.slice(1);
    if (message.length < 6) return;
    const entries = decode(message[4]) as ReplyEntry[];
    for (const [correlation, , status] of entries) {
      const pending = client.pending.get(correlation);
      if (pending === undefined) continue;
      if (status === ErrorCode.notLeader) {
        // A deposed leader took nothing: the dsat client sends it again 100 ms later.
        this.notLeader++;
        this.queue.after(NOT_LEADER_RETRY_MS, () => this.resend(client, correlation));
        continue;
      }
      client.pending.delete(correlation);
      this.answered++;
      const latency = this.queue.now - pending.sentAt;
      this.metrics.answered(pending.type, this.queue.now, latency, status);
      if (this.replicated) this.answeredReplicated(session, latency);
    }
  }

  // ---- time: ticks, samples, scenario events ----

  protected startTicks(): void {
    const period = tickPeriodMs(this.heartbeatMs);
    const tick = () => {
      this.arrive({ kind: "tick" });
      if (this.router.isRecovering) this.arrive({ kind: "recovery-poll" });
      this.queue.after(period, tick);
    };
    this.queue.at(period, tick);
  }

  protected scheduleSamples(): void {
    const sample = () => {
      this.sample();
      this.queue.after(this.intervalMs, sample);
    };
    this.queue.at(this.intervalMs, sample);
  }

  protected sample(): void {
    if (!this.session.live) {
      this.metrics.sample(this.queue.now, 0, 0, 0); // replicated: no node serves now
      return;
    }
    const status = this.router.status();
    this.metrics.sample(this.queue.now, status.jobs.inFlight, status.jobs.waiting, status.waiting.jobs);
  }

  protected scheduleEvents(): void {
    for (const event of this.scenario.events ?? []) this.queue.at(event.atMs, () => this.apply(event));
  }

  protected apply(event: ScenarioEvent): void {
    let affected: SimSatellite[] = [];
    let what = "";
    if ("target" in event) {
      affected = this.satellites.filter((satellite) => satellite.in(event.target));
      what = Object.entries(event.target)
        .map(([kind, name]) => `${kind} ${name}`)
        .join("");
    }
    switch (event.action) {
      case "kill":
        for (const satellite of affected) {
          if (satellite.state === "dead") continue;
          satellite.state = "dead";
          satellite.generation++;
          satellite.running.clear();
          satellite.waiting = [];
        }
        break;
      case "hang":
        for (const satellite of affected)
          if (satellite.state === "up" || satellite.state === "draining") satellite.state = "hung";
        break;
      case "restore":
        for (const satellite of affected) {
          if (satellite.state === "hung") {
            satellite.state = "up";
            const deferred = satellite.deferred;
            satellite.deferred = [];
            for (const action of deferred) action();
          } else if (satellite.state === "dead" || satellite.state === "stopped")
            this.startProcess(satellite);
        }
        break;
      case "partition":
        for (const satellite of affected) satellite.partitioned = true;
        break;
      case "heal":
        for (const satellite of affected) satellite.partitioned = false;
        break;
      case "drain":
        for (const satellite of affected) this.drain(satellite);
        break;
      case "slow":
        for (const satellite of affected) satellite.slowdown = event.slowdown;
        what += ` x${event.slowdown}`;
        break;
      case "set-weight":
        for (const satellite of affected) {
          satellite.restartWeight = event.weight;
          this.drain(satellite);
        }
        what += ` weight ${event.weight}`;
        break;
      case "add-host": {
        what = `host ${event.host}`;
        const location = this.hierarchy.map((level): [string, string] => [
          level,
          level === "host" ? event.host : event.location[level],
        ]);
        const types =
          event.types ??
          Object.entries(this.topology.types)
            .filter(([, type]) => type.hosts === undefined && type.instances === undefined)
            .map(([name]) => name);
        for (const type of types) {
          const config = this.topology.types[type];
          const count = config.instancesPerHost ?? 1;
          for (let i = 1; i <= count; i++) {
            const id = count === 1 ? `${type}@${event.host}` : `${type}@${event.host}#${i}`;
            const satellite = this.addSatellite(
              id,
              type,
              event.host,
              location,
              config.concurrency ?? 1,
              config.weight ?? 1,
            );
            affected.push(satellite);
            this.startProcess(satellite);
          }
        }
        break;
      }
      case "set-timeout":
        this.timeouts.set(event.type, event.timeoutMs);
        what = `${event.type} ${event.timeoutMs} ms`;
        break;
      case "kill-leader":
        what = this.killLeader(event.atMs);
        break;
      case "restart-orchestrator": {
        const node = this.nodes.find((each) => each.id === event.node);
        what = node === undefined || node.up ? `${event.node} (already up)` : event.node;
        if (node !== undefined && !node.up) node.start();
        break;
      }
    }
    this.eventLog.push({
      atMs: event.atMs,
      action: event.action,
      what,
      satellites: affected.length,
      ...(event.note !== undefined ? { note: event.note } : {}),
    });
  }

  protected drain(satellite: SimSatellite): void {
    if (satellite.state !== "up") return;
    satellite.state = "draining";
    this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.drain));
    if (satellite.running.size === 0) this.stopDrained(satellite);
  }

  // ---- the result ----

  protected result(simulatedMs: number): SimulationResult {
    const lost = new Map<string, number>();
    for (const clients of this.clients.values())
      for (const client of clients)
        for (const pending of client.pending.values())
          lost.set(pending.type, (lost.get(pending.type) ?? 0) + 1);
    const queuedAtEnd = new Map<string, number>();
    for (const satellite of this.router.status().satellites)
      queuedAtEnd.set(String(satellite.id), Number(satellite.queued));
    const satellites: SatelliteLoad[] = this.satellites.map((s) => ({
      id: s.id,
      type: s.type,
      host: s.host,
      location: s.location.map(([level, name]) => `${level}=${name}`).join(","),
      jobs: s.jobs,
      busyMs: round(s.busyMs),
      utilization: round(s.busyMs / (s.capacity * Math.max(1, simulatedMs))),
      queuedAtEnd: queuedAtEnd.get(s.id) ?? 0,
    }));
    const total = this.satellites.reduce((sum, s) => sum + s.jobs, 0);
    const domains: SimulationResult["domains"] = {};
    for (const [index, level] of this.hierarchy.entries()) {
      const buckets: Record<string, { jobs: number; share: number; satellites: number }> = {};
      for (const s of this.satellites) {
        const bucket = s.location[index][1];
        buckets[bucket] ??= { jobs: 0, share: 0, satellites: 0 };
        buckets[bucket].jobs += s.jobs;
        buckets[bucket].satellites++;
      }
      for (const bucket of Object.values(buckets))
        bucket.share = round(total === 0 ? 0 : bucket.jobs / total);
      domains[level] = buckets;
    }
    return {
      topology: baseName(this.topology.file),
      scenario: baseName(this.scenario.file),
      description: this.scenario.description,
      seed: this.seed,
      simulatedMs: round(simulatedMs),
      intervalMs: this.intervalMs,
      routerSteps: this.routerSteps,
      types: this.metrics.typeTotals(lost, this.endOfArrivals),
      timeline: this.metrics.timeline(simulatedMs),
      satellites,
      domains,
      events: this.eventLog,
      satelliteEvents: Object.fromEntries([...this.metrics.events].sort(([a], [b]) => (a < b ? -1 : 1))),
      ...(this.replicated ? { orchestrators: this.replicatedResult() } : {}),
    };
  }
}

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
