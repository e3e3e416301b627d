// Ceph's compiled binary CRUSH map: `crushtool -c` output and `ceph osd getcrushmap`.
import { CRUSH_MAGIC } from "./layout.ts";

export { decodeCrushBinary } from "./decode.ts";
export { encodeCrushBinary, resolveDeviceClassTables } from "./encode.ts";
export { CrushEncodeError, CrushFormatError } from "./errors.ts";
export { CRUSH_MAGIC } from "./layout.ts";

/**
 * True when the bytes start with the binary map's magic number, so a loader can accept either
 * a text map or a binary one. (Text maps start with printable characters; the magic's bytes
 * 00 00 01 00 never begin a text map.)
 */
export function isCrushBinary(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 4) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
  return view.getUint32(0, true) === CRUSH_MAGIC;
}
