// The errors a request rejects with, one class per kind of failure; `code` is the stable part
// (docs/protocol.md, "Error codes").
import { ErrorCode, type ErrorCodeName, isRetryableError } from "../protocol/index.ts";

/** Base of every error a request can reject with; `code` is stable (docs/protocol.md, "Error codes"). */
export class DsatError extends Error {
  override name = "DsatError";
  constructor(
    readonly code: ErrorCodeName | "DSAT_ERR_CLOSED",
    message: string,
    readonly jobId?: string,
  ) {
    super(message);
  }

  /**
   * Whether the same request (same id) may succeed if sent again later, and nothing ran:
   * OVERLOADED and NO_SATELLITE (docs/protocol.md, "Error codes").
   */
  get retryable(): boolean {
    return isRetryableError(this.code);
  }
}
export class TimeoutError extends DsatError {
  override name = "TimeoutError";
}
export class NoSatelliteError extends DsatError {
  override name = "NoSatelliteError";
}
export class UnknownTypeError extends DsatError {
  override name = "UnknownTypeError";
}
export class RejectedError extends DsatError {
  override name = "RejectedError";
}
export class JobFailedError extends DsatError {
  override name = "JobFailedError";
}
export class CancelledError extends DsatError {
  override name = "CancelledError";
}
/** The job id names no job of this client's (someone else's, or unknown). */
export class NotFoundError extends DsatError {
  override name = "NotFoundError";
}

/** The DsatError subclass for an error code (the dsat and the plain-MDP client alike). */
export function errorFor(code: string, message: string, jobId?: string): DsatError {
  switch (code) {
    case ErrorCode.timeout:
      return new TimeoutError(code, message, jobId);
    case ErrorCode.noSatellite:
      return new NoSatelliteError(code, message, jobId);
    case ErrorCode.unknownType:
      return new UnknownTypeError(code, message, jobId);
    case ErrorCode.failed:
      return new JobFailedError(code, message, jobId);
    case ErrorCode.cancelled:
      return new CancelledError(code, message, jobId);
    case ErrorCode.notFound:
      return new NotFoundError(code, message, jobId);
    case ErrorCode.tooLarge:
    case ErrorCode.malformed:
    case ErrorCode.overloaded:
    case ErrorCode.rejected:
      return new RejectedError(code, message, jobId);
    default:
      return new DsatError(ErrorCode.failed, `${code}: ${message}`, jobId);
  }
}
