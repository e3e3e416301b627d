// Little-endian writes into a growing buffer, with range checks: a value that does not fit its
// on-disk field is a CrushEncodeError instead of silently wrapping.
import { CrushEncodeError } from "./errors.ts";

const INITIAL_CAPACITY_BYTES = 4096;

export class ByteWriter {
  #buffer = new Uint8Array(INITIAL_CAPACITY_BYTES);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  /** The bytes written so far (a copy, so later writes cannot change it). */
  toBytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }

  u8(value: number, what: string): void {
    checkRange(value, 0, 0xff, what);
    this.#reserve(1).setUint8(this.#advance(1), value);
  }

  u16(value: number, what: string): void {
    checkRange(value, 0, 0xffff, what);
    this.#reserve(2).setUint16(this.#advance(2), value, true);
  }

  u32(value: number, what: string): void {
    checkRange(value, 0, 0xffffffff, what);
    this.#reserve(4).setUint32(this.#advance(4), value, true);
  }

  s32(value: number, what: string): void {
    checkRange(value, -0x80000000, 0x7fffffff, what);
    this.#reserve(4).setInt32(this.#advance(4), value, true);
  }

  s64(value: number, what: string): void {
    checkRange(value, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, what);
    this.#reserve(8).setBigInt64(this.#advance(8), BigInt(value), true);
  }

  bytes(source: Uint8Array): void {
    this.#reserve(source.byteLength);
    this.#buffer.set(source, this.#advance(source.byteLength));
  }

  #reserve(byteCount: number): DataView {
    const needed = this.#length + byteCount;
    if (needed > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.byteLength * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    return this.#view;
  }

  /** Moves the end past `byteCount` bytes and returns where they start. */
  #advance(byteCount: number): number {
    const start = this.#length;
    this.#length += byteCount;
    return start;
  }
}

function checkRange(value: number, minimum: number, maximum: number, what: string): void {
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new CrushEncodeError(`${what} is ${value}, outside ${minimum}..${maximum}`);
  }
}
