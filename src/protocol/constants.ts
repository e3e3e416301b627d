// Protocol constants: headers, markers, worker commands, error codes (docs/protocol.md).

export const MDP_CLIENT = Buffer.from("MDPC01");
export const MDP_WORKER = Buffer.from("MDPW01");
/** Marks a body carrying dsat's header frame + payload frame. */
export const DSAT_MARK = Buffer.from("dsat/1");
export const EMPTY = Buffer.alloc(0);

/** Worker commands: 0x01-0x05 are MDP's; 0x10 and up are dsat's (only to/from dsat satellites). */
export const WorkerCommand = {
  ready: 0x01,
  request: 0x02,
  reply: 0x03,
  heartbeat: 0x04,
  disconnect: 0x05,
  ack: 0x10,
  progress: 0x11,
  cancel: 0x12,
  drain: 0x13,
  requestBatch: 0x14,
  replyBatch: 0x15,
  ackBatch: 0x16,
  /** Orchestrator -> satellite on a CURVE topology: prove your key over this nonce in READY. */
  challenge: 0x17,
} as const;
export type WorkerCommandCode = (typeof WorkerCommand)[keyof typeof WorkerCommand];

/** Error codes carried in reply headers (docs/protocol.md, "Error codes"). */
export const ErrorCode = {
  unknownType: "DSAT_ERR_UNKNOWN_TYPE",
  noSatellite: "DSAT_ERR_NO_SATELLITE",
  timeout: "DSAT_ERR_TIMEOUT",
  failed: "DSAT_ERR_FAILED",
  cancelled: "DSAT_ERR_CANCELLED",
  tooLarge: "DSAT_ERR_TOO_LARGE",
  malformed: "DSAT_ERR_MALFORMED",
  overloaded: "DSAT_ERR_OVERLOADED",
  rejected: "DSAT_ERR_REJECTED",
  /** The id names no job this client may see (it is someone else's, or unknown). */
  notFound: "DSAT_ERR_NOT_FOUND",
  /** A control request its sender's role may not run, or whose key or proof does not hold. */
  forbidden: "DSAT_ERR_FORBIDDEN",
  /** A replicated orchestrator that no longer leads: nothing was taken; the client sends it again. */
  notLeader: "DSAT_ERR_NOT_LEADER",
} as const;
export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The error catalogue: what each code means and whether the same request, sent again with the
 * same job id, may succeed later and is safe to send (nothing ran, or nothing could). A TIMEOUT
 * is not: the job may have run. The client exposes it as DsatError.retryable; docs/protocol.md,
 * "Error codes", has the same table (a test keeps them alike).
 */
export const ERROR_CATALOGUE: Readonly<Record<ErrorCodeName, { retryable: boolean; meaning: string }>> = {
  [ErrorCode.unknownType]: {
    retryable: false,
    meaning: "no satellite serves the type and the topology does not declare it",
  },
  [ErrorCode.noSatellite]: { retryable: true, meaning: "no candidate satellite could take the job in time" },
  [ErrorCode.timeout]: { retryable: false, meaning: "no result before the job's deadline (it may have run)" },
  [ErrorCode.failed]: { retryable: false, meaning: "the handler failed, or every attempt did" },
  [ErrorCode.cancelled]: { retryable: false, meaning: "cancelled by its owner" },
  [ErrorCode.tooLarge]: { retryable: false, meaning: "a request or result over messageBytesMax" },
  [ErrorCode.malformed]: { retryable: false, meaning: "a message that does not parse" },
  [ErrorCode.overloaded]: {
    retryable: true,
    meaning: "nothing ran: a budget is full (jobs, bytes, the journal)",
  },
  [ErrorCode.rejected]: { retryable: false, meaning: "refused for what it is (reserved)" },
  [ErrorCode.notFound]: { retryable: false, meaning: "the id names no job of this client's" },
  [ErrorCode.forbidden]: { retryable: false, meaning: "the sender's role may not run this control command" },
  [ErrorCode.notLeader]: {
    retryable: true,
    meaning:
      "nothing ran: this orchestrator no longer leads its replicated set (the client resends by itself)",
  },
};

export function isRetryableError(code: string): boolean {
  return ERROR_CATALOGUE[code as ErrorCodeName]?.retryable ?? false;
}
