// Bounds on what subscribers of the events XPUB make libzmq hold. Every subscription lives in the
// XPUB's prefix trie at ~50 bytes of native memory per byte of prefix (measured: 2,000 distinct
// 4 KB prefixes took 390 MiB), and libzmq has no per-subscriber limit. What can be bounded:
//
// - The length of one subscription: maxMessageSize = EVENTS_UPSTREAM_BYTES_MAX (a flag byte and
//   the longest topic the orchestrator publishes). A longer prefix could never match an event;
//   libzmq drops the connection that sends one before it reaches the trie.
// - The distinct prefixes of all subscribers together, count and bytes. XPUB names no peer, so
//   there is no per-subscriber count (manual mode does not help: libzmq keeps its own copy of every
//   subscription in manual mode too). Past a cap the orchestrator drops *every* subscriber (unbind,
//   rebind); zmq SUB sockets reconnect and subscribe again by themselves, and the trie is freed.
//
// Counting is from XPUB's notifications: "1<prefix>" when a prefix enters the trie, "0<prefix>"
// when its last holder leaves, also for subscribers that disconnect. Those are exact for zmq
// peers but a hand-written peer can send "0<prefix>" for a prefix it never held and so hide another
// connection's prefix. ZMQ_TOPICS_COUNT (libzmq's own count) cannot be fooled so, but it drifts
// up: libzmq 4.3.5 does not lower it when a subscriber disconnects. So it is checked too, counted
// from the last reset and allowed to reach twice the cap; each reset starts it again from zero.
import type { XPublisher } from "zeromq";

/** Longest topic the orchestrator publishes: a prefix such as `job.late-result-dropped.` and a type of 255. */
export const EVENT_TOPIC_BYTES_MAX = 320;
/** Largest message a subscriber may send the events socket: the (un)subscription byte and a topic. */
export const EVENTS_UPSTREAM_BYTES_MAX = 1 + EVENT_TOPIC_BYTES_MAX;
/**
 * receiveHighWaterMark of the events socket: libzmq applies subscriptions as it reads them, ahead
 * of the notifications this module reads; a small inbound queue keeps that lead short.
 */
export const EVENTS_UPSTREAM_HWM = 16;
/** ZMQ_TOPICS_COUNT (zmq_draft.h): distinct prefixes in the XPUB's trie, as libzmq counts them. */
const ZMQ_TOPICS_COUNT = 116;
/** How long a reset waits for the dropped subscribers' unsubscriptions before binding again. */
const RESET_SETTLE_MS_MIN = 100;
const RESET_SETTLE_MS_MAX = 1000;
/** Wait before reading again while a reset binds or unbinds the socket. */
const BUSY_RETRY_MS = 5;
/** At most one `security.subscriptions-capped` event per this period; the others are counted. */
const EVENT_INTERVAL_MS = 10_000;

export interface EventSubscriptionsOptions {
  socket: XPublisher;
  endpoints: string[];
  /** Binds the socket to `endpoint` again after a reset. */
  rebind(endpoint: string): Promise<void>;
  subscriptionsMax: number;
  subscriptionBytesMax: number;
  /**
   * Every subscriber was dropped (called for each drop). `muted` is null when this drop gets no
   * event (at most one per EVENT_INTERVAL_MS), else how many drops since the last event had none.
   */
  onDrop(reason: string, muted: number | null): void;
  log(message: string): void;
  now?: () => number;
}

/** An XPUB (un)subscription: one frame, byte 1 or 0, then the topic prefix. */
export function isSubscription(frames: Buffer[]): boolean {
  return frames.length === 1 && frames[0].length > 0 && frames[0][0] <= 1;
}

export class EventSubscriptions {
  /** Distinct prefixes, as the notifications tell (latin1 keeps every byte). */
  private readonly prefixes = new Set<string>();
  private prefixBytes = 0;
  /** ZMQ_TOPICS_COUNT when the last reset found the trie empty. */
  private topicsBaseline = 0;
  private resetting = false;
  private closed = false;
  private lastEventAt = Number.NEGATIVE_INFINITY;
  private muted = 0;
  private settled: (() => void) | null = null;
  /** Times every subscriber was dropped for the caps. */
  drops = 0;

  constructor(private readonly options: EventSubscriptionsOptions) {}

  /** Distinct prefixes subscribed (from the notifications). */
  get count(): number {
    return this.prefixes.size;
  }

  /** Their bytes together. */
  get bytes(): number {
    return this.prefixBytes;
  }

  /** libzmq's count of distinct prefixes since the last reset: never below the real count. */
  get bound(): number {
    return this.topicsCount() - this.topicsBaseline;
  }

  /**
   * Reads the events socket until it closes. A receive during a reset's unbind or bind fails with
   * EBUSY: the loop waits and reads on (the reset needs the dropped subscribers' unsubscriptions).
   */
  async run(onMalformed: () => void): Promise<void> {
    const { socket } = this.options;
    while (!socket.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (error) {
        if (socket.closed) return;
        if ((error as { code?: string }).code === "EBUSY") {
          await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
          continue;
        }
        if (!this.closed)
          this.options.log(`orchestrator: events receive failed: ${(error as Error).message}`);
        return;
      }
      try {
        if (!this.onMessage(frames)) onMalformed();
      } catch (error) {
        // A bug here must not end the loop (the orchestrator's other loops do the same).
        onMalformed();
        this.options.log(`orchestrator: error handling an events message: ${(error as Error).stack}`);
      }
    }
  }

  /** One message from the events socket. false when it is not a (un)subscription (malformed). */
  onMessage(frames: Buffer[]): boolean {
    if (!isSubscription(frames)) return false;
    const frame = frames[0];
    const prefix = frame.toString("latin1", 1);
    if (frame[0] === 1) {
      if (!this.prefixes.has(prefix)) {
        this.prefixes.add(prefix);
        this.prefixBytes += prefix.length;
      }
      this.check();
    } else if (this.prefixes.delete(prefix)) {
      this.prefixBytes -= prefix.length;
      if (this.prefixes.size === 0) this.settled?.();
    }
    return true;
  }

  /** No more resets (the orchestrator stops). */
  close(): void {
    this.closed = true;
    this.settled?.();
  }

  private check(): void {
    if (this.resetting || this.closed) return;
    const { subscriptionsMax, subscriptionBytesMax } = this.options;
    let reason: string | null = null;
    if (this.prefixes.size > subscriptionsMax)
      reason = `${this.prefixes.size} distinct subscriptions, more than ${subscriptionsMax}`;
    else if (this.prefixBytes > subscriptionBytesMax)
      reason = `${this.prefixBytes} bytes of subscriptions, more than ${subscriptionBytesMax}`;
    else if (this.bound > 2 * subscriptionsMax)
      reason = `libzmq holds ${this.bound} subscriptions since the last reset, more than twice ${subscriptionsMax}`;
    if (reason !== null) void this.dropAll(reason);
  }

  /** Drops every subscriber: unbind (libzmq closes their connections and frees the trie), rebind. */
  private async dropAll(reason: string): Promise<void> {
    this.resetting = true;
    this.drops++;
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastEventAt >= EVENT_INTERVAL_MS) {
      this.lastEventAt = now;
      this.options.onDrop(reason, this.muted);
      this.muted = 0;
    } else {
      this.muted++;
      this.options.onDrop(reason, null);
    }
    const { socket, endpoints } = this.options;
    try {
      const unbound: string[] = [];
      for (const endpoint of endpoints) {
        await socket.unbind(endpoint).then(
          () => unbound.push(endpoint),
          (error: Error) =>
            this.options.log(`orchestrator: events unbind ${endpoint} failed: ${error.message}`),
        );
      }
      await this.settle();
      // The dropped connections' prefixes are gone from the trie; libzmq's count is not lowered.
      this.topicsBaseline = this.topicsCount();
      if (!this.closed && !socket.closed) for (const endpoint of unbound) await this.options.rebind(endpoint);
    } catch (error) {
      if (!this.closed)
        this.options.log(`orchestrator: events socket reset failed: ${(error as Error).message}`);
    } finally {
      this.resetting = false;
    }
  }

  /**
   * Resolves once every prefix was unsubscribed (the dropped connections), but not before
   * RESET_SETTLE_MS_MIN (the notifications can be hidden, see above) nor after RESET_SETTLE_MS_MAX.
   */
  private async settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, RESET_SETTLE_MS_MIN).unref());
    if (this.prefixes.size === 0 || this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), RESET_SETTLE_MS_MAX - RESET_SETTLE_MS_MIN);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        this.settled = null;
        resolve();
      };
      this.settled = done;
    });
  }

  private topicsCount(): number {
    const { socket } = this.options;
    if (socket.closed) return this.topicsBaseline;
    try {
      // A protected zeromq.js accessor: ZMQ_TOPICS_COUNT has no named option.
      return (socket as unknown as { getInt32Option(option: number): number }).getInt32Option(
        ZMQ_TOPICS_COUNT,
      );
    } catch {
      return this.topicsBaseline; // closing under us
    }
  }
}
