// Raft messages between peers over ZeroMQ (docs/raft.md, "Transport").
//
// Each node binds one ROUTER and connects one DEALER to each peer's ROUTER, with its own id as the
// DEALER's routing id. A message is one frame of MessagePack. Sending never waits: DEALERs have
// `immediate` (nothing is queued to a peer that is not connected) and `sendTimeout: 0` with a bounded
// high-water mark, so a dead or slow peer costs at most sendQueue messages of memory; beyond that the
// message is dropped and counted, and Raft retries (reportUnreachable stops pipelining to that peer).
// What arrives is checked before the core sees it: one frame, at most maxMessageBytes, MessagePack,
// well formed (checkMessage), addressed to us, from the peer whose connection carries it. Anything
// else is dropped and counted, never thrown.
//
// With CURVE keys, every socket is encrypted and the ROUTER only accepts handshakes from the peers'
// public keys (a ZAP handler in a ZeroMQ context of the transport's own, so it never meets the
// orchestrator's).
import { Context, Dealer, Router } from "zeromq";
import { z85Encode } from "../../security/index.ts";
import type { Message, NodeId } from "../index.ts";
import { checkMessage } from "../index.ts";
import { pack, unpack } from "./codec.ts";

export interface TransportCurve {
  publicKey: string;
  secretKey: string;
  /** Each peer's public key (Z85), by node id. */
  peers: Record<NodeId, string>;
}

export interface TransportOptions {
  id: NodeId;
  /** Where this node's ROUTER binds, e.g. tcp://127.0.0.1:7001. */
  bind: string;
  /** Each peer's ROUTER endpoint, by node id. */
  peers: Record<NodeId, string>;
  curve?: TransportCurve;
  /** Largest message sent or accepted, in bytes (default 16 MiB). Larger ones are dropped and counted. */
  maxMessageBytes?: number;
  /** Messages queued per peer at most (ZeroMQ high-water mark, default 1000). */
  sendQueue?: number;
  /** Called with each well-formed message for this node. */
  onMessage: (message: Message) => void;
  /** A message to `peer` was dropped on the way out (queue full, peer not connected, too large). */
  onDropped?: (peer: NodeId, message: Message, reason: DropReason) => void;
  log?: (line: string) => void;
}

export type DropReason = "queue-full" | "too-large" | "unknown-peer" | "closed";

export interface TransportStats {
  sent: number;
  received: number;
  /** Outgoing messages dropped, by reason. */
  dropped: Record<DropReason, number>;
  /** Incoming messages dropped: unreadable, malformed, misaddressed or spoofed. */
  malformed: number;
  /** Incoming CURVE handshakes refused (unknown key). */
  refusedHandshakes: number;
}

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
const ZAP_DOMAIN = "dsat-raft";
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class RaftTransport {
  readonly stats: TransportStats = {
    sent: 0,
    received: 0,
    dropped: { "queue-full": 0, "too-large": 0, "unknown-peer": 0, closed: 0 },
    malformed: 0,
    refusedHandshakes: 0,
  };
  private readonly context = new Context();
  private readonly router: Router;
  private readonly dealers = new Map<NodeId, Dealer>();
  private zap: Router | undefined;
  private readonly maxBytes: number;
  private closed = false;

  private constructor(private readonly options: TransportOptions) {
    for (const id of [options.id, ...Object.keys(options.peers)]) {
      // The id is the DEALER's ZeroMQ routing id: 1 to 255 bytes, not starting with a zero byte.
      const bytes = Buffer.byteLength(id);
      if (bytes === 0 || bytes > 255 || id.startsWith("\0"))
        throw new Error(`node id "${id}" must be 1 to 255 bytes`);
    }
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const curve = options.curve;
    this.router = new Router({
      context: this.context,
      linger: 0,
      // libzmq drops a peer that sends more (so a bad peer cannot make us buffer a huge frame); the
      // margin leaves room for MessagePack framing around a message we would accept.
      maxMessageSize: this.maxBytes + 1024,
      receiveHighWaterMark: options.sendQueue ?? 1000,
      ...(curve === undefined
        ? {}
        : { curveServer: true, curveSecretKey: curve.secretKey, zapDomain: ZAP_DOMAIN }),
    });
    for (const [peer, endpoint] of Object.entries(options.peers)) {
      if (peer === options.id) continue;
      const peerKey = curve?.peers[peer];
      if (curve !== undefined && peerKey === undefined)
        throw new Error(`no CURVE public key for peer ${peer}`);
      const dealer = new Dealer({
        context: this.context,
        routingId: options.id,
        linger: 0,
        immediate: true,
        sendTimeout: 0,
        sendHighWaterMark: options.sendQueue ?? 1000,
        reconnectInterval: 100,
        reconnectMaxInterval: 1000,
        ...(curve === undefined
          ? {}
          : { curveServerKey: peerKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
      });
      dealer.connect(endpoint);
      this.dealers.set(peer, dealer);
    }
  }

  /** Binds and starts receiving. Rejects with the bind error (address in use...). */
  static async start(options: TransportOptions): Promise<RaftTransport> {
    const transport = new RaftTransport(options);
    try {
      if (options.curve !== undefined) await transport.startZap(options.curve);
      await transport.router.bind(options.bind);
    } catch (error) {
      await transport.close();
      throw error;
    }
    void transport.receive();
    return transport;
  }

  /** Fire and forget: never waits, never throws; a message that cannot go now is dropped and counted. */
  send(message: Message): void {
    const dealer = this.dealers.get(message.to);
    if (dealer === undefined || this.closed) {
      this.drop(message, dealer === undefined ? "unknown-peer" : "closed");
      return;
    }
    const bytes = pack(message);
    if (bytes.length > this.maxBytes) {
      this.drop(message, "too-large");
      return;
    }
    try {
      dealer.send(bytes).then(
        () => {
          this.stats.sent += 1;
        },
        () => this.drop(message, this.closed ? "closed" : "queue-full"),
      );
    } catch {
      // EBUSY thrown synchronously: a send is still pending on this socket (see zeromq.md 3.3).
      this.drop(message, "queue-full");
    }
  }

  private drop(message: Message, reason: DropReason): void {
    this.stats.dropped[reason] += 1;
    this.options.onDropped?.(message.to, message, reason);
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.router) {
        const message = this.accept(frames);
        if (message === undefined) {
          this.stats.malformed += 1;
          continue;
        }
        this.stats.received += 1;
        try {
          this.options.onMessage(message);
        } catch (error) {
          this.options.log?.(`raft transport: message handler failed: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      if (!this.closed) this.options.log?.(`raft transport: receive stopped: ${(error as Error).message}`);
    }
  }

  /** The message in `frames` if it is one we take, else undefined. */
  private accept(frames: Buffer[]): Message | undefined {
    if (frames.length !== 2) return undefined;
    const [sender, body] = frames;
    if (body.length > this.maxBytes) return undefined;
    let message: Message;
    try {
      message = unpack(body) as Message;
    } catch {
      return undefined;
    }
    if (checkMessage(message) !== null) return undefined;
    if (message.to !== this.options.id || message.from !== sender.toString()) return undefined;
    if (!this.dealers.has(message.from)) return undefined;
    return message;
  }

  /** RFC 27 in our own context: only the peers' keys get through. */
  private async startZap(curve: TransportCurve): Promise<void> {
    const allowed = new Set(Object.values(curve.peers));
    const zap = new Router({ context: this.context, linger: 0 });
    await zap.bind(ZAP_ENDPOINT);
    this.zap = zap;
    void (async () => {
      try {
        for await (const frames of zap) {
          const [id, , version, requestId, , , , mechanism, credential] = frames;
          if (version === undefined || requestId === undefined) continue;
          const ok =
            mechanism?.toString() === "CURVE" &&
            credential?.length === 32 &&
            allowed.has(z85Encode(credential));
          if (!ok) this.stats.refusedHandshakes += 1;
          await zap.send([
            id,
            Buffer.alloc(0),
            Buffer.from("1.0"),
            requestId,
            Buffer.from(ok ? "200" : "400"),
            Buffer.from(ok ? "OK" : "not a peer's key"),
            Buffer.alloc(0),
            Buffer.alloc(0),
          ]);
        }
      } catch {
        // closed
      }
    })();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const dealer of this.dealers.values()) dealer.close();
    this.router.close();
    this.zap?.close();
  }
}
