// The orchestrator's four sockets in one table: their options (libzmq's limits are part of the
// orchestrator's defences, docs/security.md "Threats"), their writers' backlogs, and how they bind.
import { chmodSync } from "node:fs";
import { Router, XPublisher, XSubscriber } from "zeromq";
import type { Limits } from "../protocol/index.ts";
import { ZAP_DOMAIN } from "../security/index.ts";
import type { SocketWriterOptions } from "../transport/index.ts";
import type { ResolvedConfig } from "./config.ts";
import { EVENTS_UPSTREAM_BYTES_MAX, EVENTS_UPSTREAM_HWM } from "./event-subscriptions.ts";

/** Messages libzmq queues per frontend peer before sends to it wait in the writer's backlog. */
const FRONTEND_SEND_HWM = 200;
/** Bytes the frontend writer holds for one peer at its high-water mark, and for all peers. */
const PEER_BACKLOG_BYTES_MAX = 16 * 1024 * 1024;
const BACKLOG_BYTES_TOTAL_MAX = 256 * 1024 * 1024;

type CurveServer = { curveServer?: boolean; curveSecretKey?: string; zapDomain?: string };

/** CURVE server options for every bound socket when security is on. */
function curveServer(config: ResolvedConfig): CurveServer {
  const security = config.security;
  if (security === null) return {};
  return { curveServer: true, curveSecretKey: security.serverKey.secretKey, zapDomain: ZAP_DOMAIN };
}

/** The orchestrator's sockets, created (not bound) with the options of the table below. */
export function createSockets(config: ResolvedConfig): {
  frontend: Router;
  intake: XSubscriber | null;
  events: XPublisher | null;
  control: Router | null;
} {
  const options = socketOptions(config.limits, curveServer(config));
  return {
    frontend: new Router(options.frontend),
    intake: config.intake.length > 0 ? new XSubscriber(options.intake) : null,
    events: config.events.length > 0 ? new XPublisher(options.events) : null,
    control: config.control.length > 0 ? new Router(options.control) : null,
  };
}

/** One table: what each socket may hold and accept. */
function socketOptions(limits: Limits, curve: CurveServer) {
  // libzmq drops (and disconnects) beyond twice our limit; between the two we answer TOO_LARGE.
  const maxMessageSize = limits.messageBytesMax * 2 + 4096;
  return {
    frontend: {
      ...curve,
      mandatory: true,
      sendTimeout: 0,
      linger: 0,
      maxMessageSize,
      // Per peer pipe, in messages: what a peer that stops reading can make libzmq hold. Batches
      // are bounded in entries and bytes, so this bounds its bytes (docs/security.md "Threats").
      sendHighWaterMark: FRONTEND_SEND_HWM,
      receiveHighWaterMark: 100_000,
    },
    intake: { ...curve, linger: 0, maxMessageSize, receiveHighWaterMark: 100_000 },
    // Subscribers only send (un)subscriptions, a topic each: maxMessageSize refuses any longer than
    // the longest topic, and EventSubscriptions caps them all together (event-subscriptions.ts).
    events: {
      ...curve,
      linger: 0,
      sendTimeout: 0,
      sendHighWaterMark: 100_000,
      maxMessageSize: EVENTS_UPSTREAM_BYTES_MAX,
      // Few subscriptions at a time reach libzmq's trie between two of our reads (the caps' lag).
      receiveHighWaterMark: EVENTS_UPSTREAM_HWM,
    },
    control: { ...curve, linger: 0, sendTimeout: 0, maxMessageSize: 65536 },
  };
}

/** The writers' backlogs (one writer per socket; onDrop is the shell's). */
export const WRITER_OPTIONS: Readonly<
  Record<"frontend" | "events" | "control", Omit<SocketWriterOptions, "onDrop">>
> = {
  // Per peer: a client or satellite that stops reading loses its own messages, nobody else's.
  frontend: {
    backlogMax: 50_000,
    backlogBytesMax: PEER_BACKLOG_BYTES_MAX,
    backlogBytesTotalMax: BACKLOG_BYTES_TOTAL_MAX,
    perPeer: true,
    retryMs: 1,
  },
  events: { backlogMax: 10_000, retryMs: 5 },
  control: { backlogMax: 100, perPeer: true, retryMs: 5 },
};

/** Binds one endpoint (see bindRetrying); an ipc: file is made this user's only. */
export async function bindEndpoint(
  socket: Router | XSubscriber | XPublisher,
  endpoint: string,
): Promise<void> {
  await bindRetrying(socket, endpoint);
  // ipc: only this user may connect (the socket file's mode; abstract sockets have none).
  if (endpoint.startsWith("ipc://") && !endpoint.startsWith("ipc://@"))
    chmodSync(endpoint.slice("ipc://".length), 0o600);
}

/**
 * Binds, retrying "Address already in use" for up to 3 s: the previous orchestrator on this
 * endpoint (stopped in this process, or just restarted) may still be releasing it.
 */
async function bindRetrying(socket: Router | XSubscriber | XPublisher, endpoint: string): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      await socket.bind(endpoint);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "EADDRINUSE" || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
