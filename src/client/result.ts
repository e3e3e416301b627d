// A job's result frame as callers get it, the same for request(), a plain MDP reply and a Titanic
// reply: refused when it nests past PAYLOAD_DEPTH_MAX (before decoding), MessagePack decoded, or
// the frame itself when it is not MessagePack (a plain MDP worker's raw bytes).
import { decode, ErrorCode, PAYLOAD_DEPTH_MAX, withinDepth } from "../protocol/index.ts";
import { RejectedError } from "./errors.ts";

/** The result, or a RejectedError (MessagePack never decodes to one, so `instanceof` tells them apart). */
export function decodeResult(frame: Buffer, jobId?: string): unknown {
  if (!withinDepth(frame, PAYLOAD_DEPTH_MAX))
    return new RejectedError(
      ErrorCode.malformed,
      `result nests deeper than ${PAYLOAD_DEPTH_MAX} levels`,
      jobId,
    );
  try {
    return decode(frame);
  } catch {
    return frame;
  }
}
