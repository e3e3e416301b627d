// Hostile MessagePack values built byte by byte (msgpackr refuses to pack some of them): maps with
// tens of thousands of keys, arrays of empty containers, lying length headers. Each fills up to a
// byte budget, so the tests can say "no message under messageBytesMax costs more than ...".

const MAP32 = 0xdf;
const ARRAY32 = 0xdd;

function header(type: number, count: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes[0] = type;
  bytes.writeUInt32BE(count, 1);
  return bytes;
}

/** A MessagePack string. */
export function str(text: string): Buffer {
  const bytes = Buffer.from(text);
  if (bytes.length < 32) return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
  if (bytes.length < 256) return Buffer.concat([Buffer.from([0xd9, bytes.length]), bytes]);
  const head = Buffer.alloc(3);
  head[0] = 0xda;
  head.writeUInt16BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

function float(value: number): Buffer {
  const bytes = Buffer.alloc(9);
  bytes[0] = 0xcb;
  bytes.writeDoubleBE(value, 1);
  return bytes;
}

function negativeInt(value: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes[0] = 0xd2;
  bytes.writeInt32BE(value, 1);
  return bytes;
}

/** A container of as many `unit(i)` items as fit in `bytesMax`, `lead` first (e.g. a valid `c`). */
function fill(type: number, unit: (index: number) => Buffer, bytesMax: number, lead: Buffer[] = []): Buffer {
  const parts: Buffer[] = [...lead];
  let size = 5 + lead.reduce((sum, part) => sum + part.length, 0);
  let count = type === MAP32 ? lead.length / 2 : lead.length;
  for (let index = 0; ; index++) {
    const part = unit(index);
    if (size + part.length > bytesMax) break;
    parts.push(part);
    size += part.length;
    count++;
  }
  return Buffer.concat([header(type, count), ...parts]);
}

const ZERO = Buffer.from([0]);
const EMPTY_MAP = Buffer.from([0x80]);
const CORRELATION = [str("c"), Buffer.from([1])];

/** Values that cost a decoder (msgpackr) tens of ms at 1 MiB, each at most `bytesMax` bytes. */
export function hostileValues(bytesMax: number): Array<[string, Buffer]> {
  return [
    [
      "map of 'k<i>': 0 (with a valid c)",
      fill(MAP32, (i) => Buffer.concat([str(`k${i}`), ZERO]), bytesMax, CORRELATION),
    ],
    ["map of float keys", fill(MAP32, (i) => Buffer.concat([float(i + 0.5), ZERO]), bytesMax)],
    ["map of negative int keys", fill(MAP32, (i) => Buffer.concat([negativeInt(-i - 1), ZERO]), bytesMax)],
    ["map of 'k<i>': {}", fill(MAP32, (i) => Buffer.concat([str(`k${i}`), EMPTY_MAP]), bytesMax)],
    ["array of {}", fill(ARRAY32, () => EMPTY_MAP, bytesMax)],
    ["array of [{}]", fill(ARRAY32, () => Buffer.from([0x91, 0x80]), bytesMax)],
    ["array of {a: 0}", fill(ARRAY32, () => Buffer.from([0x81, 0xa1, 0x61, 0]), bytesMax)],
    [
      "[array of {}] (one batch entry)",
      Buffer.concat([Buffer.from([0x91]), fill(ARRAY32, () => EMPTY_MAP, bytesMax - 1)]),
    ],
    ["arrays nested 200,000 deep", Buffer.alloc(Math.min(bytesMax, 200_000), 0x91)],
    ["map32 announcing 2^32-1 entries", Buffer.concat([header(MAP32, 0xffffffff), str("c"), ZERO])],
  ];
}
