// The dsat client: pipelined requests over one DEALER (correlation ids, no lock-step), fire-and-
// forget publishing over PUB, and the orchestrator's events over SUB.
//
//   const client = await connect("tcp://127.0.0.1:5555", { publish: "tcp://127.0.0.1:5556", events: "tcp://127.0.0.1:5557" });
//   const result = await client.request("echo", { hello: 1 }, { key: "user-42", timeoutMs: 5000 });

import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Span } from "@opentelemetry/api";
import type TypedEmitter from "typed-emitter";
import { Dealer, Publisher, Subscriber } from "zeromq";
import {
  BATCH_ENTRIES_MAX,
  BATCH_FLUSH_ENTRIES,
  clientBatchFrames,
  DSAT_BATCH_MARK,
  DSAT_MARK,
  decode,
  ErrorCode,
  encode,
  isReplyEntry,
  MDP_CLIENT,
  type RequestEntry,
  SESSION_BYTES_MAX,
  splitBatch,
} from "../protocol/index.ts";
import { curveClientOptions } from "../security/index.ts";
import { endRequestSpan, startRequestSpan, traceparentOf } from "../tracing/index.ts";
import { EndOfTurn, endpointList, receiveEach, SocketWriter } from "../transport/index.ts";
import { DeadlineHeap } from "../util/index.ts";
import {
  CancelledError,
  DsatError,
  errorFor,
  JobFailedError,
  NoSatelliteError,
  NotFoundError,
  RejectedError,
  TimeoutError,
  UnknownTypeError,
} from "./errors.ts";
import { inputsBytes } from "./inputs.ts";
import { MdpClient } from "./mdp-client.ts";
import type { ClientOptions, OrchestratorEvent, RequestOptions } from "./options.ts";
import { decodeResult } from "./result.ts";
import { TitanicClient } from "./titanic.ts";

export type { ClientOptions, OrchestratorEvent, RequestOptions } from "./options.ts";

export {
  CancelledError,
  DsatError,
  JobFailedError,
  NoSatelliteError,
  NotFoundError,
  RejectedError,
  TimeoutError,
  UnknownTypeError,
};

type ClientEvents = {
  /** A reply for a request that was no longer waiting (late or duplicate). */
  "reply:orphan": (correlation: number) => void;
  /** The connection came back and this many waiting requests were sent again. */
  resent: (count: number) => void;
  /** The request socket dropped a message (e.g. backlog overflow). */
  "send:dropped": (reason: string) => void;
  /** The orchestrator refused this client's CURVE key; it connects again in `retryMs`. */
  "auth:refused": (retryMs: number) => void;
};

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  deadline: number;
  /** Kept to send it again after a reconnect. */
  entry: RequestEntry;
  body: Buffer;
  /** The request's `dsat.request` span when the caller had an active span (docs/observability.md). */
  span: Span | null;
}

/** Bytes of payload after which a batch leaves at once. */
const BATCH_BYTES_MAX = 256 * 1024;

/** How long past its own deadline a request waits for the orchestrator's timeout reply. */
const CLIENT_GRACE_MS = 1000;

export class Client extends (EventEmitter as new () => TypedEmitter.default<ClientEvents>) {
  private readonly dealer: Dealer;
  private readonly writer: SocketWriter;
  private publisher: Publisher | null = null;
  private publishWriter: SocketWriter | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly deadlines = new DeadlineHeap();
  /** For deadlines.prune(): made once, not per request. */
  private readonly isPending = (correlation: number): boolean => this.pending.has(correlation);
  private nextCorrelation = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly waiters: Array<() => void> = [];
  private readonly timeoutMs: number;
  private readonly inFlightMax: number;
  /**
   * The socket's routing id and the prefix of the job ids this client makes up. Fixed for the
   * client's life, so a restarted orchestrator can still route a replayed job's reply here.
   */
  private readonly clientId = `c${randomBytes(9).toString("base64url")}`;
  private readonly messageBytesMax: number;
  /** The session token sent with every batch (ClientOptions.session). */
  private readonly session: Buffer;

  /** The orchestrators' frontends: one, or each of a replicated set (only the leader binds). */
  readonly endpoints: readonly string[];
  /** 9/TSP: jobs stored by the orchestrator, their results fetched later by uuid (titanic.ts). */
  readonly titanic: TitanicClient;

  constructor(
    readonly endpoint: string,
    private readonly options: ClientOptions = {},
  ) {
    super();
    this.endpoints = endpointList(endpoint);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.inFlightMax = options.inFlightMax ?? 10_000;
    this.messageBytesMax = options.messageBytesMax ?? 1024 * 1024;
    this.session = sessionToken(options);
    this.titanic = new TitanicClient(this.endpoints, {
      curve: options.curve,
      timeoutMs: this.timeoutMs,
      messageBytesMax: this.messageBytesMax,
    });
    const curve = curveClientOptions(options.curve);
    this.dealer = new Dealer({
      ...curve,
      routingId: this.clientId,
      sendTimeout: 0,
      linger: 0,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      // Several orchestrators: requests go only to a connected one (the leader), never queue for
      // a follower that does not listen.
      immediate: this.endpoints.length > 1,
      // ... and a leader cut off by the network keeps no connection: no FIN or RST crosses a
      // partition, so without a ZMTP PING answered in time its TCP connection stays "up" and gets
      // its share of the requests until the deadline (docs/multi-host.md, replicated orchestrators).
      ...(this.endpoints.length > 1
        ? { heartbeatInterval: LINK_PING_MS, heartbeatTimeout: LINK_TIMEOUT_MS }
        : {}),
    });
    // Before connect(): libzmq's monitor misses the events from before it exists (docs/journal.md).
    if (options.resendOnReconnect !== false) this.resendAfterReconnect();
    for (const each of this.endpoints) this.dealer.connect(each);
    this.writer = new SocketWriter(this.dealer, {
      backlogMax: 100_000,
      retryMs: 1,
      onDrop: (_frames, reason) => this.emit("send:dropped", reason),
    });
    if (options.publish !== undefined) {
      this.publisher = new Publisher({ ...curve, sendTimeout: 0, linger: 1000 });
      for (const each of endpointList(options.publish)) this.publisher.connect(each);
      this.publishWriter = new SocketWriter(this.publisher, {
        backlogMax: 100_000,
        retryMs: 1,
        onDrop: (_frames, reason) => this.emit("send:dropped", reason),
      });
    }
    void this.receiveLoop();
    this.retryAfterRefusal();
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), 100);
    this.sweepTimer.unref?.();
  }

  /**
   * A connection after the first, or after a lost one, may reach a restarted orchestrator that
   * never got (or never made durable) the requests still waiting: they are all sent again. Either
   * sign suffices, so one missed monitor event cannot leave requests unanswered (issue 20: the
   * first "connect" went unseen in ~3% of clients when the monitor started after connect()).
   */
  private resendAfterReconnect(): void {
    let connected = false;
    let lost = false;
    this.dealer.events.on("disconnect", () => {
      lost = true;
      // A replicated set: a deposed leader closed its connection, maybe while another node already
      // serves (no new connection will come). What it held may never commit: send it all again now;
      // it waits in the writer until a node serves (same ids: the leader runs each job once).
      if (this.endpoints.length > 1) this.resendPending();
    });
    this.dealer.events.on("connect", () => {
      if (connected || lost) this.resendPending();
      connected = true;
    });
  }

  /**
   * libzmq does not reconnect after a refused CURVE handshake (a key not allowed yet): connect
   * again with backoff, so the client gets in once its key is listed (reload-keys). Requests wait
   * in the socket's queue meanwhile, bounded by their timeouts.
   */
  private retryAfterRefusal(): void {
    let delayMs = REFUSED_RETRY_MS;
    this.dealer.events.on("handshake:error:auth", () => {
      const retryMs = delayMs;
      delayMs = Math.min(delayMs * 2, REFUSED_RETRY_MAX_MS);
      this.emit("auth:refused", retryMs);
      const timer = setTimeout(() => {
        if (this.closed) return;
        for (const each of this.endpoints) {
          this.dealer.disconnect(each);
          this.dealer.connect(each);
        }
      }, retryMs);
      timer.unref?.();
    });
    this.dealer.events.on("handshake", () => {
      delayMs = REFUSED_RETRY_MS;
    });
  }

  /** Sends a job and resolves with its (final pipeline step's) result. */
  request<Result = unknown>(type: string, payload: unknown, options: RequestOptions = {}): Promise<Result> {
    if (this.closed) return Promise.reject(new DsatError("DSAT_ERR_CLOSED", "the client is closed"));
    if (this.pending.size >= this.inFlightMax) return this.requestWhenRoom(type, payload, options);
    // Not an async function: the caller's `await` resumes one promise hop after the reply, in time
    // for the flush that follows the reply (receiveLoop), so a closed loop's next request leaves at once.
    try {
      return this.queueRequest<Result>(type, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** request() once fewer than inFlightMax requests wait. */
  private async requestWhenRoom<Result>(
    type: string,
    payload: unknown,
    options: RequestOptions,
  ): Promise<Result> {
    while (this.pending.size >= this.inFlightMax)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.queueRequest<Result>(type, payload, options);
  }

  /** Queues one request for the next batch; throws what request() rejects with. */
  private queueRequest<Result>(type: string, payload: unknown, options: RequestOptions): Promise<Result> {
    const correlation = this.nextCorrelation++;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    // Every job gets an id: cancelling and resending after a reconnect both name it.
    const id = options.id ?? `${this.clientId}-${correlation.toString(36)}`;
    if (options.signal !== undefined) {
      if (options.signal.aborted) throw new CancelledError(ErrorCode.cancelled, "aborted before it was sent");
      options.signal.addEventListener("abort", () => this.cancel(id), { once: true });
    }
    const body = encode(payload);
    if (body.length > this.messageBytesMax) {
      throw new RejectedError(
        ErrorCode.tooLarge,
        `payload of ${body.length} bytes exceeds the limit of ${this.messageBytesMax}`,
      );
    }
    const inputs = options.inputs === undefined ? null : inputsBytes(options.inputs);
    const entry: RequestEntry = [type, correlation, body.length, timeoutMs, id, options.key ?? null];
    // Traced only under an active span: its context travels as the entry's traceparent.
    const span = startRequestSpan(type, id);
    if (span !== null) {
      const traceparent = traceparentOf(span);
      if (traceparent !== null) entry.push(traceparent);
    }
    // The 8th element, only for jobs with inputs (after a null traceparent when untraced).
    if (inputs !== null) {
      if (entry.length === 6) entry.push(null);
      entry.push(inputs);
    }
    return new Promise<Result>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs + CLIENT_GRACE_MS;
      this.pending.set(correlation, {
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline,
        entry,
        body,
        span,
      });
      this.deadlines.push(deadline, correlation);
      this.deadlines.prune(this.pending.size, this.isPending);
      this.enqueue(entry, body);
    });
  }

  private enqueue(entry: RequestEntry, body: Buffer): void {
    this.outboxEntries.push(entry);
    this.outboxPayloads.push(body);
    this.outboxBytes += body.length;
    // A batch stays well under the orchestrator's message limit.
    if (this.outboxEntries.length >= BATCH_FLUSH_ENTRIES || this.outboxBytes >= BATCH_BYTES_MAX) this.flush();
    // Made on a reply's result: the receive loop sends it (receiveLoop). Otherwise: end of turn.
    else if (!this.replyTurn) this.endOfTurn.schedule();
  }

  /** One request again after NOT_LEADER_RETRY_MS, if it is still pending and its deadline allows. */
  private resendSoon(pending: Pending): void {
    const timer = setTimeout(() => {
      if (this.closed || !this.pending.has(pending.entry[1])) return;
      const remainingMs = pending.deadline - CLIENT_GRACE_MS - Date.now();
      if (remainingMs <= 0) return;
      const [type, correlation, length, , id, key] = pending.entry;
      const entry: RequestEntry = [type, correlation, length, remainingMs, id, key];
      entry.push(...pending.entry.slice(6)); // traceparent, inputs
      this.enqueue(entry, pending.body);
    }, NOT_LEADER_RETRY_MS);
    timer.unref?.();
  }

  /** The connection came back: whatever the orchestrator may have lost is sent again, same ids. */
  private resendPending(): void {
    if (this.closed) return;
    const now = Date.now();
    let resent = 0;
    for (const pending of this.pending.values()) {
      const remainingMs = pending.deadline - CLIENT_GRACE_MS - now;
      if (remainingMs <= 0) continue;
      const [type, correlation, length, , id, key] = pending.entry;
      const entry: RequestEntry = [type, correlation, length, remainingMs, id, key];
      entry.push(...pending.entry.slice(6)); // traceparent, inputs
      this.enqueue(entry, pending.body);
      resent++;
    }
    if (resent > 0) this.emit("resent", resent);
  }

  // Requests made in one event-loop turn leave as one batch message (protocol/batch.ts).
  private outboxEntries: RequestEntry[] = [];
  private outboxPayloads: Buffer[] = [];
  private outboxBytes = 0;
  private readonly endOfTurn = new EndOfTurn(() => this.flush());
  /**
   * A reply was handled and the receive loop has not flushed since: it will (at once when its
   * socket is drained, else at the end of the turn), so requests made meanwhile need no setImmediate.
   */
  private replyTurn = false;

  private flush(): void {
    this.replyTurn = false;
    if (this.outboxEntries.length === 0 || this.closed) return;
    const entries = this.outboxEntries;
    const payloads = this.outboxPayloads;
    this.outboxEntries = [];
    this.outboxPayloads = [];
    this.outboxBytes = 0;
    this.writer.send(clientBatchFrames(entries, payloads, this.session));
  }

  /**
   * Cancels a job this client sent (by the id given in `request`'s options): the satellite's
   * AbortSignal fires and the request rejects with CancelledError. Unknown ids are ignored.
   */
  cancel(jobId: string): void {
    if (this.closed) return;
    this.outboxEntries.push(["dsat.cancel", 0, 0, null, jobId, null]);
    this.outboxPayloads.push(Buffer.alloc(0));
    this.endOfTurn.schedule();
  }

  /**
   * Fire and forget: the job goes through the orchestrator's intake; its result is an event.
   * `inputs` (docs/locality.md) travel as a 4th frame; ones that are not a list of replica lists
   * throw RejectedError here.
   */
  publish(
    type: string,
    payload: unknown,
    options: { id?: string; key?: string; inputs?: string[][] } = {},
  ): void {
    if (this.publishWriter === null)
      throw new DsatError("DSAT_ERR_CLOSED", "connect with { publish: endpoint } to publish");
    const header: Record<string, string> = {};
    if (options.id !== undefined) header.id = options.id;
    if (options.key !== undefined) header.k = options.key;
    const frames = [Buffer.from(type), encode(header), encode(payload)];
    if (options.inputs !== undefined) frames.push(inputsBytes(options.inputs));
    this.publishWriter.send(frames);
  }

  /**
   * The orchestrator's events whose topic starts with `prefix` ("" = all), e.g. "result.echo".
   * Ends when the client closes or the loop breaks.
   */
  async *events(prefix = ""): AsyncGenerator<OrchestratorEvent> {
    if (this.options.events === undefined)
      throw new DsatError("DSAT_ERR_CLOSED", "connect with { events: endpoint } to read events");
    const subscriber = new Subscriber({ ...curveClientOptions(this.options.curve), linger: 0 });
    for (const each of endpointList(this.options.events)) subscriber.connect(each);
    subscriber.subscribe(prefix);
    this.subscribers.add(subscriber);
    try {
      for await (const [topic, body] of subscriber) {
        let fields: unknown;
        try {
          fields = body === undefined ? {} : decode(body);
        } catch {
          continue;
        }
        yield {
          ...(typeof fields === "object" && fields !== null ? fields : { value: fields }),
          topic: topic.toString(),
        };
      }
    } finally {
      this.subscribers.delete(subscriber);
      if (!subscriber.closed) subscriber.close();
    }
  }

  private readonly subscribers = new Set<Subscriber>();

  get inFlight(): number {
    return this.pending.size;
  }

  private async receiveLoop(): Promise<void> {
    try {
      // Drained: the requests made on these results (their callers resume first) leave at once;
      // while more replies wait, they leave at the end of the turn (docs/performance.md).
      await receiveEach(
        this.dealer,
        (frames) => {
          this.replyTurn = true;
          this.onReply(frames);
        },
        { drained: () => this.flush(), pending: () => this.endOfTurn.schedule() },
      );
    } catch {
      // closed
    }
    this.replyTurn = false; // no flush will come from here any more
  }

  private onReply(frames: Buffer[]): void {
    // "", MDPC01, service, marker, header(s), payload(s)
    if (frames.length !== 6 || !frames[1].equals(MDP_CLIENT)) return;
    if (frames[3].equals(DSAT_BATCH_MARK)) {
      const batch = splitBatch(frames[4], frames[5], isReplyEntry, (entry) => entry[3], BATCH_ENTRIES_MAX);
      if (typeof batch === "string") return;
      for (let index = 0; index < batch.entries.length; index++) {
        const [correlation, id, status, , message] = batch.entries[index];
        this.resolveReply(correlation, id, status, message ?? status, batch.payloads[index]);
      }
      return;
    }
    if (!frames[3].equals(DSAT_MARK)) return;
    let header: { c?: unknown; id?: unknown; s?: unknown; e?: unknown };
    try {
      header = decode(frames[4]) as typeof header;
    } catch {
      return;
    }
    if (typeof header?.c !== "number") return;
    const message = typeof header.e === "string" ? header.e : String(header.s);
    this.resolveReply(
      header.c,
      typeof header.id === "string" ? header.id : "",
      String(header.s),
      message,
      frames[5],
    );
  }

  private resolveReply(
    correlation: number,
    jobId: string,
    status: string,
    message: string,
    payload: Buffer,
  ): void {
    const pending = this.pending.get(correlation);
    if (pending === undefined) {
      this.emit("reply:orphan", correlation);
      return;
    }
    if (status === ErrorCode.notLeader) {
      // A replicated orchestrator that just lost its leadership took nothing: the request stays
      // pending and goes again (same id) once another node serves, until its deadline.
      this.resendSoon(pending);
      return;
    }
    this.settle(correlation);
    if (status !== "ok") {
      this.fail(pending, errorFor(status, message, jobId || undefined));
      return;
    }
    const result = decodeResult(payload, jobId);
    if (result instanceof RejectedError) {
      this.fail(pending, result);
      return;
    }
    if (pending.span !== null) endRequestSpan(pending.span);
    pending.resolve(result);
  }

  /** Rejects a request (ending its span with the error). */
  private fail(pending: Pending, error: Error): void {
    if (pending.span !== null) endRequestSpan(pending.span, error);
    pending.reject(error);
  }

  private settle(correlation: number): void {
    this.pending.delete(correlation);
    const waiter = this.waiters.shift();
    waiter?.();
  }

  private sweep(now: number): void {
    for (;;) {
      const due = this.deadlines.popDue(now);
      if (due === undefined) return;
      const pending = this.pending.get(due);
      if (pending === undefined || pending.deadline > now) continue;
      this.settle(due);
      this.fail(
        pending,
        new TimeoutError(ErrorCode.timeout, "no reply from the orchestrator before the deadline"),
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    for (const [correlation, pending] of this.pending) {
      this.pending.delete(correlation);
      this.fail(pending, new DsatError("DSAT_ERR_CLOSED", "the client was closed before the reply"));
    }
    for (const waiter of this.waiters.splice(0)) waiter();
    this.writer.close();
    this.publishWriter?.close();
    if (this.publisher !== null) {
      // Let queued publishes leave (linger) before closing.
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.publisher.close();
    }
    for (const subscriber of this.subscribers) subscriber.close();
    this.dealer.close();
  }
}

/** ClientOptions.session, or one derived from the CURVE secret key, or a random one. */
function sessionToken(options: ClientOptions): Buffer {
  if (options.session !== undefined) {
    const token = Buffer.from(options.session);
    if (token.length < 16 || token.length > SESSION_BYTES_MAX)
      throw new TypeError(
        `ClientOptions.session: expected 16-${SESSION_BYTES_MAX} bytes, got ${token.length}`,
      );
    return token;
  }
  const secret = options.curve?.secretKey;
  if (secret !== undefined)
    return createHash("sha256").update(`dsat-session/1\0${secret}`).digest().subarray(0, 24);
  return randomBytes(24);
}

/** After DSAT_ERR_NOT_LEADER: the time a replicated set takes to serve from its new leader, about. */
const NOT_LEADER_RETRY_MS = 100;

/**
 * Several orchestrators: a ZMTP PING every LINK_PING_MS; a connection that brings nothing for
 * LINK_TIMEOUT_MS after one is closed (libzmq answers PINGs in its I/O thread: a busy leader's
 * event loop does not delay the PONG). Its requests are then sent again to the others.
 */
const LINK_PING_MS = 500;
const LINK_TIMEOUT_MS = 1500;

/** First and longest wait before connecting again after a refused CURVE handshake. */
const REFUSED_RETRY_MS = 250;
const REFUSED_RETRY_MAX_MS = 5_000;

/** A Client, or an MdpClient (same request()/close()) for `protocol: "mdp"`. */
export function connect(endpoint: string, options: ClientOptions & { protocol: "mdp" }): Promise<MdpClient>;
export function connect(endpoint: string, options?: ClientOptions & { protocol?: "dsat" }): Promise<Client>;
export function connect(endpoint: string, options?: ClientOptions): Promise<Client | MdpClient>;
export async function connect(endpoint: string, options: ClientOptions = {}): Promise<Client | MdpClient> {
  if (options.protocol === "mdp") return new MdpClient(endpoint, options);
  if (options.protocol !== undefined && options.protocol !== "dsat")
    throw new TypeError(`connect(): protocol must be "dsat" or "mdp", got ${String(options.protocol)}`);
  return new Client(endpoint, options);
}
