// The header of an intake message (docs/protocol.md, "Intake"): [type, header, payload], where the
// header is a small MessagePack map { id?, k? }, checked against its shape before it is decoded.
import { DecodeError } from "./codec.ts";
import { decodeShaped, type InputLimits, inputShapes } from "./input-shapes.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { ShapeError } from "./shape.ts";

export interface IntakeHeader {
  /** The job id, when the header names a usable one (a string of 1-200 characters). */
  id: string | undefined;
  /** The placement key. */
  key: string | undefined;
}

/** The header's id and key, or why it is malformed. */
export function parseIntakeHeader(
  frame: Buffer,
  limits: InputLimits = DEFAULT_LIMITS,
): IntakeHeader | string {
  let header: unknown;
  try {
    header = decodeShaped(frame, inputShapes(limits).intakeHeader);
  } catch (error) {
    if (error instanceof ShapeError || error instanceof DecodeError) return error.message;
    throw error;
  }
  if (typeof header !== "object" || header === null || Array.isArray(header) || Buffer.isBuffer(header))
    return "intake header is not a MessagePack map";
  const fields = header as { id?: unknown; k?: unknown };
  return {
    // An unusable id is ignored (the orchestrator assigns one), as documented.
    id:
      typeof fields.id === "string" && fields.id.length > 0 && fields.id.length <= 200
        ? fields.id
        : undefined,
    key: typeof fields.k === "string" ? fields.k : undefined,
  };
}
