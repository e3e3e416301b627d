// What a dsat client is given: its options, a request's options, and an event as events() yields it.
import type { CurveOptions } from "../security/index.ts";

export interface RequestOptions {
  /** Placement key (jobs with the same key go to the same satellites); the job id by default. */
  key?: string;
  /**
   * Job id, also the idempotency key: a request naming a live job waits for that job's result, and
   * one naming a finished job (kept by a durable orchestrator) gets its stored result without a
   * second run. Default: an id unique to this client and request.
   */
  id?: string;
  /** Deadline, ms; the orchestrator answers DSAT_ERR_TIMEOUT after it. */
  timeoutMs?: number;
  /** Aborting it cancels the job (the satellite's AbortSignal fires; the request rejects CANCELLED). */
  signal?: AbortSignal;
  /**
   * The data the job reads, Disco style (docs/locality.md): a list of inputs, each the list of its
   * replicas' addresses (`disco://host/path`, `http://host:port/path`, `host:/path`). The job is
   * placed near them, and its handler gets them as `context.inputs`.
   */
  inputs?: string[][];
}

export interface ClientOptions {
  /** CURVE keys, when the orchestrator's topology turns security on. */
  curve?: CurveOptions;
  /** The orchestrator's intake endpoint (XSUB) for publish(). */
  publish?: string;
  /** The orchestrator's events endpoint (XPUB) for events(). */
  events?: string;
  /** Default request deadline. */
  timeoutMs?: number;
  /** Requests in flight at once; request() waits for room beyond that. */
  inFlightMax?: number;
  /**
   * Largest payload sent, bytes (the orchestrator's messageBytesMax; default 1 MiB). Larger ones
   * are refused here with DSAT_ERR_TOO_LARGE rather than sent.
   */
  messageBytesMax?: number;
  /**
   * Send the requests still waiting again, with the same ids, when the connection to the
   * orchestrator comes back (after an orchestrator restart). The orchestrator answers a resent
   * request once: it attaches it to the live job or answers from its journal. Default true.
   */
  resendOnReconnect?: boolean;
  /**
   * "dsat" (default): dsat batches and headers, for the dsat orchestrator. "mdp": plain 7/MDP
   * requests for any Majordomo broker; connect() then returns an MdpClient (src/client/mdp-client.ts;
   * docs/protocol.md, "Foreign Majordomo brokers").
   */
  protocol?: "dsat" | "mdp";
  /**
   * This client's session secret (16-64 bytes): it owns the jobs the client sends, so only a
   * client with the same session may attach to them again, cancel them or read their results.
   * Give the same one to a restarted client to get the results of its earlier jobs. Default: one
   * derived from the CURVE secret key (stable across restarts) or, without CURVE, a random one.
   */
  session?: string;
}

export interface OrchestratorEvent {
  topic: string;
  [field: string]: unknown;
}
