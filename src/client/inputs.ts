// A job's inputs as the client sends them (docs/locality.md): in a batch entry, an intake
// message, a titanic request's inner header.
import { ErrorCode, encodeInputs, SATELLITE_INPUTS_LIMITS } from "../protocol/index.ts";
import { RejectedError } from "./errors.ts";

/**
 * A request's inputs on the wire; refused here (DSAT_ERR_MALFORMED) when they are not a list of
 * replica lists. Their counts and bytes are the orchestrator's to judge (its limits may be raised):
 * here only ceilings no orchestrator takes.
 */
export function inputsBytes(inputs: unknown): Buffer {
  try {
    return encodeInputs(inputs, SATELLITE_INPUTS_LIMITS);
  } catch (error) {
    throw new RejectedError(ErrorCode.malformed, `inputs: ${(error as Error).message}`);
  }
}
