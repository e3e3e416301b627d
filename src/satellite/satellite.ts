// The satellite runtime: connects a handler to the orchestrator as an MDP worker that speaks
// dsat's extensions (capacity, location, ack, progress, cancel, drain).
//
//   export default defineSatellite({ type: "echo", concurrency: 8, handle: (payload) => payload });
//
// It registers (READY with id, types, location, capacity, weight), heartbeats both ways,
// reconnects with exponential backoff when the orchestrator goes silent or says DISCONNECT,
// runs each job with an AbortSignal, and drains on SIGTERM/SIGINT: tells the orchestrator, stops
// taking jobs, finishes the ones in flight, disconnects and exits. Jobs run in job-runner.ts; what
// they produce in a turn leaves in batches from reply-outbox.ts.
import { randomBytes } from "node:crypto";
import { Dealer } from "zeromq";
import { satelliteLog } from "../log/index.ts";
import {
  DSAT_MARK,
  loadHeartbeatFrames,
  type SatelliteHello,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../protocol/index.ts";
import { type CurveOptions, curveClientOptions, readyProof } from "../security/index.ts";
import { endpointList, receiveEach, SocketWriter } from "../transport/index.ts";
import { followConnection } from "./connection-events.ts";
import { OrchestratorContact } from "./contact.ts";
import type { SatelliteDefinition, SatelliteOptions } from "./definition.ts";
import { LocalReplicas, satelliteHostnames } from "./job-inputs.ts";
import { JobRunner } from "./job-runner.ts";
import { LoadMeter } from "./load-meter.ts";
import { exitAfterDrainOnSignals } from "./process-signals.ts";
import { ReplyOutbox } from "./reply-outbox.ts";
import type { ContextPort } from "./running-job.ts";

export {
  defineSatellite,
  type JobContext,
  NonRetryableError,
  type SatelliteDefinition,
  type SatelliteOptions,
} from "./definition.ts";

export class SatelliteRuntime {
  private socket: Dealer | null = null;
  private writer: SocketWriter | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastHeard = Date.now();
  private reconnectDelay: number;
  /** The socket has a live connection (libzmq's connect/disconnect events). */
  private connected = false;
  private draining = false;
  private stopped = false;
  private readonly types: string[];
  private readonly capacity: number;
  /** The orchestrators' frontends (`endpoint` may list a replicated set, comma-separated). */
  private readonly endpoints: readonly string[];
  private readonly curve: CurveOptions | undefined;
  private readonly messageBytesMax: number;
  private readonly options: Required<
    Omit<
      SatelliteOptions,
      "location" | "log" | "curve" | "protocol" | "messageBytesMax" | "load" | "hostnames"
    >
  > & {
    location: Array<[string, string]>;
    log: (message: string) => void;
  };
  /** Counters for tests and status. */
  readonly counters = { jobs: 0, done: 0, errors: 0, reconnects: 0, cancelled: 0, fenced: 0 };
  /** The jobs running, and the batches their replies and acks leave in. */
  private readonly jobs: JobRunner;
  private readonly outbox: ReplyOutbox;
  /** Logs long silences of the orchestrator and its return (docs/multi-host.md). */
  private readonly contact: OrchestratorContact;
  private unhookSignals: (() => void) | null = null;
  /** Its load, sent with each heartbeat once the orchestrator asked for it (loadWelcome). */
  private readonly loadMeter: LoadMeter;
  /** This connection's orchestrator sends HEARTBEAT with the dsat marker: it takes load reports. */
  private loadWelcome = false;

  constructor(definition: SatelliteDefinition, options: SatelliteOptions) {
    if (options.protocol !== undefined && options.protocol !== "dsat") {
      throw new TypeError(
        `SatelliteRuntime speaks dsat; for protocol "${options.protocol}" use runSatellite() or MdpSatelliteRuntime`,
      );
    }
    this.types = Array.isArray(definition.type) ? definition.type : [definition.type];
    this.capacity = definition.concurrency ?? 1;
    this.options = {
      location: options.location ?? [["host", options.id]],
      weight: options.weight ?? 1,
      heartbeatMs: options.heartbeatMs ?? 2500,
      heartbeatLiveness: options.heartbeatLiveness ?? 3,
      reconnectMs: options.reconnectMs ?? 250,
      reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
      handleSignals: options.handleSignals ?? false,
      log: options.log ?? satelliteLog(options.id),
      endpoint: options.endpoint,
      id: options.id,
    };
    this.endpoints = endpointList(options.endpoint);
    this.localReplicas = new LocalReplicas(
      this.options.location,
      satelliteHostnames(options.hostnames, process.env.DSAT_HOSTNAME_MAP, this.options.log),
    );
    this.reconnectDelay = this.options.reconnectMs;
    // Twice the liveness window: the reconnect on silence comes first, the log line if that did not help.
    this.contact = new OrchestratorContact(
      {
        endpoint: this.options.endpoint,
        heartbeatMs: this.options.heartbeatMs,
        silentBeats: 2 * this.options.heartbeatLiveness,
        log: this.options.log,
      },
      Date.now(),
    );
    this.curve = options.curve;
    this.loadMeter = new LoadMeter(options.load);
    this.messageBytesMax = options.messageBytesMax ?? 1024 * 1024;
    this.outbox = new ReplyOutbox(this.contextPort);
    this.jobs = new JobRunner(
      definition,
      {
        satelliteId: options.id,
        replicated: this.endpoints.length > 1,
        messageBytesMax: this.messageBytesMax,
      },
      this.contextPort,
      this.outbox,
      this.counters,
    );
  }

  /** Connects and registers; resolves once READY is sent. */
  async start(): Promise<void> {
    this.connect();
    this.heartbeatTimer = setInterval(() => this.onHeartbeatTick(), this.options.heartbeatMs);
    this.heartbeatTimer.unref?.();
    if (this.options.handleSignals) {
      this.unhookSignals = exitAfterDrainOnSignals(() => this.drain());
    }
    // pm2's wait_ready: the process is ready once it has registered.
    process.send?.("ready");
  }

  /**
   * READY's hello. On a CURVE topology the first READY names the key; the orchestrator answers with
   * a CHALLENGE nonce, and the second READY proves the key over it (src/security/proof.ts).
   */
  private hello(nonce?: string): SatelliteHello {
    const curve = this.curve;
    return {
      id: this.options.id,
      types: this.types,
      location: this.options.location,
      capacity: this.capacity,
      weight: this.options.weight,
      batch: true,
      inputs: true,
      heartbeatMs: this.options.heartbeatMs,
      incarnation: this.incarnation,
      ...(curve !== undefined ? { key: curve.publicKey } : {}),
      ...(curve !== undefined && nonce !== undefined
        ? { proof: readyProof(curve, curve.serverPublicKey, this.options.id, nonce) }
        : {}),
    };
  }

  private connect(): void {
    const socket = new Dealer({
      ...curveClientOptions(this.curve),
      sendTimeout: 0,
      linger: 0,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      // Several orchestrators (a replicated set): READY and replies go only to a connected one, the
      // leader, never queue for a follower that does not listen.
      immediate: this.endpoints.length > 1,
    });
    this.socket = socket;
    this.connected = false;
    // Per socket: a fresh registration may meet a set whose terms started again (a wiped cluster).
    this.jobs.resetEpoch();
    // While there is no connection libzmq retries every 100 ms and READY waits in the queue, so
    // silence then is no reason to back off: a restarted orchestrator gets READY as it binds.
    let connectedBefore = false;
    // A connection of this socket closed (a leader killed, or deposed and unbound): the next one
    // is where to register.
    let lostOne = false;
    followConnection(socket, () => socket === this.socket, {
      connected: () => {
        if (connectedBefore) {
          // Several orchestrators: another node's socket accepting a connection (a leader just
          // elected, or a stopped one whose kernel still accepts) is no news while the one we are
          // registered with talks to us; a deposed leader says DISCONNECT, a silent one times out.
          if (
            this.endpoints.length > 1 &&
            this.registered &&
            !lostOne &&
            Date.now() - this.lastHeard < 2 * this.options.heartbeatMs
          )
            return;
          // libzmq reconnected this socket: the orchestrator may have restarted and forgotten us.
          setImmediate(() => {
            if (socket === this.socket) this.registerAgain();
          });
          return;
        }
        connectedBefore = true;
        this.connected = true;
        this.lastHeard = Date.now();
      },
      disconnected: () => {
        this.connected = false;
        lostOne = true;
      },
      // Reconnect with backoff, so the satellite registers once its key is listed (reload-keys).
      refused: () => this.reconnect("the orchestrator refused this satellite's CURVE key"),
    });
    for (const endpoint of this.endpoints) socket.connect(endpoint);
    this.writer = new SocketWriter(socket, { backlogMax: 100_000, retryMs: 1, onDrop: () => {} });
    this.lastHeard = Date.now();
    this.writer.send(workerReadyFrames(this.types[0], this.hello()));
    // Without CURVE this READY registers us; with it, the one answering the CHALLENGE does.
    if (this.curve === undefined) this.onRegistered();
    void this.receiveLoop(socket);
  }

  private reconnect(reason: string): void {
    if (this.stopped) return;
    this.options.log(`reconnecting (${reason}) in ${this.reconnectDelay} ms`);
    this.counters.reconnects++;
    this.closeSocket();
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.options.reconnectMaxMs);
    // Not unref'd: between two sockets this timer is all that keeps a satellite process alive.
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private reconnectTimer: NodeJS.Timeout | null = null;

  /**
   * Registers again at once on a fresh socket (READY first; the old socket's queue of heartbeats
   * and replies is dropped), instead of waiting for a heartbeat to be answered with DISCONNECT
   * and a backoff: a restarted orchestrator gets its satellites back within one libzmq reconnect
   * interval (100 ms) of binding (docs/journal.md, "What a client sees during a restart").
   */
  private registerAgain(): void {
    if (this.stopped) return;
    this.options.log("connection back (the orchestrator may have restarted): registering again");
    this.counters.reconnects++;
    this.closeSocket();
    this.connect();
  }

  private closeSocket(): void {
    this.registered = false;
    this.loadWelcome = false; // the next connection's orchestrator says again
    this.outbox.closed(); // its receive loop ends: no flush will come from it
    this.writer?.close();
    this.writer = null;
    if (this.socket !== null && !this.socket.closed) this.socket.close();
    this.socket = null;
  }

  private async receiveLoop(socket: Dealer): Promise<void> {
    try {
      await receiveEach(
        socket,
        (frames) => {
          if (socket !== this.socket) return; // replaced: closed, its loop ends
          const now = Date.now();
          this.lastHeard = now;
          this.contact.heard(now);
          this.reconnectDelay = this.options.reconnectMs;
          this.outbox.received();
          this.onMessage(frames);
        },
        // Nothing more to read: acks and replies leave once the handlers that finished at once
        // have, instead of at the end of the turn (docs/performance.md). More to read: at the
        // end of the turn, as they would without this.
        {
          drained: () => {
            if (socket === this.socket) this.outbox.flush();
          },
          pending: () => this.outbox.flushAtEndOfTurn(),
        },
      );
    } catch (error) {
      if (socket === this.socket && !this.stopped)
        this.reconnect(`receive failed: ${(error as Error).message}`);
    }
  }

  private onMessage(frames: Buffer[]): void {
    if (frames.length < 3 || frames[2].length !== 1) return;
    switch (frames[2][0]) {
      case WorkerCommand.request:
        this.jobs.startRequest(frames);
        return;
      case WorkerCommand.requestBatch:
        this.jobs.startBatch(frames);
        return;
      case WorkerCommand.cancel: {
        const address = frames[3];
        if (address === undefined) return;
        this.jobs.cancel(address.toString());
        return;
      }
      case WorkerCommand.disconnect:
        this.reconnect("the orchestrator asked to reconnect");
        return;
      case WorkerCommand.challenge: {
        // Prove our key over this connection's nonce (only meaningful with CURVE).
        const nonce = frames[3];
        if (this.curve !== undefined && nonce !== undefined && nonce.length > 0 && nonce.length <= 64) {
          this.writer?.send(workerReadyFrames(this.types[0], this.hello(nonce.toString("hex"))));
          this.onRegistered();
        }
        return;
      }
      case WorkerCommand.heartbeat:
        // An orchestrator that takes load reports says so in its heartbeats (protocol/load.ts).
        if (frames[3]?.equals(DSAT_MARK) === true) this.loadWelcome = true;
        return;
      default:
        return; // heartbeats only refresh lastHeard
    }
  }

  /**
   * Sends on the current connection once it is registered. Between connections (a reconnect after
   * the orchestrator went silent, e.g. while its own loop stalled) what jobs produce (replies,
   * acks, progress) is held, up to HELD_MAX messages, and sent once READY is: the orchestrator
   * takes this process's attempts over to the new connection (same id and incarnation).
   */
  private send(frames: Buffer[]): void {
    if (this.writer !== null && this.registered) this.writer.send(frames);
    else if (this.held.length < HELD_MAX) this.held.push(frames);
  }

  private onRegistered(): void {
    this.registered = true;
    const held = this.held;
    this.held = [];
    for (const frames of held) this.writer?.send(frames);
  }

  private held: Buffer[][] = [];
  /** What a job's context may do (one object for all jobs, RunningJobContext). */
  private readonly contextPort: ContextPort = {
    send: (frames) => this.send(frames),
    log: (line) => this.options.log(line),
    isLocal: (address) => this.localReplicas.isLocal(address),
  };
  private readonly localReplicas: LocalReplicas;
  /** READY that registers this connection has been sent. */
  private registered = false;
  /** Tells this process from a restarted one with the same id (hello.incarnation). */
  private readonly incarnation = randomBytes(12).toString("base64url");

  private onHeartbeatTick(): void {
    if (!this.draining) this.contact.tick(Date.now(), this.connected);
    if (this.socket === null) return;
    if (!this.connected) this.lastHeard = Date.now(); // no connection: silence means nothing yet
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs > this.options.heartbeatMs * this.options.heartbeatLiveness) {
      // No backoff for silence: a stalled orchestrator that resumes finds us back at once, and
      // takes this process's running jobs over to the new connection (same incarnation).
      this.reconnectDelay = this.options.reconnectMs;
      this.reconnect(`orchestrator silent for ${silentMs} ms`);
      return;
    }
    const load = this.loadMeter.sample(this.jobs.size, this.counters.done, this.counters.errors);
    this.writer?.send(
      this.loadWelcome ? loadHeartbeatFrames(load) : workerCommandFrames(WorkerCommand.heartbeat),
    );
  }

  /** Jobs running now. */
  get inFlight(): number {
    return this.jobs.size;
  }

  /**
   * Graceful drain: tell the orchestrator to send nothing more, finish the jobs in flight (up to
   * `timeoutMs`, then abort them), say DISCONNECT and close.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    if (this.stopped) return;
    this.draining = true;
    this.writer?.send(workerCommandFrames(WorkerCommand.drain));
    this.options.log(`draining ${this.jobs.size} job(s)`);
    if (this.jobs.size > 0) {
      await new Promise<void>((resolve) => {
        this.jobs.whenIdle(resolve);
        setTimeout(resolve, timeoutMs).unref?.();
      });
    }
    this.jobs.abortAll("satellite shutting down");
    // Replies still in the batch outbox must leave before DISCONNECT, or the orchestrator would
    // reroute jobs that are already done.
    this.outbox.flush();
    this.writer?.send(workerCommandFrames(WorkerCommand.disconnect));
    // Give the DISCONNECT and last replies a moment to leave before closing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.stop();
  }

  /** Stops at once (jobs in flight are aborted; the orchestrator reroutes them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.loadMeter.close();
    this.unhookSignals?.();
    this.jobs.stopAll("satellite stopped");
    this.closeSocket();
  }
}

/** Messages of running jobs held between two connections (beyond, they are dropped). */
const HELD_MAX = 100_000;
