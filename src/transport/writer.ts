// One writer per socket (zeromq.md §3.3): every send on a socket goes through its SocketWriter.
// Sockets are created with sendTimeout 0, so a send either queues at once or fails at once
// (EAGAIN at the peer's high-water mark, EHOSTUNREACH for a ROUTER peer that is gone) instead of
// leaving a pending send that would make the next one throw EBUSY.
//
// Messages refused with EAGAIN wait in a backlog per peer (ROUTER sockets name the peer by the
// routing-id frame), so one peer that stops reading does not hold up the others; each backlog is
// bounded, and one drain loop retries them in order. Other failures go to `onDrop`.
import type { Writable } from "zeromq";

export type DropReason = "unroutable" | "overflow" | "closed" | "error";

export interface SocketWriterOptions {
  /** Messages held per peer while it is at its high-water mark; beyond that they are dropped. */
  backlogMax: number;
  /** Bytes held per peer likewise (default: no bound but backlogMax). */
  backlogBytesMax?: number;
  /** Bytes held for all peers together (default: no bound). */
  backlogBytesTotalMax?: number;
  /** Retry delay after EAGAIN, ms. */
  retryMs: number;
  /** For ROUTER sockets: the first frame (routing id) names the peer. */
  perPeer?: boolean;
  onDrop: (frames: Buffer[], reason: DropReason, error?: unknown) => void;
}

export class SocketWriter {
  /** Peer key -> messages waiting for that peer, oldest first. */
  private readonly backlogs = new Map<string, Buffer[][]>();
  /** Peer key -> bytes of its backlog. */
  private readonly backlogBytes = new Map<string, number>();
  private backlogBytesTotal = 0;
  private draining = false;
  private closed = false;
  sent = 0;
  dropped = 0;

  constructor(
    private readonly socket: Writable,
    private readonly options: SocketWriterOptions,
  ) {}

  private peerOf(frames: Buffer[]): string {
    return this.options.perPeer ? (frames[0]?.toString("latin1") ?? "") : "";
  }

  send(frames: Buffer[]): void {
    if (this.closed) {
      this.drop(frames, "closed");
      return;
    }
    if (this.backlogs.size > 0) {
      const backlog = this.backlogs.get(this.peerOf(frames));
      if (backlog !== undefined) {
        // Keep this peer's order: it waits behind the messages already held for it.
        const peer = this.peerOf(frames);
        if (this.full(peer, backlog, frames)) this.drop(frames, "overflow");
        else {
          backlog.push(frames);
          this.count(peer, frames, 1);
        }
        return;
      }
    }
    let promise: Promise<void>;
    try {
      promise = this.socket.send(frames);
    } catch (error) {
      // EBUSY is thrown synchronously; hold the message like an EAGAIN.
      this.hold(frames, error);
      return;
    }
    promise.then(
      () => {
        this.sent++;
      },
      (error: { code?: string }) => this.onSendError(frames, error),
    );
  }

  private onSendError(frames: Buffer[], error: { code?: string }): void {
    if (this.closed) {
      this.drop(frames, "closed", error);
      return;
    }
    if (error?.code === "EAGAIN" || error?.code === "EBUSY") {
      this.hold(frames, error);
      return;
    }
    this.drop(frames, error?.code === "EHOSTUNREACH" ? "unroutable" : "error", error);
  }

  private hold(frames: Buffer[], error: unknown): void {
    const peer = this.peerOf(frames);
    let backlog = this.backlogs.get(peer);
    if (backlog === undefined) this.backlogs.set(peer, (backlog = []));
    if (this.full(peer, backlog, frames)) {
      if (backlog.length === 0) this.backlogs.delete(peer);
      this.drop(frames, "overflow", error);
      return;
    }
    // A refused message goes ahead of the ones queued after it.
    backlog.unshift(frames);
    this.count(peer, frames, 1);
    if (!this.draining) void this.drain();
  }

  /** Retries held messages, peer by peer, one awaited send at a time. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.backlogs.size > 0 && !this.closed) {
        let progress = false;
        for (const [peer, backlog] of this.backlogs) {
          while (backlog.length > 0 && !this.closed) {
            try {
              await this.socket.send(backlog[0]);
              this.count(peer, backlog.shift() as Buffer[], -1);
              this.sent++;
              progress = true;
            } catch (error) {
              const code = (error as { code?: string }).code;
              if (code === "EAGAIN" || code === "EBUSY") break;
              const frames = backlog.shift() as Buffer[];
              this.count(peer, frames, -1);
              this.drop(frames, code === "EHOSTUNREACH" ? "unroutable" : "error", error);
            }
          }
          if (backlog.length === 0) {
            this.backlogs.delete(peer);
            this.backlogBytes.delete(peer);
          }
        }
        if (!progress && this.backlogs.size > 0) {
          await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Would holding `frames` for `peer` pass a bound? */
  private full(peer: string, backlog: Buffer[][], frames: Buffer[]): boolean {
    if (backlog.length >= this.options.backlogMax) return true;
    const bytes = bytesOf(frames);
    const { backlogBytesMax, backlogBytesTotalMax } = this.options;
    if (backlogBytesMax !== undefined && (this.backlogBytes.get(peer) ?? 0) + bytes > backlogBytesMax)
      return true;
    return backlogBytesTotalMax !== undefined && this.backlogBytesTotal + bytes > backlogBytesTotalMax;
  }

  private count(peer: string, frames: Buffer[], sign: 1 | -1): void {
    const bytes = sign * bytesOf(frames);
    this.backlogBytes.set(peer, (this.backlogBytes.get(peer) ?? 0) + bytes);
    this.backlogBytesTotal += bytes;
  }

  /** Bytes held for one peer (its routing id as given in the first frame) at its high-water mark. */
  backlogBytesOf(routingId: Buffer): number {
    return this.backlogBytes.get(routingId.toString("latin1")) ?? 0;
  }

  /** Bytes held for all peers. */
  get backlogBytesHeld(): number {
    return this.backlogBytesTotal;
  }

  /** Messages held for peers at their high-water mark. */
  get backlogSize(): number {
    let size = 0;
    for (const backlog of this.backlogs.values()) size += backlog.length;
    return size;
  }

  private drop(frames: Buffer[], reason: DropReason, error?: unknown): void {
    this.dropped++;
    this.options.onDrop(frames, reason, error);
  }

  close(): void {
    this.closed = true;
    this.backlogs.clear();
    this.backlogBytes.clear();
    this.backlogBytesTotal = 0;
  }
}

function bytesOf(frames: Buffer[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += frame.length;
  return bytes;
}
