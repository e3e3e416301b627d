// What a satellite's jobs produce in one event-loop turn leaves as one message each
// (protocol/batch.ts): the replies of batch jobs as one REPLY-BATCH, and one ACK-BATCH for the batch
// jobs still running. They leave with the receive loop's flush (at once when its socket is drained,
// else at the end of the turn), or at the end of the turn when no message is being handled.
import {
  ackBatchFrames,
  BATCH_FLUSH_ENTRIES,
  type JobReplyEntry,
  jobReplyBatchFrames,
} from "../protocol/index.ts";
import { EndOfTurn } from "../transport/index.ts";
import type { ContextPort, RunningJob } from "./running-job.ts";

/** Payload bytes after which a reply batch leaves at once. */
const REPLY_BATCH_BYTES_MAX = 256 * 1024;

export class ReplyOutbox {
  private replyEntries: JobReplyEntry[] = [];
  private replyBytes = 0;
  private replyPayloads: Buffer[] = [];
  private unacked: RunningJob[] = [];
  private readonly endOfTurn = new EndOfTurn(() => this.flush());
  /**
   * A message was handled and the receive loop has not flushed since: it will (at once when its
   * socket is drained, else at the end of the turn), so what jobs produce meanwhile needs no
   * setImmediate of its own.
   */
  private receiveTurn = false;

  /** `port.send`: the runtime's send on its current connection (held between connections). */
  constructor(private readonly port: Pick<ContextPort, "send">) {}

  /** The receive loop handles a message now; it flushes after. */
  received(): void {
    this.receiveTurn = true;
  }

  /** The connection closed: its receive loop ends, no flush will come from it. */
  closed(): void {
    this.receiveTurn = false;
  }

  /** More messages wait to be read: flush at the end of this turn. */
  flushAtEndOfTurn(): void {
    this.endOfTurn.schedule();
  }

  /** A batch job's reply; a batch stays well under the orchestrator's message limit. */
  reply(entry: JobReplyEntry, payload: Buffer): void {
    this.replyEntries.push(entry);
    this.replyPayloads.push(payload);
    this.replyBytes += payload.length;
    if (this.replyEntries.length >= BATCH_FLUSH_ENTRIES || this.replyBytes >= REPLY_BATCH_BYTES_MAX)
      this.flush();
    else this.flushLater();
  }

  /**
   * A batch job its handler did not finish at once: an ACK tells the orchestrator it started (a
   * reply that comes first makes it needless, flush() skips it then).
   */
  ackLater(job: RunningJob): void {
    this.unacked.push(job);
    this.flushLater();
  }

  /** Acks and replies leave with the receive loop's flush, or at the end of this turn. */
  private flushLater(): void {
    if (!this.receiveTurn) this.endOfTurn.schedule();
  }

  flush(): void {
    this.receiveTurn = false;
    if (this.replyEntries.length > 0) {
      const entries = this.replyEntries;
      const payloads = this.replyPayloads;
      this.replyEntries = [];
      this.replyPayloads = [];
      this.replyBytes = 0;
      this.port.send(jobReplyBatchFrames(entries, payloads));
    }
    if (this.unacked.length > 0) {
      // Jobs that finished within the turn need no ACK: their reply says more.
      const flat: Array<string | number> = [];
      for (const job of this.unacked) if (!job.finished) flat.push(job.id, job.attempt);
      this.unacked = [];
      if (flat.length > 0) this.port.send(ackBatchFrames(flat));
    }
  }
}
