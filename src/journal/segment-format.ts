// The bytes of a segment file (docs/journal.md "Storage: segment files"): a 32-byte header, then
// records back to back, each in an 8-byte frame (length, CRC-32). Format 2 salts every record CRC
// with a random value kept in the segment's header, so bytes inside a record's payload (a job's
// payload, chosen by a client) can never pass for a frame of that segment: after damage, recovery
// may then scan forward for the next frame and trust what it finds (segment-scan.ts).
// Format 1 (unsalted) segments are still read; everything written now is format 2.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { crc32 } from "./crc32.ts";
import { JournalError } from "./errors.ts";

/** Segment header: magic, version, flags, first seq, salt, crc32 of the 28 bytes before it. */
export const SEGMENT_HEADER_BYTES = 32;
/** Record frame header: payload length, CRC-32 of (salt + length field + payload). */
export const FRAME_HEADER_BYTES = 8;
export const RECORD_BYTES_MAX = 16 * 1024 * 1024;
const MAGIC = "DSATJRN1";
/** Record CRCs without a salt: read, never written any more (no safe resynchronisation). */
const FORMAT_UNSALTED = 1;
const FORMAT_SALTED = 2;
/** This segment starts the log: every segment before it was superseded by a compaction. */
export const FLAG_BASE = 1;
/** Seqs between this segment's last record and the next segment's first were lost (reported once, at the open that found it). */
export const FLAG_HOLE_AFTER = 2;
const FLAGS_KNOWN = FLAG_BASE | FLAG_HOLE_AFTER;
export const SEGMENT_NAME = /^\d{20}\.log$/;
export const TEMP_SUFFIX = ".tmp";
export const TEMP_NAME = /^\d{20}\.log\.tmp$/;
const READ_WINDOW_BYTES = 1024 * 1024;
const CHUNK_BYTES_MIN = 4 * 1024;
const CHUNK_BYTES_MAX = 1024 * 1024;

export interface SegmentHeader {
  firstSeq: number;
  flags: number;
  /** 0 for a format 1 segment. */
  salt: number;
}

/** A header that cannot be trusted; `salt` is what its salt field holds anyway (0 if unknown). */
export interface BadHeader {
  problem: string;
  salt: number;
}

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, "0")}.log`;
}

/** The seq a segment's file name says it starts at. */
export function seqOfName(name: string): number {
  return Number(name.slice(0, 20));
}

/** The CRC value a segment's record CRCs start from: CRC-32 of its 4 salt bytes (0: unsalted). */
export function seedOf(salt: number): number {
  if (salt === 0) return 0;
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(salt, 0);
  return crc32(bytes);
}

/** A fresh random salt for a new segment. */
export function newSalt(): number {
  for (;;) {
    const salt = randomBytes(4).readUInt32LE(0);
    if (salt !== 0 && seedOf(salt) !== 0) return salt;
  }
}

export function encodeHeader(firstSeq: number, flags: number, salt: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  header.write(MAGIC, 0, "latin1");
  header.writeUInt32LE(FORMAT_SALTED, 8);
  header.writeUInt32LE(flags, 12);
  header.writeBigUInt64LE(BigInt(firstSeq), 16);
  header.writeUInt32LE(salt, 24);
  header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
  return header;
}

/** The header's fields, or why it cannot be trusted. The name must agree, so a renamed file is caught. */
export function decodeHeader(bytes: Buffer, name: string): SegmentHeader | BadHeader {
  const salt = bytes.length >= 28 ? bytes.readUInt32LE(24) : 0;
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    return { problem: `file is ${bytes.length} bytes, shorter than the header`, salt };
  }
  if (bytes.toString("latin1", 0, 8) !== MAGIC) return { problem: "bad magic", salt };
  if (crc32(bytes.subarray(0, 28)) !== bytes.readUInt32LE(28))
    return { problem: "header crc mismatch", salt };
  const version = bytes.readUInt32LE(8);
  if (version !== FORMAT_UNSALTED && version !== FORMAT_SALTED)
    return { problem: `unknown format version ${version}`, salt: 0 };
  const flags = bytes.readUInt32LE(12);
  if ((flags & ~FLAGS_KNOWN) !== 0) return { problem: `unknown flags ${flags}`, salt };
  if (version === FORMAT_UNSALTED && salt !== 0) return { problem: "format 1 with a salt", salt: 0 };
  if (version === FORMAT_SALTED && salt === 0) return { problem: "format 2 without a salt", salt: 0 };
  const firstSeq = bytes.readBigUInt64LE(16);
  if (name !== segmentName(Number(firstSeq)) || firstSeq < 1n || firstSeq > BigInt(Number.MAX_SAFE_INTEGER)) {
    // A whole, valid header under another name: a copied or renamed file, whose records would land
    // out of order. Its salt is not offered, so nothing is recovered from it.
    return { problem: `first seq ${firstSeq} does not match the file name`, salt: 0 };
  }
  return { firstSeq: Number(firstSeq), flags, salt };
}

/** CRC of a frame: salt seed, then its 4 length bytes, then the payload. */
function frameCrc(seed: number, lengthField: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthField, seed));
}

/**
 * The byte length of the valid frame at `at` in `bytes`, or 0 when there is none (bad length, does
 * not fit, or a CRC mismatch). For scanning a region held in memory.
 */
export function frameBytesAt(bytes: Buffer, at: number, seed: number): number {
  if (at + FRAME_HEADER_BYTES > bytes.length) return 0;
  const length = bytes.readUInt32LE(at);
  if (length === 0 || length > RECORD_BYTES_MAX || at + FRAME_HEADER_BYTES + length > bytes.length) return 0;
  const payload = bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
  return frameCrc(seed, bytes.subarray(at, at + 4), payload) === bytes.readUInt32LE(at + 4)
    ? FRAME_HEADER_BYTES + length
    : 0;
}

/**
 * Frames records into a few large buffers: a commit hands writev a handful of buffers, not one per
 * record, and the caller may reuse its buffer as soon as add() returns.
 */
export class FrameBatch {
  bytes = 0;
  records = 0;
  private readonly sealed: Buffer[] = [];
  private chunk: Buffer | undefined;
  private used = 0;

  constructor(private seed: number) {}

  add(data: Uint8Array): void {
    const frameBytes = FRAME_HEADER_BYTES + data.length;
    if (this.chunk === undefined || this.used + frameBytes > this.chunk.length) this.grow(frameBytes);
    const chunk = this.chunk!;
    const at = this.used;
    chunk.writeUInt32LE(data.length, at);
    chunk.writeUInt32LE(frameCrc(this.seed, chunk.subarray(at, at + 4), data), at + 4);
    chunk.set(data, at + FRAME_HEADER_BYTES);
    this.used += frameBytes;
    this.bytes += frameBytes;
    this.records += 1;
  }

  buffers(): Buffer[] {
    this.seal();
    return this.sealed;
  }

  /** Recomputes every CRC for another segment's salt (the records were framed for a format 1 segment). */
  reframe(seed: number): void {
    this.seed = seed;
    for (const buffer of this.buffers()) {
      for (let at = 0; at < buffer.length; ) {
        const length = buffer.readUInt32LE(at);
        const payload = buffer.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
        buffer.writeUInt32LE(frameCrc(seed, buffer.subarray(at, at + 4), payload), at + 4);
        at += FRAME_HEADER_BYTES + length;
      }
    }
  }

  /** Chunks start small (single-record commits are common) and double up to CHUNK_BYTES_MAX. */
  private grow(frameBytes: number): void {
    this.seal();
    const chunkBytes = Math.min(CHUNK_BYTES_MAX, CHUNK_BYTES_MIN * 2 ** this.sealed.length);
    this.chunk = Buffer.allocUnsafe(Math.max(frameBytes, chunkBytes));
    this.used = 0;
  }

  private seal(): void {
    if (this.chunk !== undefined && this.used > 0) this.sealed.push(this.chunk.subarray(0, this.used));
    this.chunk = undefined;
  }
}

export type Frame = { data: Buffer } | { problem: string } | undefined;

/** Reads a segment's records in order through a window, so memory stays near one record per reader. */
export class FrameReader {
  offset: number;
  private window = Buffer.allocUnsafe(READ_WINDOW_BYTES);
  private windowOffset = 0;
  private windowBytes = 0;

  /** Reads [offset, endOffset) of the file; `seed` is the segment's (seedOf(salt)). */
  constructor(
    private readonly fd: number,
    private readonly endOffset: number,
    offset: number,
    private readonly seed: number,
  ) {
    this.offset = offset;
  }

  /** The next record (a view, valid until the next call), why it is bad, or undefined at a clean end. */
  next(): Frame {
    const left = this.endOffset - this.offset;
    if (left === 0) return undefined;
    if (left < FRAME_HEADER_BYTES)
      return { problem: `torn frame header, ${left} of ${FRAME_HEADER_BYTES} bytes` };
    let at = this.load(FRAME_HEADER_BYTES);
    const length = this.window.readUInt32LE(at);
    const checksum = this.window.readUInt32LE(at + 4);
    if (length === 0 || length > RECORD_BYTES_MAX) return { problem: `bad length ${length}` };
    const frameBytes = FRAME_HEADER_BYTES + length;
    if (left < frameBytes) return { problem: `torn record, ${left} of ${frameBytes} bytes` };
    at = this.load(frameBytes);
    const data = this.window.subarray(at + FRAME_HEADER_BYTES, at + frameBytes);
    if (frameCrc(this.seed, this.window.subarray(at, at + 4), data) !== checksum)
      return { problem: "crc mismatch" };
    this.offset += frameBytes;
    return { data };
  }

  /** Makes file bytes [offset, offset + bytes) resident; returns where they start in the window. */
  private load(bytes: number): number {
    const start = this.offset - this.windowOffset;
    if (start >= 0 && start + bytes <= this.windowBytes) return start;
    if (bytes > this.window.length) this.window = Buffer.allocUnsafe(bytes);
    const wanted = Math.min(this.window.length, this.endOffset - this.offset);
    let got = 0;
    while (got < wanted) {
      const read = fs.readSync(this.fd, this.window, got, wanted - got, this.offset + got);
      if (read === 0) throw new JournalError("JOURNAL_CHANGED", "journal segment shrank while being read");
      got += read;
    }
    this.windowOffset = this.offset;
    this.windowBytes = got;
    return 0;
  }
}
