// What a satellite program writes: its definition (type, concurrency, handler) and the context a
// handler gets for each job; and how a satellite process is configured (SatelliteOptions).
import type { SatelliteLoad } from "../protocol/index.ts";
import type { CurveOptions } from "../security/index.ts";

export interface JobContext {
  id: string;
  /** The id of the satellite running it. */
  satelliteId: string;
  type: string;
  key: string | undefined;
  /** 1 for the first attempt; retries elsewhere count up. */
  attempt: number;
  /** Unix epoch ms by which the client wants the result, if it said. */
  deadline: number | undefined;
  /**
   * The job's W3C traceparent when its client traced it. With an OpenTelemetry SDK registered the
   * handler already runs inside the job's `dsat.run` span; this is for passing the trace on by hand.
   */
  traceparent?: string;
  /**
   * The job's inputs (docs/locality.md): each input's replica addresses, as its client gave them;
   * undefined for jobs without inputs.
   */
  inputs?: string[][];
  /**
   * Per input, its replicas on this satellite's host (through the hostname map), in the client's
   * order; an empty list where none is local (read a remote replica then).
   */
  localReplicas?: string[][];
  /** Aborted when the job is cancelled or the satellite shuts down hard. */
  signal: AbortSignal;
  /** Reports progress (also proves the handler is alive to the tracker). */
  progress(value?: unknown): void;
  log(message: string): void;
}

export interface SatelliteDefinition<Payload = unknown, Result = unknown> {
  /** Job type(s) served. */
  type: string | string[];
  /** Jobs run at once (the capacity announced to the orchestrator). Default 1. */
  concurrency?: number;
  handle(payload: Payload, context: JobContext): Result | Promise<Result>;
}

/** Throw this (or any error with `retryable: false`) to fail a job without retries elsewhere. */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
  readonly retryable = false;
}

export function defineSatellite<Payload = unknown, Result = unknown>(
  definition: SatelliteDefinition<Payload, Result>,
): SatelliteDefinition<Payload, Result> {
  const types = Array.isArray(definition.type) ? definition.type : [definition.type];
  if (types.length === 0 || types.some((type) => typeof type !== "string" || type.length === 0)) {
    throw new TypeError("defineSatellite: type must be a job type name or a non-empty list of them");
  }
  if (typeof definition.handle !== "function")
    throw new TypeError("defineSatellite: handle must be a function");
  return definition;
}

export interface SatelliteOptions {
  /** The orchestrator's frontend endpoint, e.g. tcp://127.0.0.1:5555. */
  endpoint: string;
  /** This satellite's id (unique in the topology). */
  id: string;
  /** Path in the failure-domain hierarchy, outermost first. */
  location?: Array<[string, string]>;
  weight?: number;
  heartbeatMs?: number;
  heartbeatLiveness?: number;
  /**
   * Largest result sent, bytes (the orchestrator's limits.messageBytesMax; default 1 MiB): a larger
   * one fails its job at once (not retried) instead of being refused on the way.
   */
  messageBytesMax?: number;
  /** First reconnect delay; doubles up to reconnectMaxMs. */
  reconnectMs?: number;
  reconnectMaxMs?: number;
  /** Handle SIGTERM/SIGINT by draining (default true when run by the CLI). */
  handleSignals?: boolean;
  /** Where its log lines go. Default: JSON lines on stdout named `satellite` (docs/observability.md, "Logs"). */
  log?: (message: string) => void;
  /** CURVE keys, when the orchestrator's topology turns security on; READY then proves the key. */
  curve?: CurveOptions;
  /**
   * Storage host name -> this topology's host name, for `context.localReplicas` (docs/locality.md);
   * the pairs of the file DSAT_HOSTNAME_MAP names are added.
   */
  hostnames?: Record<string, string>;
  /**
   * "dsat" (default): dsat's extensions (hello, batches, ACK, PROGRESS, CANCEL, DRAIN); needs the
   * dsat orchestrator. "mdp": plain 7/MDP workers, one per type and unit of concurrency, one request
   * at a time each, for any Majordomo broker (docs/protocol.md, "Foreign Majordomo brokers");
   * `location` and `weight` are not sent then.
   */
  protocol?: "dsat" | "mdp";
  /**
   * The application's own load figures, sent with each heartbeat to an orchestrator that asks for
   * them (docs/operations.md, "Scores"): e.g. `{ queued: myQueue.length }`. Those it names replace
   * the runtime's (jobs running, event-loop lag, error rate over the last period).
   */
  load?: () => Partial<SatelliteLoad>;
}
