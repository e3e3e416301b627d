// crush_ln: CRUSH's fixed-point 2^44·log2(u+1) for u in 0..0xffff (crush.md §3), and the
// table straw2 draws from. The two lookup tables are data extracted from Ceph 16.2.15 (see the
// provenance note inside data/crush_ln_tables.json); T2 cannot be regenerated from a formula.
// BigInt is used only here, once, at module load; the mapper reads a Float64Array.
import tables from "./data/crush_ln_tables.json" with { type: "json" };

const RH_LH: readonly bigint[] = tables.RH_LH.values.map((value: number) => BigInt(value));
const LL: readonly bigint[] = tables.LL.values.map((value: number) => BigInt(value));

/** Exact crush_ln(u) for u in 0..0xffff, as a BigInt (values are < 2^48). */
export function crushLnExact(u: number): bigint {
  let v = (u + 1) >>> 0;
  let exponent = 15;
  // Normalise so that bit 15 or bit 16 is set.
  while ((v & 0x18000) === 0) {
    v <<= 1;
    exponent--;
  }
  const index = ((v >>> 8) << 1) - 256;
  const rh = RH_LH[index];
  const lh = RH_LH[index + 1];
  const t = (BigInt(v) * rh) >> 48n;
  const ll = LL[Number(t & 0xffn)];
  return (BigInt(exponent) << 44n) + ((lh + ll) >> 4n);
}

/** crush_ln(u) for u in 0..0xffff (exact: every value is below 2^53). */
export function crushLn(u: number): number {
  return Number(crushLnExact(u & 0xffff));
}

/**
 * STRAW2_LN[u] = crush_ln(u) - 2^48: the (always negative) numerator of a straw2 draw.
 * Math.trunc(STRAW2_LN[u] / w) equals C's truncating s64 division for every u32 w >= 1,
 * since |numerator| < 2^49 keeps the double's rounding error below the gap to any integer.
 */
export const STRAW2_LN: Float64Array = (() => {
  const table = new Float64Array(0x10000);
  const two48 = 2 ** 48;
  for (let u = 0; u < 0x10000; u++) table[u] = crushLn(u) - two48;
  return table;
})();
