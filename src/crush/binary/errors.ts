// Errors of the binary codec. Decoding reports where in the input it gave up, so a corrupt
// or foreign file can be diagnosed from the message alone.

/** The input is not a CRUSH map Ceph 16 could have written: truncated, corrupt or foreign. */
export class CrushFormatError extends Error {
  override name = "CrushFormatError";
  /** Byte offset in the input at which decoding stopped. */
  readonly offset: number;
  /** The problem without the "<file>: at byte <n>:" prefix. */
  readonly detail: string;
  readonly fileName: string | undefined;

  constructor(detail: string, offset: number, fileName?: string) {
    super(`${fileName ?? "crush map"}: at byte ${offset}: ${detail}`);
    this.offset = offset;
    this.detail = detail;
    this.fileName = fileName;
  }
}

/** The map cannot be written in Ceph's binary format (a value out of its field's range, a slot mismatch). */
export class CrushEncodeError extends Error {
  override name = "CrushEncodeError";
}
