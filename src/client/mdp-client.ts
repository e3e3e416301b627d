// The client in "mdp" mode: plain 7/MDP requests (RFC 7, MDP/0.1), for any Majordomo broker
// (docs/protocol.md, "Foreign Majordomo brokers").
//
//   const client = await connect("tcp://127.0.0.1:5555", { protocol: "mdp", inFlightMax: 4 });
//   const result = await client.request("echo", { hello: 1 }, { timeoutMs: 5000 });
//
// A plain MDP reply carries no correlation id, so each DEALER socket has at most one request
// outstanding: `inFlightMax` sockets give a window of that many, and the rest wait here in order.
// On a timeout the socket is closed and a new one opened (Lazy Pirate), so a late reply can never
// be taken for the next request's. Nothing is retried: the request may have run.
import { Dealer } from "zeromq";
import { EMPTY, ErrorCode, encode, MDP_CLIENT } from "../protocol/index.ts";
import { type CurveOptions, curveClientOptions } from "../security/index.ts";
import { DeadlineHeap } from "../util/index.ts";
import { CancelledError, DsatError, errorFor, RejectedError, TimeoutError } from "./errors.ts";
import { decodeResult } from "./result.ts";

export interface MdpClientOptions {
  /** CURVE keys, when the broker is a CURVE server. */
  curve?: CurveOptions;
  /** Default request deadline, ms (default 30,000). */
  timeoutMs?: number;
  /** Requests outstanding at once, one DEALER socket each (default 1, at most 256). */
  inFlightMax?: number;
  /** Largest payload sent, bytes (default 1 MiB); larger ones are refused with DSAT_ERR_TOO_LARGE. */
  messageBytesMax?: number;
  /** Requests waiting for a free socket, beyond which request() refuses with DSAT_ERR_OVERLOADED (default 10,000). */
  queueMax?: number;
  /** Not available over plain MDP: setting either makes the constructor throw (they are ClientOptions'). */
  publish?: string;
  events?: string;
}

export interface MdpRequestOptions {
  /** Deadline, ms, counted from the call (time spent waiting for a free socket included). */
  timeoutMs?: number;
  /**
   * Aborting it gives up on the request here (CancelledError) and opens a new socket; the broker
   * and worker are not told (7/MDP has no cancel), so the job may still run.
   */
  signal?: AbortSignal;
  /** Not available over plain MDP (no header to carry them): setting one throws. */
  key?: string;
  id?: string;
}

/** Most sockets one client opens (`inFlightMax`). */
export const MDP_IN_FLIGHT_MAX = 256;

/** How often deadlines are checked, ms. */
const SWEEP_MS = 25;

const SERVICE_NAME = /^[\x21-\x7e]{1,255}$/;

interface Pending {
  type: string;
  body: Buffer;
  deadline: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The socket it was sent on; null while it waits for one. */
  slot: Slot | null;
  settled: boolean;
}

/** For deadlines.prune(): a settled request's entry is dropped. */
function isUnsettled(pending: Pending): boolean {
  return !pending.settled;
}

interface Slot {
  socket: Dealer;
  current: Pending | null;
}

export class MdpClient {
  readonly protocol = "mdp";
  private readonly slots: Slot[] = [];
  private readonly idleSlots: Slot[] = [];
  /** Requests waiting for a free socket, oldest first (`queueHead` is the next one). */
  private queue: Pending[] = [];
  private queueHead = 0;
  private readonly deadlines = new DeadlineHeap<Pending>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private outstanding = 0;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly inFlightMax: number;
  private readonly messageBytesMax: number;
  private readonly queueMax: number;
  /** Counters for tests and status. */
  readonly counters = { sent: 0, replies: 0, timeouts: 0, socketsReopened: 0, strayReplies: 0 };

  constructor(
    readonly endpoint: string,
    private readonly options: MdpClientOptions = {},
  ) {
    if (options.publish !== undefined || options.events !== undefined) {
      throw new TypeError(
        'connect(): publish and events need the dsat orchestrator; they are not available with protocol "mdp"',
      );
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.inFlightMax = options.inFlightMax ?? 1;
    this.messageBytesMax = options.messageBytesMax ?? 1024 * 1024;
    this.queueMax = options.queueMax ?? 10_000;
    if (
      !Number.isSafeInteger(this.inFlightMax) ||
      this.inFlightMax < 1 ||
      this.inFlightMax > MDP_IN_FLIGHT_MAX
    ) {
      throw new RangeError(
        `connect(): with protocol "mdp", inFlightMax is the number of sockets (one request each), an integer in 1..${MDP_IN_FLIGHT_MAX}; got ${this.inFlightMax}`,
      );
    }
  }

  /** Sends `msgpack(payload)` to the service `type` and resolves with the decoded reply. */
  async request<Result = unknown>(
    type: string,
    payload: unknown,
    options: MdpRequestOptions = {},
  ): Promise<Result> {
    if (this.closed) throw new DsatError("DSAT_ERR_CLOSED", "the client is closed");
    if (options.key !== undefined || options.id !== undefined) {
      throw new TypeError(
        'request(): key and id need dsat headers; they are not available with protocol "mdp"',
      );
    }
    if (typeof type !== "string" || !SERVICE_NAME.test(type)) {
      throw new TypeError("request(): the type (MDP service) must be 1-255 printable ASCII characters");
    }
    if (options.signal?.aborted) throw new CancelledError(ErrorCode.cancelled, "aborted before it was sent");
    const body = encode(payload);
    if (body.length > this.messageBytesMax) {
      throw new RejectedError(
        ErrorCode.tooLarge,
        `payload of ${body.length} bytes exceeds the limit of ${this.messageBytesMax}`,
      );
    }
    if (this.queue.length - this.queueHead >= this.queueMax) {
      throw new RejectedError(ErrorCode.overloaded, `${this.queueMax} requests already wait for a socket`);
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<Result>((resolve, reject) => {
      const pending: Pending = {
        type,
        body,
        deadline: Date.now() + timeoutMs,
        resolve: resolve as (value: unknown) => void,
        reject,
        slot: null,
        settled: false,
      };
      options.signal?.addEventListener(
        "abort",
        () => this.giveUp(pending, new CancelledError(ErrorCode.cancelled, "aborted by the caller")),
        { once: true },
      );
      this.outstanding++;
      this.deadlines.push(pending.deadline, pending);
      this.deadlines.prune(this.outstanding, isUnsettled);
      this.startSweep();
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Requests sent or waiting. */
  get inFlight(): number {
    return this.outstanding;
  }

  cancel(_jobId: string): never {
    throw new DsatError(
      "DSAT_ERR_CLOSED",
      'cancel() needs the dsat orchestrator; not available with protocol "mdp"',
    );
  }

  publish(_type: string, _payload: unknown, _options?: unknown): never {
    throw new DsatError(
      "DSAT_ERR_CLOSED",
      'publish() needs the dsat orchestrator; not available with protocol "mdp"',
    );
  }

  events(_prefix?: string): never {
    throw new DsatError(
      "DSAT_ERR_CLOSED",
      'events() needs the dsat orchestrator; not available with protocol "mdp"',
    );
  }

  /** Sends waiting requests on free sockets, opening sockets up to inFlightMax. */
  private pump(): void {
    while (this.queueHead < this.queue.length && !this.closed) {
      const pending = this.queue[this.queueHead];
      if (pending.settled) {
        this.dequeue();
        continue;
      }
      const slot =
        this.idleSlots.pop() ?? (this.slots.length < this.inFlightMax ? this.openSlot() : undefined);
      if (slot === undefined) return;
      this.dequeue();
      this.send(slot, pending);
    }
  }

  private dequeue(): void {
    this.queueHead++;
    // Compact now and then, so the array does not grow without end (no O(n) shift per request).
    if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private openSlot(): Slot {
    const slot: Slot = { socket: this.newSocket(), current: null };
    this.slots.push(slot);
    void this.receiveLoop(slot, slot.socket);
    return slot;
  }

  private newSocket(): Dealer {
    const socket = new Dealer({ ...curveClientOptions(this.options.curve), sendTimeout: 0, linger: 0 });
    socket.connect(this.endpoint);
    return socket;
  }

  private send(slot: Slot, pending: Pending): void {
    slot.current = pending;
    pending.slot = slot;
    this.counters.sent++;
    // One request per socket at a time, so this send never meets another pending one (no EBUSY).
    slot.socket.send([EMPTY, MDP_CLIENT, Buffer.from(pending.type), pending.body]).catch((error: unknown) => {
      if (slot.current === pending) {
        this.giveUp(pending, new DsatError("DSAT_ERR_CLOSED", `send failed: ${(error as Error).message}`));
      }
    });
  }

  private async receiveLoop(slot: Slot, socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        if (slot.socket !== socket) break;
        this.onReply(slot, frames);
      }
    } catch {
      // closed
    }
  }

  private onReply(slot: Slot, frames: Buffer[]): void {
    const pending = slot.current;
    // "", "MDPC01", service, body...: anything else, or a reply nobody waits for, is dropped.
    if (
      pending === null ||
      frames.length < 3 ||
      frames[0].length !== 0 ||
      !frames[1].equals(MDP_CLIENT) ||
      frames[2].toString("latin1") !== pending.type
    ) {
      this.counters.strayReplies++;
      return;
    }
    this.counters.replies++;
    const outcome = readReply(frames.slice(3));
    this.release(slot);
    this.settle(pending);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome.value);
    this.pump();
  }

  /** The socket is free for the next request. */
  private release(slot: Slot): void {
    slot.current = null;
    if (!this.closed) this.idleSlots.push(slot);
  }

  /** Rejects a request here; a socket it was sent on is replaced (Lazy Pirate). */
  private giveUp(pending: Pending, error: Error): void {
    if (pending.settled) return;
    this.settle(pending);
    const slot = pending.slot;
    if (slot !== null && slot.current === pending && !this.closed) {
      slot.socket.close();
      slot.socket = this.newSocket();
      slot.current = null;
      this.counters.socketsReopened++;
      void this.receiveLoop(slot, slot.socket);
      this.idleSlots.push(slot);
    }
    pending.reject(error);
    this.pump();
  }

  private settle(pending: Pending): void {
    pending.settled = true;
    this.outstanding--;
    if (this.outstanding === 0) this.stopSweep();
  }

  private startSweep(): void {
    // Referenced while requests are outstanding: their timeouts must fire even if nothing else runs.
    if (this.sweepTimer === null) this.sweepTimer = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
  }

  private stopSweep(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private sweep(now: number): void {
    for (;;) {
      const due = this.deadlines.popDue(now);
      if (due === undefined) return;
      if (due.settled) continue;
      this.counters.timeouts++;
      this.giveUp(
        due,
        new TimeoutError(
          ErrorCode.timeout,
          due.slot === null
            ? "no free socket before the deadline"
            : "no reply from the broker before the deadline (the socket was replaced)",
        ),
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSweep();
    const waiting = [...this.slots.map((slot) => slot.current), ...this.queue.slice(this.queueHead)];
    for (const pending of waiting) {
      if (pending === null || pending.settled) continue;
      pending.settled = true;
      pending.reject(new DsatError("DSAT_ERR_CLOSED", "the client was closed before the reply"));
    }
    this.outstanding = 0;
    this.queue = [];
    this.queueHead = 0;
    this.idleSlots.length = 0;
    for (const slot of this.slots) slot.socket.close();
  }
}

/**
 * A reply body: two frames whose first is a DSAT_ERR_* code reject with that code's error (how dsat
 * answers plain MDP peers); one frame is decoded as MessagePack, or returned as bytes when it is not
 * MessagePack; any other number of frames is returned as a Buffer[].
 */
function readReply(body: Buffer[]): { value: unknown } | DsatError {
  if (body.length === 2) {
    const code = body[0].toString("latin1");
    if (/^DSAT_ERR_[A-Z_]{1,40}$/.test(code)) return errorFor(code, body[1].toString("utf8"));
  }
  if (body.length !== 1) return { value: body };
  const result = decodeResult(body[0]);
  return result instanceof RejectedError ? result : { value: result };
}
