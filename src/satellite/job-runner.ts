// The jobs a satellite runs: read from the REQUEST or REQUEST-BATCH that brings them, each attempt
// checked against the leadership terms seen (fencing), its payload decoded, its handler called with
// a JobContext (and its dsat.run span active when traced), and its outcome answered: alone (MDP
// REPLY) or in the next REPLY-BATCH (reply-outbox.ts).
import {
  BATCH_ENTRIES_MAX,
  decode,
  encode,
  isJobEntry,
  isTraceparent,
  type JobHeader,
  jobReplyFrames,
  PAYLOAD_DEPTH_MAX,
  parseJobAddress,
  parseJobRequest,
  splitBatch,
  termOfToken,
  WorkerCommand,
  withinDepth,
  workerCommandFrames,
} from "../protocol/index.ts";
import { endRunSpan, runInSpan, startRunSpan } from "../tracing/index.ts";
import type { SatelliteDefinition } from "./definition.ts";
import type { ReplyOutbox } from "./reply-outbox.ts";
import {
  abortJob,
  type ContextPort,
  type RunningJob,
  RunningJobContext,
  resultFrame,
  resultFrames,
} from "./running-job.ts";

/** Longest error message sent with a failed job, characters. */
const ERROR_TEXT_MAX = 8 * 1024;

export interface JobRunnerOptions {
  satelliteId: string;
  /** Several orchestrators (a replicated set): only then do attempt tokens carry a term. */
  replicated: boolean;
  /** A result larger than this is answered with an error instead (it would be refused). */
  messageBytesMax: number;
}

/** The runtime's counters (SatelliteRuntime.counters) that jobs move. */
export interface JobCounters {
  jobs: number;
  done: number;
  errors: number;
  cancelled: number;
  fenced: number;
}

type Reply = { s: "ok" | "error"; e?: string; r?: boolean };

export class JobRunner {
  /** Running attempts by `${id}#${attempt}` (the address of their PROGRESS messages). */
  private readonly running = new Map<string, RunningJob>();
  /**
   * The highest fencing epoch seen in an attempt token (a replicated orchestrator's leadership term,
   * token = epoch * 256 + attempt; 0 for one orchestrator): jobs from an earlier leadership are
   * a deposed leader's, and are not run.
   */
  private epoch = 0;
  /** A drain waiting for the last running job (whenIdle). */
  private idle: (() => void) | null = null;

  constructor(
    private readonly definition: SatelliteDefinition,
    private readonly options: JobRunnerOptions,
    /** What a job's context may do; its send is the runtime's (held between connections). */
    private readonly port: ContextPort,
    private readonly outbox: ReplyOutbox,
    private readonly counters: JobCounters,
  ) {}

  /** Jobs running now. */
  get size(): number {
    return this.running.size;
  }

  /** A new socket: a fresh registration may meet a set whose terms started again (a wiped cluster). */
  resetEpoch(): void {
    this.epoch = 0;
  }

  /** A job that came alone, as an MDP REQUEST (`frames` from the command on). */
  startRequest(frames: Buffer[]): void {
    const job = parseJobRequest(frames);
    if (job === null) {
      // Answer what cannot be read, so the orchestrator frees the slot instead of waiting.
      const address = frames[3];
      if (address !== undefined && frames.length >= 5) {
        this.port.send(
          jobReplyFrames(address, { s: "error", e: "malformed job request", r: false }, encode(null)),
        );
      }
      return;
    }
    const token = parseJobAddress(job.address);
    this.startJob(job.header, token?.attempt ?? job.header.a, job.payload, job.address);
  }

  /** The jobs of a REQUEST-BATCH, each started in turn (their replies leave in one REPLY-BATCH). */
  startBatch(frames: Buffer[]): void {
    if (frames.length !== 5) return;
    const batch = splitBatch(frames[3], frames[4], isJobEntry, (entry) => entry[3], BATCH_ENTRIES_MAX);
    if (typeof batch === "string") return;
    for (let i = 0; i < batch.entries.length; i++) {
      const [id, attempt, type, , stepAttempt, deadline, key, raw, traceparent, inputs] = batch.entries[i];
      const header: JobHeader = { id, type, a: stepAttempt };
      if (deadline !== null) header.d = deadline;
      if (key !== null) header.k = key;
      if (raw !== null) header.raw = raw;
      if (isTraceparent(traceparent)) header.tp = traceparent;
      if (inputs instanceof Uint8Array) header.in = inputs;
      this.startJob(header, attempt, [batch.payloads[i]], null);
    }
  }

  /**
   * Runs one job. `address` is set for jobs that came as a single MDP REQUEST (the reply goes back
   * the same way); batch jobs are answered in the next REPLY-BATCH.
   */
  startJob(header: JobHeader, attempt: number, payloadFrames: Buffer[], address: Buffer | null): void {
    const epoch = this.options.replicated ? termOfToken(attempt) : 0;
    const fenced = epoch < this.epoch;
    if (!fenced) this.epoch = epoch;
    const key = `${header.id}#${attempt}`;
    if (this.running.has(key)) return; // duplicate delivery of the same attempt
    const job: RunningJob = {
      controller: null,
      abortReason: null,
      address,
      id: header.id,
      attempt,
      header,
      span:
        header.tp === undefined
          ? null
          : startRunSpan(header.tp, { ...header, attempt }, this.options.satelliteId),
    };
    this.running.set(key, job);
    if (fenced) {
      // A deposed leader's job (an earlier term than one already seen): not run, but answered, so
      // the one who sent it frees its slot; it cannot commit the failure anyway.
      this.counters.fenced++;
      const message = `fenced: term ${epoch} is older than term ${this.epoch} seen here`;
      this.finishJob(key, job, { s: "error", e: message, r: true }, null);
      return;
    }
    this.counters.jobs++;
    // A job that came alone is acked at once; batch jobs are acked in the next ACK-BATCH, and only
    // if still running then (see runHandler).
    if (address !== null) this.port.send(workerCommandFrames(WorkerCommand.ack, address));
    let payload: unknown;
    const encoded = payloadFrames[0];
    if (header.raw === undefined && encoded !== undefined && !withinDepth(encoded, PAYLOAD_DEPTH_MAX)) {
      const message = `payload nests deeper than ${PAYLOAD_DEPTH_MAX} levels`;
      this.finishJob(key, job, { s: "error", e: message, r: false }, null);
      return;
    }
    try {
      payload =
        header.raw !== undefined
          ? payloadFrames.length === 1
            ? payloadFrames[0]
            : payloadFrames
          : decode(payloadFrames[0] ?? Buffer.alloc(0));
    } catch (error) {
      this.finishJob(key, job, { s: "error", e: `payload: ${(error as Error).message}`, r: false }, null);
      return;
    }
    this.runHandler(key, job, header, payload);
  }

  /** The handler on a started job; its outcome, now or when its promise settles, is the reply. */
  private runHandler(key: string, job: RunningJob, header: JobHeader, payload: unknown): void {
    const context = new RunningJobContext(job, header, key, this.options.satelliteId, this.port);
    let outcome: unknown;
    try {
      // A traced job's handler runs with its dsat.run span active: its own spans nest under it.
      outcome =
        job.span === null
          ? this.definition.handle(payload, context)
          : runInSpan(job.span, () => this.definition.handle(payload, context));
    } catch (error) {
      this.failJob(key, job, error);
      return;
    }
    if (outcome instanceof Promise) {
      // Still running: an ACK tells the orchestrator it started (a reply that comes first makes it
      // needless, flush() skips it then). Jobs finished by now need none.
      if (job.address === null) this.outbox.ackLater(job);
      outcome.then(
        (result) => this.finishJob(key, job, { s: "ok" }, result),
        (error) => this.failJob(key, job, error),
      );
    } else {
      this.finishJob(key, job, { s: "ok" }, outcome);
    }
  }

  private failJob(key: string, job: RunningJob, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    // The orchestrator refuses reply headers past limits.satelliteHeaderBytesMax (64 KiB).
    const message = text.length > ERROR_TEXT_MAX ? `${text.slice(0, ERROR_TEXT_MAX)}... (cut)` : text;
    const retryable = !(
      typeof error === "object" &&
      error !== null &&
      (error as { retryable?: unknown }).retryable === false
    );
    this.counters.errors++;
    this.finishJob(key, job, { s: "error", e: message, r: retryable }, null);
  }

  private finishJob(key: string, job: RunningJob, reply: Reply, result: unknown): void {
    if (this.running.get(key) !== job) return;
    this.running.delete(key);
    job.finished = true;
    if (reply.s === "ok") this.counters.done++;
    let frames: Buffer[];
    try {
      frames = job.address !== null ? resultFrames(result, job.header) : [resultFrame(result, job.header)];
    } catch (error) {
      reply = { s: "error", e: `result cannot be encoded: ${(error as Error).message}`, r: false };
      frames = [resultFrame(null, job.header)];
    }
    let resultBytes = 0;
    for (const part of frames) resultBytes += part.length;
    if (resultBytes > this.options.messageBytesMax) {
      // Sent, it would be refused (or cut the connection); the error says why, and is final.
      reply = {
        s: "error",
        e: `the result of ${resultBytes} bytes exceeds the limit of ${this.options.messageBytesMax}`,
        r: false,
      };
      frames = [resultFrame(null, job.header)];
      resultBytes = frames[0].length;
    }
    if (job.span !== null) endRunSpan(job.span, reply.s, reply.e);
    const frame = frames[0];
    if (job.address !== null) {
      this.port.send(jobReplyFrames(job.address, reply, frames));
    } else {
      this.outbox.reply(
        [job.id, job.attempt, reply.s === "ok" ? 0 : 1, frame.length, reply.e ?? null, reply.r ?? null],
        frame,
      );
    }
    if (this.idle !== null && this.running.size === 0) this.idle();
  }

  /** The orchestrator cancelled the attempt at `address` (the running job's key). */
  cancel(address: string): void {
    const running = this.running.get(address);
    if (running !== undefined) {
      this.counters.cancelled++;
      abortJob(running, new Error("cancelled by the orchestrator"));
    }
  }

  /** Draining: `resolve` is called once no job runs (checked as each one finishes). */
  whenIdle(resolve: () => void): void {
    this.idle = resolve;
  }

  /** Aborts every running job (each gets its own Error); they still answer when they end. */
  abortAll(reason: string): void {
    for (const job of this.running.values()) abortJob(job, new Error(reason));
  }

  /** Stops at once: every running job aborted, its span ended, and forgotten (no reply). */
  stopAll(reason: string): void {
    for (const job of this.running.values()) {
      abortJob(job, new Error(reason));
      if (job.span !== null) endRunSpan(job.span, "error", reason);
    }
    this.running.clear();
  }
}
