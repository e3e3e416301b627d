// The clients in the simulation and the load they send: arrivals per type (Poisson thinned by the
// curve, or bursts), keys and payload sizes, one batch per client and turn as the dsat client
// sends, replies read with src/protocol's parsers and latency measured where the client sees it.
// With several orchestrators, the reconnect loop both kinds of peer run, and requests sent again.
import {
  BATCH_FLUSH_ENTRIES,
  clientBatchFrames,
  decode,
  ErrorCode,
  encode,
  type ReplyEntry,
  type RequestEntry,
} from "../protocol/index.ts";
import { SimClient, SimSatellite } from "./actors.ts";
import { KeyPicker } from "./random.ts";
import type { Session } from "./replicated.ts";
import { SatelliteProcesses } from "./satellite-processes.ts";
import type { LoadSpec } from "./scenario.ts";
import { factorAt } from "./support.ts";

/** libzmq's reconnect interval (ZMQ_RECONNECT_IVL): how often a peer tries an endpoint again. */
export const RECONNECT_MS = 100;
/** The dsat client sends a request refused with DSAT_ERR_NOT_LEADER again after this. */
const NOT_LEADER_RETRY_MS = 100;

export abstract class ClientLoad extends SatelliteProcesses {
  /** Job type -> the clients sending it, round-robin. */
  protected readonly clients = new Map<string, SimClient[]>();
  /** Job type -> the request timeout clients give now (set-timeout changes it). */
  protected readonly timeouts = new Map<string, number | null>();
  // Requests sent and answered: once arrivals are over and the two match, the run stops.
  protected submitted = 0;
  protected answered = 0;
  // Several orchestrators: requests sent again, and DSAT_ERR_NOT_LEADER refusals.
  protected resent = 0;
  protected notLeader = 0;

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
}
