// MessagePack for the Raft node: log records on disk and messages on the wire. Plain MessagePack
// (no msgpackr records), so any MessagePack library can read both; never JSON.
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws on bytes that are not one MessagePack value. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
