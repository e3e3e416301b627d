// rjenkins1: Bob Jenkins' 96-bit mix as CRUSH uses it (crush.md §2). All arithmetic is u32;
// in JS we keep int32 bit patterns (`| 0`, `>>>` for logical right shifts) and return u32.
// The mix mutates all three operands, and later mix calls see the mutated values, so each
// hash threads a, b, c through module-level registers instead of allocating.

const SEED = 1315423911;
const X0 = 231232;
const Y0 = 1232;

let ra = 0;
let rb = 0;
let rc = 0;

function mix(a: number, b: number, c: number): void {
  a = (a - b - c) | 0;
  a ^= c >>> 13;
  b = (b - c - a) | 0;
  b ^= a << 8;
  c = (c - a - b) | 0;
  c ^= b >>> 13;
  a = (a - b - c) | 0;
  a ^= c >>> 12;
  b = (b - c - a) | 0;
  b ^= a << 16;
  c = (c - a - b) | 0;
  c ^= b >>> 5;
  a = (a - b - c) | 0;
  a ^= c >>> 3;
  b = (b - c - a) | 0;
  b ^= a << 10;
  c = (c - a - b) | 0;
  c ^= b >>> 15;
  ra = a;
  rb = b;
  rc = c;
}

/** rjenkins1 of one u32 (negative ids hash as their two's complement). */
export function hash1(a: number): number {
  let h = SEED ^ a;
  let b = a;
  let x = X0;
  let y = Y0;
  mix(b, x, h);
  b = ra;
  x = rb;
  h = rc;
  mix(y, a, h);
  y = ra;
  a = rb;
  h = rc;
  return h >>> 0;
}

export function hash2(a: number, b: number): number {
  let h = SEED ^ a ^ b;
  let x = X0;
  let y = Y0;
  mix(a, b, h);
  a = ra;
  b = rb;
  h = rc;
  mix(x, a, h);
  x = ra;
  a = rb;
  h = rc;
  mix(b, y, h);
  return rc >>> 0;
}

export function hash3(a: number, b: number, c: number): number {
  let h = SEED ^ a ^ b ^ c;
  let x = X0;
  let y = Y0;
  mix(a, b, h);
  a = ra;
  b = rb;
  h = rc;
  mix(c, x, h);
  c = ra;
  x = rb;
  h = rc;
  mix(y, a, h);
  y = ra;
  a = rb;
  h = rc;
  mix(b, x, h);
  b = ra;
  x = rb;
  h = rc;
  mix(y, c, h);
  return rc >>> 0;
}

export function hash4(a: number, b: number, c: number, d: number): number {
  let h = SEED ^ a ^ b ^ c ^ d;
  let x = X0;
  let y = Y0;
  mix(a, b, h);
  a = ra;
  b = rb;
  h = rc;
  mix(c, d, h);
  c = ra;
  d = rb;
  h = rc;
  mix(a, x, h);
  a = ra;
  x = rb;
  h = rc;
  mix(y, b, h);
  y = ra;
  b = rb;
  h = rc;
  mix(c, x, h);
  c = ra;
  x = rb;
  h = rc;
  mix(y, d, h);
  return rc >>> 0;
}

export function hash5(a: number, b: number, c: number, d: number, e: number): number {
  let h = SEED ^ a ^ b ^ c ^ d ^ e;
  let x = X0;
  let y = Y0;
  mix(a, b, h);
  a = ra;
  b = rb;
  h = rc;
  mix(c, d, h);
  c = ra;
  d = rb;
  h = rc;
  mix(e, x, h);
  e = ra;
  x = rb;
  h = rc;
  mix(y, a, h);
  y = ra;
  a = rb;
  h = rc;
  mix(b, x, h);
  b = ra;
  x = rb;
  h = rc;
  mix(y, c, h);
  y = ra;
  c = rb;
  h = rc;
  mix(d, x, h);
  d = ra;
  x = rb;
  h = rc;
  mix(y, e, h);
  return rc >>> 0;
}

/**
 * Hash of a job key to a CRUSH input x: Bob Jenkins' lookup2 string hash (public domain), the
 * function Ceph uses to hash object names (`ceph_str_hash_rjenkins`), over the key's UTF-8
 * bytes. It reuses the rjenkins mix above.
 */
export function hashKey(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  const length = bytes.length;
  let a = 0x9e3779b9 | 0;
  let b = a;
  let c = 0;
  let k = 0;
  for (; length - k >= 12; k += 12) {
    a = (a + word(bytes, k)) | 0;
    b = (b + word(bytes, k + 4)) | 0;
    c = (c + word(bytes, k + 8)) | 0;
    mix(a, b, c);
    a = ra;
    b = rb;
    c = rc;
  }
  c = (c + length) | 0;
  // The tail: bytes 8..10 go to c above its low byte (which holds the length), 4..7 to b, 0..3 to a.
  const rest = length - k;
  for (let i = rest - 1; i >= 0; i--) {
    const byte = bytes[k + i];
    if (i >= 8) c = (c + (byte << (8 * (i - 7)))) | 0;
    else if (i >= 4) b = (b + (byte << (8 * (i - 4)))) | 0;
    else a = (a + (byte << (8 * i))) | 0;
  }
  mix(a, b, c);
  return rc >>> 0;
}

function word(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}
