// One plain 7/MDP worker connection (RFC 7, MDP/0.1): a DEALER that sends READY for one service,
// takes one REQUEST at a time, answers it with REPLY, heartbeats, and reconnects with a new socket
// when the broker goes silent or says DISCONNECT. It knows nothing of dsat's extensions, so any
// Majordomo broker (or the dsat orchestrator, as a plain worker) can drive it.
import { Dealer } from "zeromq";
import { EMPTY, ErrorCode, MDP_WORKER, WorkerCommand, workerCommandFrames } from "../protocol/index.ts";
import { type CurveOptions, curveClientOptions } from "../security/index.ts";
import { SocketWriter } from "../transport/index.ts";
import { followConnection } from "./connection-events.ts";
import { errorBody } from "./mdp-body.ts";

export interface MdpWorkerOptions {
  endpoint: string;
  service: string;
  heartbeatMs: number;
  heartbeatLiveness: number;
  /** First reconnect delay; doubles up to reconnectMaxMs, back to reconnectMs once the broker speaks. */
  reconnectMs: number;
  reconnectMaxMs: number;
  curve: CurveOptions | undefined;
  log: (message: string) => void;
}

/** Runs one request: resolves with the REPLY body. `signal` fires if the broker forgets the request. */
export type MdpRequestHandler = (body: Buffer[], address: Buffer, signal: AbortSignal) => Promise<Buffer[]>;

/** Counters shared by the workers of one satellite. */
export interface MdpWorkerCounters {
  jobs: number;
  reconnects: number;
  /** Requests aborted because the broker said DISCONNECT while they ran (their reply is not sent). */
  cancelled: number;
  /** REQUESTs that came while a request was running (7/MDP forbids it): dropped unanswered. */
  dropped: number;
}

export class MdpWorker {
  private socket: Dealer | null = null;
  private writer: SocketWriter | null = null;
  /** The request running now; MDP allows one. */
  private running: AbortController | null = null;
  private lastHeardMs = Date.now();
  private lastSentMs = 0;
  private connected = false;
  private reconnectDelayMs: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private draining = false;
  private drained: (() => void) | null = null;

  constructor(
    private readonly options: MdpWorkerOptions,
    private readonly handle: MdpRequestHandler,
    private readonly counters: MdpWorkerCounters,
  ) {
    this.reconnectDelayMs = options.reconnectMs;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    const socket = new Dealer({
      ...curveClientOptions(this.options.curve),
      sendTimeout: 0,
      linger: 0,
    });
    this.socket = socket;
    this.connected = false;
    // While there is no connection libzmq retries and READY waits in the queue: silence then is no
    // reason to reconnect.
    followConnection(socket, () => socket === this.socket, {
      connected: () => {
        this.connected = true;
        this.lastHeardMs = Date.now();
      },
      disconnected: () => {
        this.connected = false;
      },
      refused: () => this.reconnect("the broker refused this satellite's CURVE key"),
    });
    socket.connect(this.options.endpoint);
    this.writer = new SocketWriter(socket, { backlogMax: 1_000, retryMs: 1, onDrop: () => {} });
    this.lastHeardMs = Date.now();
    this.send(workerCommandFrames(WorkerCommand.ready, Buffer.from(this.options.service)));
    void this.receiveLoop(socket);
  }

  private send(frames: Buffer[]): void {
    this.lastSentMs = Date.now();
    this.writer?.send(frames);
  }

  private reconnect(reason: string): void {
    if (this.stopped) return;
    if (this.draining) {
      // Leaving anyway: no new socket, no READY.
      this.abortRunning(reason);
      this.closeSocket();
      this.drained?.();
      this.drained = null;
      return;
    }
    this.options.log(`${this.options.service}: reconnecting (${reason}) in ${this.reconnectDelayMs} ms`);
    this.counters.reconnects++;
    this.abortRunning("the broker forgot the request");
    this.closeSocket();
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.options.reconnectMaxMs);
    // Not unref'd: between two sockets this timer is all that keeps a satellite process alive.
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delayMs);
  }

  private closeSocket(): void {
    this.writer?.close();
    this.writer = null;
    if (this.socket !== null && !this.socket.closed) this.socket.close();
    this.socket = null;
  }

  private async receiveLoop(socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        if (socket !== this.socket) break;
        this.onMessage(frames);
      }
    } catch (error) {
      if (socket === this.socket && !this.stopped)
        this.reconnect(`receive failed: ${(error as Error).message}`);
    }
  }

  private onMessage(frames: Buffer[]): void {
    // Anything but MDP/0.1 worker traffic is dropped unread (RFC 7: invalid messages are discarded).
    if (frames.length < 3 || frames[0].length !== 0 || !frames[1].equals(MDP_WORKER)) return;
    if (frames[2].length !== 1) return;
    this.lastHeardMs = Date.now(); // any command proves the broker alive
    this.reconnectDelayMs = this.options.reconnectMs;
    switch (frames[2][0]) {
      case WorkerCommand.request:
        if (frames.length >= 5 && frames[4].length === 0) this.onRequest(frames[3], frames.slice(5));
        return;
      case WorkerCommand.disconnect:
        this.reconnect("the broker sent DISCONNECT");
        return;
      default:
        return; // HEARTBEAT only refreshes lastHeardMs; other commands are not for workers
    }
  }

  private onRequest(address: Buffer, body: Buffer[]): void {
    if (this.running !== null || this.draining) {
      // A conforming broker sends a worker nothing while it works (or after it said DISCONNECT).
      this.counters.dropped++;
      this.options.log(`${this.options.service}: dropped a REQUEST that came while busy or draining`);
      return;
    }
    const controller = new AbortController();
    this.running = controller;
    this.counters.jobs++;
    const socket = this.socket;
    const handled = this.handle(body, address, controller.signal).catch((error: unknown) =>
      // The handler wrapper answers errors itself; this is the last resort.
      errorBody(ErrorCode.failed, error instanceof Error ? error.message : String(error)),
    );
    void handled.then((reply) => {
      if (this.running !== controller) return; // aborted: the broker has forgotten this request
      this.running = null;
      // Brokers heartbeat idle workers only, so the liveness window starts again now.
      this.lastHeardMs = Date.now();
      if (socket !== this.socket) return;
      this.send(workerCommandFrames(WorkerCommand.reply, address, EMPTY, ...reply));
      if (this.draining) this.finishDrain();
    });
  }

  private abortRunning(reason: string): void {
    const running = this.running;
    if (running === null) return;
    this.running = null;
    this.counters.cancelled++;
    running.abort(new Error(reason));
  }

  /** Called every heartbeat interval by the satellite: HEARTBEAT out, the broker's silence checked. */
  tick(nowMs: number): void {
    if (this.socket === null || this.draining) return;
    // No connection: silence means nothing yet. Busy: brokers (the guide's among them) send nothing
    // to a worker that is running a request, so silence then is no sign of a dead broker either.
    if (!this.connected || this.running !== null) this.lastHeardMs = nowMs;
    const silentMs = nowMs - this.lastHeardMs;
    if (silentMs > this.options.heartbeatMs * this.options.heartbeatLiveness) {
      this.reconnect(`broker silent for ${silentMs} ms`);
      return;
    }
    // Half an interval: the tick's own jitter must not skip every other heartbeat.
    if (nowMs - this.lastSentMs >= this.options.heartbeatMs / 2) {
      this.send(workerCommandFrames(WorkerCommand.heartbeat));
    }
  }

  /**
   * Leaves the broker: at once when idle, else after the running request's REPLY (the broker may
   * hand a queued request to this worker between the REPLY and the DISCONNECT: 7/MDP has no drain,
   * and that request is the broker's to lose or place again). Resolves once DISCONNECT is sent.
   */
  drain(): Promise<void> {
    if (this.stopped || this.socket === null) return Promise.resolve();
    this.draining = true;
    return new Promise((resolve) => {
      this.drained = resolve;
      if (this.running === null) this.finishDrain();
    });
  }

  private finishDrain(): void {
    this.send(workerCommandFrames(WorkerCommand.disconnect));
    this.drained?.();
    this.drained = null;
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.abortRunning("satellite stopped");
    this.closeSocket();
    this.drained?.();
    this.drained = null;
  }
}
