// CRC-32 (the zlib/PNG polynomial) from node:zlib: native code, and the checksum every other tool
// computes, so a segment can be checked from outside Node. zlib.crc32 arrived in Node 20.15 and 22.2;
// on an older Node the journal refuses to load rather than fall back to a slow hand-written table.
import zlib from "node:zlib";

if (typeof zlib.crc32 !== "function") {
  throw new Error(`the dsat journal needs zlib.crc32 (Node >= 20.15); this is Node ${process.versions.node}`);
}

/** CRC-32 of `data`, continuing from `value`: the CRC of the bytes before it (0 to start). */
export function crc32(data: Uint8Array, value = 0): number {
  return zlib.crc32(data, value);
}
