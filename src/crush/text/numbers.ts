// Numbers as crushtool reads them. It converts text with strtol() into a C `int`, so values
// beyond 32 bits wrap (99999999999 -> 1215752191) and values beyond 64 bits saturate first.

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** strtol() then a cast to int: the value crushtool stores for an integer token. */
export function textToInt32(text: string): number {
  let value = BigInt(text);
  if (value > INT64_MAX) value = INT64_MAX;
  if (value < INT64_MIN) value = INT64_MIN;
  return Number(BigInt.asIntN(32, value));
}

/** The value as written, when it must be bounded before it wraps (ids, sizes). */
export function textToExactInteger(text: string): bigint {
  return BigInt(text);
}

/**
 * A weight token as 16.16: strtof() rounds to float32, times (float)0x10000, converted to u32.
 * The conversion keeps the low 32 bits, which is what x86-64 does for negative and huge values
 * (crushtool turns `weight -1` into 0xffff0000). NaN and infinity cannot be written.
 */
export function textToWeight(text: string): number {
  const scaled = Math.trunc(Math.fround(Number.parseFloat(text)) * 0x10000);
  // Beyond 2^63 the x86 conversion yields the "integer indefinite" value, whose low half is 0.
  if (!Number.isFinite(scaled) || Math.abs(scaled) >= 2 ** 63) return 0;
  return Number(BigInt.asUintN(32, BigInt(scaled)));
}

/**
 * printf("%.3f", (float)value / (float)0x10000) for a 16.16 weight read as a signed int, as
 * crushtool's decompiler prints weights. Exact, with C's round-half-to-even on the binary value
 * (Number.prototype.toFixed rounds half up, which differs on exact ties such as 0.0005).
 */
export function formatFixedPoint(weight: number): string {
  const asFloat = Math.fround(weight | 0);
  // float(int)/65536 is exact (a power-of-two scaling of a float), so work in integers:
  // thousandths = asFloat * 1000 / 65536, rounded half to even.
  const numerator = BigInt(asFloat) * 1000n;
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  let quotient = magnitude / 65536n;
  const remainder = magnitude % 65536n;
  if (remainder > 32768n || (remainder === 32768n && quotient % 2n === 1n)) quotient += 1n;
  const whole = quotient / 1000n;
  const fraction = (quotient % 1000n).toString().padStart(3, "0");
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}
