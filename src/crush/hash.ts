// rjenkins1: Bob Jenkins' 96-bit mix as CRUSH uses it (crush.md §2). All arithmetic is u32;
// in JS we keep int32 bit patterns (`| 0`, `>>>` for logical right shifts) and return u32.
// The mix mutates all three operands, and later mix calls see the mutated values, so each
// hash threads a, b, c through module-level registers instead of allocating.

const SEED = 1315423911;
const X0 = 231232;
const Y0 = 1232;

/** rjenkins1's constants, for code that writes a hash out in place (the straw2 draw loop). */
export { SEED as HASH_SEED, X0 as HASH_X0, Y0 as HASH_Y0 };

// The hashes below are the mix written out in place, with locals: calling a shared mix()
// that passed results through module variables cost ~85 ns per hash3; inline it is ~10x less
// (bench/crush.ts). Each "mix(p, q, h)" block is the nine-line mix on those operands.
export function hash1(a: number): number {
  let h = SEED ^ a;
  let b = a;
  let x = X0;
  let y = Y0;
  // mix(b, x, h)
  b = (b - x - h) | 0;
  b ^= h >>> 13;
  x = (x - h - b) | 0;
  x ^= b << 8;
  h = (h - b - x) | 0;
  h ^= x >>> 13;
  b = (b - x - h) | 0;
  b ^= h >>> 12;
  x = (x - h - b) | 0;
  x ^= b << 16;
  h = (h - b - x) | 0;
  h ^= x >>> 5;
  b = (b - x - h) | 0;
  b ^= h >>> 3;
  x = (x - h - b) | 0;
  x ^= b << 10;
  h = (h - b - x) | 0;
  h ^= x >>> 15;
  // mix(y, a, h)
  y = (y - a - h) | 0;
  y ^= h >>> 13;
  a = (a - h - y) | 0;
  a ^= y << 8;
  h = (h - y - a) | 0;
  h ^= a >>> 13;
  y = (y - a - h) | 0;
  y ^= h >>> 12;
  a = (a - h - y) | 0;
  a ^= y << 16;
  h = (h - y - a) | 0;
  h ^= a >>> 5;
  y = (y - a - h) | 0;
  y ^= h >>> 3;
  a = (a - h - y) | 0;
  a ^= y << 10;
  h = (h - y - a) | 0;
  h ^= a >>> 15;
  return h >>> 0;
}

export function hash2(a: number, b: number): number {
  let h = SEED ^ a ^ b;
  let x = X0;
  let y = Y0;
  // mix(a, b, h)
  a = (a - b - h) | 0;
  a ^= h >>> 13;
  b = (b - h - a) | 0;
  b ^= a << 8;
  h = (h - a - b) | 0;
  h ^= b >>> 13;
  a = (a - b - h) | 0;
  a ^= h >>> 12;
  b = (b - h - a) | 0;
  b ^= a << 16;
  h = (h - a - b) | 0;
  h ^= b >>> 5;
  a = (a - b - h) | 0;
  a ^= h >>> 3;
  b = (b - h - a) | 0;
  b ^= a << 10;
  h = (h - a - b) | 0;
  h ^= b >>> 15;
  // mix(x, a, h)
  x = (x - a - h) | 0;
  x ^= h >>> 13;
  a = (a - h - x) | 0;
  a ^= x << 8;
  h = (h - x - a) | 0;
  h ^= a >>> 13;
  x = (x - a - h) | 0;
  x ^= h >>> 12;
  a = (a - h - x) | 0;
  a ^= x << 16;
  h = (h - x - a) | 0;
  h ^= a >>> 5;
  x = (x - a - h) | 0;
  x ^= h >>> 3;
  a = (a - h - x) | 0;
  a ^= x << 10;
  h = (h - x - a) | 0;
  h ^= a >>> 15;
  // mix(b, y, h)
  b = (b - y - h) | 0;
  b ^= h >>> 13;
  y = (y - h - b) | 0;
  y ^= b << 8;
  h = (h - b - y) | 0;
  h ^= y >>> 13;
  b = (b - y - h) | 0;
  b ^= h >>> 12;
  y = (y - h - b) | 0;
  y ^= b << 16;
  h = (h - b - y) | 0;
  h ^= y >>> 5;
  b = (b - y - h) | 0;
  b ^= h >>> 3;
  y = (y - h - b) | 0;
  y ^= b << 10;
  h = (h - b - y) | 0;
  h ^= y >>> 15;
  return h >>> 0;
}

export function hash3(a: number, b: number, c: number): number {
  let h = SEED ^ a ^ b ^ c;
  let x = X0;
  let y = Y0;
  // mix(a, b, h)
  a = (a - b - h) | 0;
  a ^= h >>> 13;
  b = (b - h - a) | 0;
  b ^= a << 8;
  h = (h - a - b) | 0;
  h ^= b >>> 13;
  a = (a - b - h) | 0;
  a ^= h >>> 12;
  b = (b - h - a) | 0;
  b ^= a << 16;
  h = (h - a - b) | 0;
  h ^= b >>> 5;
  a = (a - b - h) | 0;
  a ^= h >>> 3;
  b = (b - h - a) | 0;
  b ^= a << 10;
  h = (h - a - b) | 0;
  h ^= b >>> 15;
  // mix(c, x, h)
  c = (c - x - h) | 0;
  c ^= h >>> 13;
  x = (x - h - c) | 0;
  x ^= c << 8;
  h = (h - c - x) | 0;
  h ^= x >>> 13;
  c = (c - x - h) | 0;
  c ^= h >>> 12;
  x = (x - h - c) | 0;
  x ^= c << 16;
  h = (h - c - x) | 0;
  h ^= x >>> 5;
  c = (c - x - h) | 0;
  c ^= h >>> 3;
  x = (x - h - c) | 0;
  x ^= c << 10;
  h = (h - c - x) | 0;
  h ^= x >>> 15;
  // mix(y, a, h)
  y = (y - a - h) | 0;
  y ^= h >>> 13;
  a = (a - h - y) | 0;
  a ^= y << 8;
  h = (h - y - a) | 0;
  h ^= a >>> 13;
  y = (y - a - h) | 0;
  y ^= h >>> 12;
  a = (a - h - y) | 0;
  a ^= y << 16;
  h = (h - y - a) | 0;
  h ^= a >>> 5;
  y = (y - a - h) | 0;
  y ^= h >>> 3;
  a = (a - h - y) | 0;
  a ^= y << 10;
  h = (h - y - a) | 0;
  h ^= a >>> 15;
  // mix(b, x, h)
  b = (b - x - h) | 0;
  b ^= h >>> 13;
  x = (x - h - b) | 0;
  x ^= b << 8;
  h = (h - b - x) | 0;
  h ^= x >>> 13;
  b = (b - x - h) | 0;
  b ^= h >>> 12;
  x = (x - h - b) | 0;
  x ^= b << 16;
  h = (h - b - x) | 0;
  h ^= x >>> 5;
  b = (b - x - h) | 0;
  b ^= h >>> 3;
  x = (x - h - b) | 0;
  x ^= b << 10;
  h = (h - b - x) | 0;
  h ^= x >>> 15;
  // mix(y, c, h)
  y = (y - c - h) | 0;
  y ^= h >>> 13;
  c = (c - h - y) | 0;
  c ^= y << 8;
  h = (h - y - c) | 0;
  h ^= c >>> 13;
  y = (y - c - h) | 0;
  y ^= h >>> 12;
  c = (c - h - y) | 0;
  c ^= y << 16;
  h = (h - y - c) | 0;
  h ^= c >>> 5;
  y = (y - c - h) | 0;
  y ^= h >>> 3;
  c = (c - h - y) | 0;
  c ^= y << 10;
  h = (h - y - c) | 0;
  h ^= c >>> 15;
  return h >>> 0;
}

export function hash4(a: number, b: number, c: number, d: number): number {
  let h = SEED ^ a ^ b ^ c ^ d;
  let x = X0;
  let y = Y0;
  // mix(a, b, h)
  a = (a - b - h) | 0;
  a ^= h >>> 13;
  b = (b - h - a) | 0;
  b ^= a << 8;
  h = (h - a - b) | 0;
  h ^= b >>> 13;
  a = (a - b - h) | 0;
  a ^= h >>> 12;
  b = (b - h - a) | 0;
  b ^= a << 16;
  h = (h - a - b) | 0;
  h ^= b >>> 5;
  a = (a - b - h) | 0;
  a ^= h >>> 3;
  b = (b - h - a) | 0;
  b ^= a << 10;
  h = (h - a - b) | 0;
  h ^= b >>> 15;
  // mix(c, d, h)
  c = (c - d - h) | 0;
  c ^= h >>> 13;
  d = (d - h - c) | 0;
  d ^= c << 8;
  h = (h - c - d) | 0;
  h ^= d >>> 13;
  c = (c - d - h) | 0;
  c ^= h >>> 12;
  d = (d - h - c) | 0;
  d ^= c << 16;
  h = (h - c - d) | 0;
  h ^= d >>> 5;
  c = (c - d - h) | 0;
  c ^= h >>> 3;
  d = (d - h - c) | 0;
  d ^= c << 10;
  h = (h - c - d) | 0;
  h ^= d >>> 15;
  // mix(a, x, h)
  a = (a - x - h) | 0;
  a ^= h >>> 13;
  x = (x - h - a) | 0;
  x ^= a << 8;
  h = (h - a - x) | 0;
  h ^= x >>> 13;
  a = (a - x - h) | 0;
  a ^= h >>> 12;
  x = (x - h - a) | 0;
  x ^= a << 16;
  h = (h - a - x) | 0;
  h ^= x >>> 5;
  a = (a - x - h) | 0;
  a ^= h >>> 3;
  x = (x - h - a) | 0;
  x ^= a << 10;
  h = (h - a - x) | 0;
  h ^= x >>> 15;
  // mix(y, b, h)
  y = (y - b - h) | 0;
  y ^= h >>> 13;
  b = (b - h - y) | 0;
  b ^= y << 8;
  h = (h - y - b) | 0;
  h ^= b >>> 13;
  y = (y - b - h) | 0;
  y ^= h >>> 12;
  b = (b - h - y) | 0;
  b ^= y << 16;
  h = (h - y - b) | 0;
  h ^= b >>> 5;
  y = (y - b - h) | 0;
  y ^= h >>> 3;
  b = (b - h - y) | 0;
  b ^= y << 10;
  h = (h - y - b) | 0;
  h ^= b >>> 15;
  // mix(c, x, h)
  c = (c - x - h) | 0;
  c ^= h >>> 13;
  x = (x - h - c) | 0;
  x ^= c << 8;
  h = (h - c - x) | 0;
  h ^= x >>> 13;
  c = (c - x - h) | 0;
  c ^= h >>> 12;
  x = (x - h - c) | 0;
  x ^= c << 16;
  h = (h - c - x) | 0;
  h ^= x >>> 5;
  c = (c - x - h) | 0;
  c ^= h >>> 3;
  x = (x - h - c) | 0;
  x ^= c << 10;
  h = (h - c - x) | 0;
  h ^= x >>> 15;
  // mix(y, d, h)
  y = (y - d - h) | 0;
  y ^= h >>> 13;
  d = (d - h - y) | 0;
  d ^= y << 8;
  h = (h - y - d) | 0;
  h ^= d >>> 13;
  y = (y - d - h) | 0;
  y ^= h >>> 12;
  d = (d - h - y) | 0;
  d ^= y << 16;
  h = (h - y - d) | 0;
  h ^= d >>> 5;
  y = (y - d - h) | 0;
  y ^= h >>> 3;
  d = (d - h - y) | 0;
  d ^= y << 10;
  h = (h - y - d) | 0;
  h ^= d >>> 15;
  return h >>> 0;
}

export function hash5(a: number, b: number, c: number, d: number, e: number): number {
  let h = SEED ^ a ^ b ^ c ^ d ^ e;
  let x = X0;
  let y = Y0;
  // mix(a, b, h)
  a = (a - b - h) | 0;
  a ^= h >>> 13;
  b = (b - h - a) | 0;
  b ^= a << 8;
  h = (h - a - b) | 0;
  h ^= b >>> 13;
  a = (a - b - h) | 0;
  a ^= h >>> 12;
  b = (b - h - a) | 0;
  b ^= a << 16;
  h = (h - a - b) | 0;
  h ^= b >>> 5;
  a = (a - b - h) | 0;
  a ^= h >>> 3;
  b = (b - h - a) | 0;
  b ^= a << 10;
  h = (h - a - b) | 0;
  h ^= b >>> 15;
  // mix(c, d, h)
  c = (c - d - h) | 0;
  c ^= h >>> 13;
  d = (d - h - c) | 0;
  d ^= c << 8;
  h = (h - c - d) | 0;
  h ^= d >>> 13;
  c = (c - d - h) | 0;
  c ^= h >>> 12;
  d = (d - h - c) | 0;
  d ^= c << 16;
  h = (h - c - d) | 0;
  h ^= d >>> 5;
  c = (c - d - h) | 0;
  c ^= h >>> 3;
  d = (d - h - c) | 0;
  d ^= c << 10;
  h = (h - c - d) | 0;
  h ^= d >>> 15;
  // mix(e, x, h)
  e = (e - x - h) | 0;
  e ^= h >>> 13;
  x = (x - h - e) | 0;
  x ^= e << 8;
  h = (h - e - x) | 0;
  h ^= x >>> 13;
  e = (e - x - h) | 0;
  e ^= h >>> 12;
  x = (x - h - e) | 0;
  x ^= e << 16;
  h = (h - e - x) | 0;
  h ^= x >>> 5;
  e = (e - x - h) | 0;
  e ^= h >>> 3;
  x = (x - h - e) | 0;
  x ^= e << 10;
  h = (h - e - x) | 0;
  h ^= x >>> 15;
  // mix(y, a, h)
  y = (y - a - h) | 0;
  y ^= h >>> 13;
  a = (a - h - y) | 0;
  a ^= y << 8;
  h = (h - y - a) | 0;
  h ^= a >>> 13;
  y = (y - a - h) | 0;
  y ^= h >>> 12;
  a = (a - h - y) | 0;
  a ^= y << 16;
  h = (h - y - a) | 0;
  h ^= a >>> 5;
  y = (y - a - h) | 0;
  y ^= h >>> 3;
  a = (a - h - y) | 0;
  a ^= y << 10;
  h = (h - y - a) | 0;
  h ^= a >>> 15;
  // mix(b, x, h)
  b = (b - x - h) | 0;
  b ^= h >>> 13;
  x = (x - h - b) | 0;
  x ^= b << 8;
  h = (h - b - x) | 0;
  h ^= x >>> 13;
  b = (b - x - h) | 0;
  b ^= h >>> 12;
  x = (x - h - b) | 0;
  x ^= b << 16;
  h = (h - b - x) | 0;
  h ^= x >>> 5;
  b = (b - x - h) | 0;
  b ^= h >>> 3;
  x = (x - h - b) | 0;
  x ^= b << 10;
  h = (h - b - x) | 0;
  h ^= x >>> 15;
  // mix(y, c, h)
  y = (y - c - h) | 0;
  y ^= h >>> 13;
  c = (c - h - y) | 0;
  c ^= y << 8;
  h = (h - y - c) | 0;
  h ^= c >>> 13;
  y = (y - c - h) | 0;
  y ^= h >>> 12;
  c = (c - h - y) | 0;
  c ^= y << 16;
  h = (h - y - c) | 0;
  h ^= c >>> 5;
  y = (y - c - h) | 0;
  y ^= h >>> 3;
  c = (c - h - y) | 0;
  c ^= y << 10;
  h = (h - y - c) | 0;
  h ^= c >>> 15;
  // mix(d, x, h)
  d = (d - x - h) | 0;
  d ^= h >>> 13;
  x = (x - h - d) | 0;
  x ^= d << 8;
  h = (h - d - x) | 0;
  h ^= x >>> 13;
  d = (d - x - h) | 0;
  d ^= h >>> 12;
  x = (x - h - d) | 0;
  x ^= d << 16;
  h = (h - d - x) | 0;
  h ^= x >>> 5;
  d = (d - x - h) | 0;
  d ^= h >>> 3;
  x = (x - h - d) | 0;
  x ^= d << 10;
  h = (h - d - x) | 0;
  h ^= x >>> 15;
  // mix(y, e, h)
  y = (y - e - h) | 0;
  y ^= h >>> 13;
  e = (e - h - y) | 0;
  e ^= y << 8;
  h = (h - y - e) | 0;
  h ^= e >>> 13;
  y = (y - e - h) | 0;
  y ^= h >>> 12;
  e = (e - h - y) | 0;
  e ^= y << 16;
  h = (h - y - e) | 0;
  h ^= e >>> 5;
  y = (y - e - h) | 0;
  y ^= h >>> 3;
  e = (e - h - y) | 0;
  e ^= y << 10;
  h = (h - y - e) | 0;
  h ^= e >>> 15;
  return h >>> 0;
}

// The plain mix, used by hashKey (not on the mapping hot path).
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

/**
 * Hash of a job key to a CRUSH input x: Bob Jenkins' lookup2 string hash (public domain), the
 * function Ceph uses to hash object names (`ceph_str_hash_rjenkins`), over the key's UTF-8
 * bytes. It reuses the rjenkins mix above.
 */
export function hashKey(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? utf8(key) : key;
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

// Keys are usually short ASCII (job ids): copy them into one reused buffer instead of allocating a
// Buffer per job; anything else goes through Buffer.from.
const scratch = new Uint8Array(256);

function utf8(key: string): Uint8Array {
  if (key.length > scratch.length) return Buffer.from(key, "utf8");
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return Buffer.from(key, "utf8");
    scratch[i] = code;
  }
  return scratch.subarray(0, key.length);
}

function word(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}
