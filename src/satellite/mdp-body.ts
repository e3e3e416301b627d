// Bodies of plain 7/MDP requests and replies, as a satellite in "mdp" mode reads and writes them
// (docs/protocol.md, "Foreign Majordomo brokers"): MDP carries opaque frames, so dsat's convention is
// one MessagePack frame each way, with raw bytes for anything else.
import { DecodeError, decode, ErrorCode, encode, PAYLOAD_DEPTH_MAX, withinDepth } from "../protocol/index.ts";

/** What the handler gets: the decoded value, or the bytes when the body is not one MessagePack frame. */
export type RequestPayload = { ok: true; payload: unknown } | { ok: false; error: Buffer[] };

/**
 * One frame that is exactly one MessagePack value: that value. One frame that is not: the Buffer.
 * Zero or several frames: the Buffer[]. A MessagePack frame nested too deep is refused rather than
 * decoded (the same bound the dsat satellite applies).
 */
export function requestPayload(body: Buffer[]): RequestPayload {
  if (body.length !== 1) return { ok: true, payload: body };
  const frame = body[0];
  try {
    if (!withinDepth(frame, PAYLOAD_DEPTH_MAX)) {
      return {
        ok: false,
        error: errorBody(ErrorCode.malformed, `payload nests deeper than ${PAYLOAD_DEPTH_MAX} levels`),
      };
    }
    return { ok: true, payload: decode(frame) };
  } catch (error) {
    if (error instanceof DecodeError) return { ok: true, payload: frame };
    throw error;
  }
}

/** A Buffer (or Uint8Array) goes raw in one frame, a non-empty list of them as that many frames; anything else is MessagePack. */
export function resultBody(result: unknown): Buffer[] {
  if (result instanceof Uint8Array) return [asBuffer(result)];
  if (Array.isArray(result) && result.length > 0 && result.every((part) => part instanceof Uint8Array)) {
    return result.map(asBuffer);
  }
  return [encode(result ?? null)];
}

/** The two-frame error body dsat uses towards plain MDP peers: the code, then a readable message. */
export function errorBody(code: string, message: string): Buffer[] {
  return [Buffer.from(code), Buffer.from(message)];
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
