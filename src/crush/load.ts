// Reading a map from a file: crushtool text or Ceph's compiled binary, told apart by the magic.
import { readFileSync } from "node:fs";
import { CrushFormatError, decodeCrushBinary, encodeCrushBinary, isCrushBinary } from "./binary/index.ts";
import { CrushSyntaxError, compileCrushText, decompileCrushMap } from "./text/index.ts";
import type { CrushMap } from "./types.ts";

/** A map file that could not be read or understood; the message names the file. */
export class CrushMapFileError extends Error {
  override name = "CrushMapFileError";
}

/** Parses text or binary map bytes. Throws CrushSyntaxError or CrushFormatError on bad input. */
export function parseCrushMap(bytes: Uint8Array, fileName = "<input>"): CrushMap {
  if (isCrushBinary(bytes)) return decodeCrushBinary(bytes, fileName);
  return compileCrushText(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
    fileName,
  );
}

export function loadCrushMapFile(path: string): CrushMap {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new CrushMapFileError(`${path}: cannot read the map: ${reason}`);
  }
  return parseCrushMap(bytes, path);
}

/** true for the errors a bad map file produces (as opposed to bugs). */
export function isCrushInputError(error: unknown): error is Error {
  return (
    error instanceof CrushSyntaxError ||
    error instanceof CrushFormatError ||
    error instanceof CrushMapFileError
  );
}

export { decompileCrushMap, encodeCrushBinary as compileToBinary };
