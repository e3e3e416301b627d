// Payload and header encoding: msgpackr's standard pack/unpack (no records/structures), so any
// MessagePack library (Python's msgpack among them) reads what dsat writes.
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export class DecodeError extends Error {
  override name = "DecodeError";
}

/** Decodes one MessagePack value; throws DecodeError (never anything else) on bad bytes. */
export function decode(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new DecodeError(`not MessagePack: ${(error as Error).message}`);
  }
}
