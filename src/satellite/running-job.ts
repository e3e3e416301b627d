// A job as the satellite runtime runs it: its abort state (the AbortSignal made on first use), its
// JobContext, and how its result becomes reply frames.
import {
  decodeInputs,
  encode,
  type JobHeader,
  SATELLITE_INPUTS_LIMITS,
  WorkerCommand,
  workerCommandFrames,
} from "../protocol/index.ts";
import type { RunSpan } from "../tracing/index.ts";
import type { JobContext } from "./definition.ts";

export interface RunningJob {
  /** Created on first use of context.signal (most handlers never look at it). */
  controller: AbortController | null;
  abortReason: Error | null;
  /** MDP reply address for jobs that came alone; null for batch jobs. */
  address: Buffer | null;
  id: string;
  /** The orchestrator's fencing token for this attempt. */
  attempt: number;
  header: JobHeader;
  finished?: boolean;
  /** Its `dsat.run` span, for a job that came with a traceparent (docs/observability.md). */
  span: RunSpan | null;
}

/** How a job's context reaches its runtime. */
export interface ContextPort {
  send(frames: Buffer[]): void;
  log(line: string): void;
  /** The replica address is on this satellite's host (job-inputs.ts). */
  isLocal(address: string): boolean;
}

/**
 * A job's JobContext. A class: an object literal with a getter (signal) is built through V8's
 * runtime, ~1 µs per job, where a class instance takes the fast path (docs/performance.md).
 */
export class RunningJobContext implements JobContext {
  readonly id: string;
  readonly type: string;
  readonly key: string | undefined;
  readonly attempt: number;
  readonly deadline: number | undefined;
  readonly traceparent: string | undefined;
  readonly inputs: string[][] | undefined;

  constructor(
    private readonly job: RunningJob,
    header: JobHeader,
    /** The runtime's name of this attempt (the address of its PROGRESS messages). */
    private readonly runningKey: string,
    readonly satelliteId: string,
    private readonly port: ContextPort,
  ) {
    this.id = header.id;
    this.type = header.type;
    this.key = header.k;
    this.attempt = header.a;
    this.deadline = header.d;
    this.traceparent = header.tp;
    // The orchestrator checked them; bytes that still do not decode leave the job without inputs.
    const inputs = header.in === undefined ? undefined : decodeInputs(header.in, SATELLITE_INPUTS_LIMITS);
    this.inputs = typeof inputs === "string" ? undefined : inputs;
    // Handlers may call these detached (const { progress } = context).
    this.progress = this.progress.bind(this);
    this.log = this.log.bind(this);
  }

  get signal(): AbortSignal {
    return signalOf(this.job);
  }

  get localReplicas(): string[][] | undefined {
    return this.inputs?.map((replicas) => replicas.filter((address) => this.port.isLocal(address)));
  }

  progress(value?: unknown): void {
    if (this.job.abortReason === null) {
      this.port.send(
        workerCommandFrames(WorkerCommand.progress, Buffer.from(this.runningKey), encode(value ?? null)),
      );
    }
  }

  log(message: string): void {
    this.port.log(`[job ${this.id}#${this.attempt}] ${message}`);
  }
}

export function signalOf(job: RunningJob): AbortSignal {
  if (job.controller === null) {
    job.controller = new AbortController();
    if (job.abortReason !== null) job.controller.abort(job.abortReason);
  }
  return job.controller.signal;
}

export function abortJob(job: RunningJob, reason: Error): void {
  if (job.abortReason !== null) return;
  job.abortReason = reason;
  job.controller?.abort(reason);
}

/** The reply payload frame: MessagePack, or bytes for jobs that came as raw MDP frames. */
export function resultFrame(result: unknown, header: JobHeader): Buffer {
  if (header.raw !== undefined) {
    if (Buffer.isBuffer(result)) return result;
    if (result instanceof Uint8Array) return Buffer.from(result);
    if (typeof result === "string") return Buffer.from(result);
  }
  return encode(result ?? null);
}

/** For raw jobs answered alone: a list of byte strings goes back as that many frames (7/MDP). */
export function resultFrames(result: unknown, header: JobHeader): Buffer[] {
  if (header.raw !== undefined && Array.isArray(result) && result.length > 0) {
    if (result.every((part) => part instanceof Uint8Array || typeof part === "string")) {
      return result.map((part) => resultFrame(part, header));
    }
  }
  return [resultFrame(result, header)];
}
