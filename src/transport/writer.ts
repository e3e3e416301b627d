// One writer per socket (zeromq.md §3.3): every send on a socket goes through its SocketWriter.
// Sockets are created with sendTimeout 0, so a send either queues at once or fails at once
// (EAGAIN at the high-water mark, EHOSTUNREACH for a ROUTER peer that is gone) instead of
// leaving a pending send that would make the next one throw EBUSY. Messages refused with EAGAIN
// wait in a bounded FIFO and are retried in order; other failures go to `onDrop`.
import type { Writable } from "zeromq";

export type DropReason = "unroutable" | "overflow" | "closed" | "error";

export interface SocketWriterOptions {
  /** Messages held while the socket is at its high-water mark; beyond that they are dropped. */
  backlogMax: number;
  /** Retry delay after EAGAIN, ms. */
  retryMs: number;
  onDrop: (frames: Buffer[], reason: DropReason, error?: unknown) => void;
}

export class SocketWriter {
  private readonly backlog: Buffer[][] = [];
  private backlogHead = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  sent = 0;
  dropped = 0;

  constructor(
    private readonly socket: Writable,
    private readonly options: SocketWriterOptions,
  ) {}

  send(frames: Buffer[]): void {
    if (this.closed) {
      this.drop(frames, "closed");
      return;
    }
    if (this.backlogHead < this.backlog.length) {
      this.enqueue(frames);
      return;
    }
    this.trySend(frames);
  }

  private trySend(frames: Buffer[]): boolean {
    let promise: Promise<void>;
    try {
      promise = this.socket.send(frames);
    } catch (error) {
      // EBUSY is thrown synchronously; treat it like EAGAIN.
      this.enqueueFront(frames);
      this.scheduleRetry();
      void error;
      return false;
    }
    promise.then(
      () => {
        this.sent++;
      },
      (error: { code?: string }) => this.onSendError(frames, error),
    );
    return true;
  }

  private onSendError(frames: Buffer[], error: { code?: string }): void {
    if (this.closed) {
      this.drop(frames, "closed", error);
      return;
    }
    if (error?.code === "EAGAIN" || error?.code === "EBUSY") {
      this.enqueueFront(frames);
      this.scheduleRetry();
      return;
    }
    this.drop(frames, error?.code === "EHOSTUNREACH" ? "unroutable" : "error", error);
  }

  private enqueue(frames: Buffer[]): void {
    if (this.backlog.length - this.backlogHead >= this.options.backlogMax) {
      this.drop(frames, "overflow");
      return;
    }
    this.backlog.push(frames);
  }

  private enqueueFront(frames: Buffer[]): void {
    // A refused message keeps its place ahead of the ones queued after it.
    if (this.backlogHead > 0) this.backlog[--this.backlogHead] = frames;
    else this.backlog.unshift(frames);
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flush();
    }, this.options.retryMs);
  }

  private flush(): void {
    while (this.backlogHead < this.backlog.length && !this.closed) {
      const frames = this.backlog[this.backlogHead];
      this.backlog[this.backlogHead++] = [];
      if (!this.trySend(frames)) return;
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog.length = 0;
      this.backlogHead = 0;
    } else if (this.backlogHead > 1024 && this.backlogHead * 2 > this.backlog.length) {
      this.backlog.splice(0, this.backlogHead);
      this.backlogHead = 0;
    }
  }

  get backlogSize(): number {
    return this.backlog.length - this.backlogHead;
  }

  private drop(frames: Buffer[], reason: DropReason, error?: unknown): void {
    this.dropped++;
    this.options.onDrop(frames, reason, error);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.backlog.length = 0;
    this.backlogHead = 0;
  }
}
