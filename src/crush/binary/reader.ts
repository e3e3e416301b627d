// Bounds-checked little-endian reads over a byte array. Every read names what it reads, so a
// truncated or corrupt map fails with a message saying which field ran out of bytes.
import { CrushFormatError } from "./errors.ts";

export class ByteReader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #fileName: string | undefined;
  #offset = 0;

  constructor(bytes: Uint8Array, fileName?: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#fileName = fileName;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.#offset;
  }

  atEnd(): boolean {
    return this.remaining === 0;
  }

  /** A CrushFormatError at the current offset (or the given one). */
  error(detail: string, offset = this.#offset): CrushFormatError {
    return new CrushFormatError(detail, offset, this.#fileName);
  }

  /** Fails unless `byteCount` more bytes are present; `what` names the field for the message. */
  need(byteCount: number, what: string): void {
    if (byteCount > this.remaining) {
      throw this.error(`${what} needs ${byteCount} bytes but only ${this.remaining} remain`);
    }
  }

  /**
   * Validates a count read from the input before anything is allocated for it: `count`
   * entries of at least `bytesEach` bytes must fit in what is left.
   */
  needEntries(count: number, bytesEach: number, what: string): void {
    const byteCount = count * bytesEach;
    if (byteCount > this.remaining) {
      throw this.error(`${what} but only ${this.remaining} bytes remain`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    const value = this.#view.getUint8(this.#offset);
    this.#offset += 1;
    return value;
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.#view.getUint16(this.#offset, true);
    this.#offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.#view.getUint32(this.#offset, true);
    this.#offset += 4;
    return value;
  }

  s32(what: string): number {
    this.need(4, what);
    const value = this.#view.getInt32(this.#offset, true);
    this.#offset += 4;
    return value;
  }

  /** A signed 64-bit value; only values that are exact JS numbers are accepted. */
  s64(what: string): number {
    this.need(8, what);
    const start = this.#offset;
    const value = this.#view.getBigInt64(start, true);
    this.#offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.error(`${what} ${value} is too large to represent`, start);
    }
    return Number(value);
  }

  /** `count` u32 values (the count must already be validated). */
  u32Array(count: number, what: string): Uint32Array {
    this.need(count * 4, what);
    const values = new Uint32Array(count);
    for (let i = 0; i < count; i++) values[i] = this.#view.getUint32(this.#offset + i * 4, true);
    this.#offset += count * 4;
    return values;
  }

  /** `count` s32 values (the count must already be validated). */
  s32Array(count: number, what: string): Int32Array {
    this.need(count * 4, what);
    const values = new Int32Array(count);
    for (let i = 0; i < count; i++) values[i] = this.#view.getInt32(this.#offset + i * 4, true);
    this.#offset += count * 4;
    return values;
  }

  /** `byteCount` raw bytes decoded as UTF-8 (invalid sequences become U+FFFD, never an exception). */
  utf8(byteCount: number, what: string): string {
    this.need(byteCount, what);
    const slice = this.#bytes.subarray(this.#offset, this.#offset + byteCount);
    this.#offset += byteCount;
    return textDecoder.decode(slice);
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: false });
