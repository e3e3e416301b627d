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
} as const;
export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Whether the same request, sent again with the same job id, may succeed later and is safe to
 * send: nothing ran (overload) or nothing could (no satellite). A TIMEOUT is not: the job may have
 * run. The client exposes it as DsatError.retryable (docs/protocol.md, "Error codes").
 */
const RETRYABLE: Readonly<Record<ErrorCodeName, boolean>> = {
  [ErrorCode.unknownType]: false,
  [ErrorCode.noSatellite]: true,
  [ErrorCode.timeout]: false,
  [ErrorCode.failed]: false,
  [ErrorCode.cancelled]: false,
  [ErrorCode.tooLarge]: false,
  [ErrorCode.malformed]: false,
  [ErrorCode.overloaded]: true,
  [ErrorCode.rejected]: false,
  [ErrorCode.notFound]: false,
  [ErrorCode.forbidden]: false,
};

export function isRetryableError(code: string): boolean {
  return RETRYABLE[code as ErrorCodeName] ?? false;
}
