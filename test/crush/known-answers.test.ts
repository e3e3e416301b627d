// Known answers for the primitives every placement rests on: rjenkins1, Ceph's object-name hash,
// crush_ln and its tables, and straw2's truncating division.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import tables from "../../src/crush/data/crush_ln_tables.json" with { type: "json" };
import {
  addBucket,
  crushLn,
  emptyMap,
  hash1,
  hash2,
  hash3,
  hash4,
  hash5,
  hashKey,
  Mapper,
  makeBucket,
  makeRule,
  RuleOp,
} from "../../src/crush/index.ts";
import { STRAW2_LN } from "../../src/crush/ln.ts";

const TWO_48 = 2 ** 48;
/** crush_ln(u) for every u, computed once. */
const LN = Array.from({ length: 0x10000 }, (_, u) => crushLn(u));

function sha256LeInt64(values: Iterable<bigint>): string {
  const list = [...values];
  const buffer = Buffer.alloc(8 * list.length);
  for (const [index, value] of list.entries()) buffer.writeBigInt64LE(value, 8 * index);
  return createHash("sha256").update(buffer).digest("hex");
}

describe("rjenkins1", () => {
  it("matches the known answers", () => {
    expect(hash2(0, 0)).toBe(430787817);
    expect(hash3(0, 0, 0)).toBe(2050749362);
    expect(hash3(1, 2, 3)).toBe(1935332395);
    expect(hash4(1, 2, 3, 4)).toBe(1768759062);
  });

  it("returns u32 values", () => {
    for (let i = 0; i < 1000; i++) {
      for (const h of [hash1(i), hash2(i, -i), hash3(i, -1, i), hash4(-i, i, 7, -3), hash5(i, 1, 2, 3, -4)]) {
        expect(Number.isInteger(h)).toBe(true);
        expect(h).toBeGreaterThanOrEqual(0);
        expect(h).toBeLessThanOrEqual(0xffffffff);
      }
    }
  });

  it("hashes negative ids as their two's complement", () => {
    for (const x of [0, 1, 2, 12345, 0x7fffffff, 0xffffffff]) {
      expect(hash2(x, -1)).toBe(hash2(x, 0xffffffff));
      expect(hash2(-1, x)).toBe(hash2(0xffffffff, x));
      expect(hash3(x, -7, 3)).toBe(hash3(x, 0xfffffff9, 3));
      expect(hash4(x, 5, 2, -3)).toBe(hash4(x, 5, 2, 0xfffffffd));
      expect(hash1(-x)).toBe(hash1(-x >>> 0));
    }
  });
});

describe("hashKey (ceph_str_hash_rjenkins, Jenkins lookup2)", () => {
  it("hashes 'foo' to 0x7fc1f406 like `ceph osd map` does", () => {
    expect(hashKey("foo")).toBe(0x7fc1f406);
  });

  it("hashes a string as its UTF-8 bytes", () => {
    for (const key of [
      "",
      "a",
      "foo",
      "rbd_data.1234",
      "exactly12byt",
      "thirteen byte",
      "ünïcödé ✓ 🚀",
      "x".repeat(100),
    ]) {
      const h = hashKey(key);
      expect(hashKey(new TextEncoder().encode(key))).toBe(h);
      expect(hashKey(Buffer.from(key, "utf8"))).toBe(h);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThanOrEqual(0xffffffff);
    }
  });

  it("is sensitive to every byte, including the tail", () => {
    const seen = new Set<number>();
    for (let length = 0; length <= 25; length++) seen.add(hashKey("k".repeat(length)));
    expect(seen.size).toBe(26);
  });
});

describe("crush_ln", () => {
  it("has crush_ln(0) = 0, its maximum 2^48 - 43930352 at 65534, and drops at 65535", () => {
    expect(crushLn(0)).toBe(0);
    expect(crushLn(65534)).toBe(TWO_48 - 43930352);
    expect(crushLn(65535)).toBeLessThan(crushLn(65534));
    expect(LN.every((value) => Number.isSafeInteger(value) && value >= 0 && value < TWO_48)).toBe(true);
    expect(LN.indexOf(Math.max(...LN))).toBe(65534);
  });

  it("is monotonic below 65535", () => {
    const drops = LN.slice(0, 0xffff).filter((value, u) => u > 0 && value < LN[u - 1]);
    expect(drops).toEqual([]);
  });

  it("all 65536 values hash (SHA-256 of le u64) to the recorded digest", () => {
    expect(sha256LeInt64(LN.map(BigInt))).toBe(tables.crush_ln_all_65536_sha256_le_u64);
  });

  it("the RH_LH and LL tables hash to their recorded digests", () => {
    expect(tables.RH_LH.values.length).toBe(258);
    expect(tables.LL.values.length).toBe(256);
    for (const value of [...tables.RH_LH.values, ...tables.LL.values])
      expect(Number.isSafeInteger(value)).toBe(true);
    expect(sha256LeInt64(tables.RH_LH.values.map(BigInt))).toBe(tables.RH_LH.sha256_le_int64);
    expect(sha256LeInt64(tables.LL.values.map(BigInt))).toBe(tables.LL.sha256_le_int64);
  });

  it("RH_LH regenerates from its formula, except LH(128) = 0xffff00000000", () => {
    // floor(2^bits * log2(n / d)) for 1 <= n/d < 2, exactly: the binary digits of log2 by repeated
    // squaring in BigInt fixed point with far more precision than the digits asked for.
    const PRECISION = 192n;
    const ONE = 1n << PRECISION;
    const floorLog2Fraction = (n: bigint, d: bigint, bits: number): bigint => {
      let y = (n << PRECISION) / d;
      let result = 0n;
      for (let i = 0; i < bits; i++) {
        y = (y * y) >> PRECISION;
        result <<= 1n;
        if (y >= 2n * ONE) {
          y >>= 1n;
          result |= 1n;
        }
      }
      return result;
    };
    const values = tables.RH_LH.values.map(BigInt);
    for (let k = 0; k <= 128; k++) {
      const n = BigInt(128 + k);
      const two55 = 1n << 55n;
      const rh = (two55 + n - 1n) / n; // ceil(2^55 / (128 + k))
      expect(values[2 * k], `RH(${k})`).toBe(rh);
      const lh = k === 128 ? 0xffff00000000n : floorLog2Fraction(n, 128n, 48);
      expect(values[2 * k + 1], `LH(${k})`).toBe(lh);
    }
    // The formula would give 2^48 for k = 128; Ceph's table has 0xffff00000000.
    expect(values[257]).not.toBe(1n << 48n);
  });
});

describe("straw2 draw: truncating division", () => {
  it("STRAW2_LN values are crush_ln - 2^48, all negative", () => {
    expect(STRAW2_LN.length).toBe(0x10000);
    expect(STRAW2_LN.every((value) => value < 0)).toBe(true);
    expect(STRAW2_LN.every((value, u) => value === LN[u] - TWO_48)).toBe(true);
    expect(STRAW2_LN[0]).toBe(-TWO_48);
    // -2^48 / 3 is not an integer: truncation and floor differ, and BigInt division truncates.
    expect(Math.trunc(STRAW2_LN[0] / 3)).not.toBe(Math.floor(STRAW2_LN[0] / 3));
    expect(Math.trunc(STRAW2_LN[0] / 3)).toBe(Number(BigInt(STRAW2_LN[0]) / 3n));
  });

  it("Math.trunc of the double division equals s64 truncating division (sampled u and weights)", () => {
    const weights = [
      1, 2, 3, 7, 0x10000, 0x10001, 0x4ccc, 0x12345, 0xffff, 0x7fffffff, 0xfffffffe, 0xffffffff,
    ];
    const mismatches: string[] = [];
    for (let u = 0; u < 0x10000; u += 7) {
      for (const w of weights) {
        if (Math.trunc(STRAW2_LN[u] / w) !== Number(BigInt(STRAW2_LN[u]) / BigInt(w)))
          mismatches.push(`${u}/${w}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("the Mapper picks by truncated draws where floor would pick differently", () => {
    // Two devices in one straw2 bucket. Find x and weights where device 1's draw is exactly -m and
    // device 0's is strictly between -m-1 and -m: truncation ties them (the first item, 0, wins);
    // floor would make device 0's draw -m-1 and pick device 1.
    const MAX_WEIGHT = 0xffffffffn;
    let found: { x: number; w0: number; w1: number } | undefined;
    for (let x = 0; x < 5000 && found === undefined; x++) {
      const n0 = -BigInt(STRAW2_LN[hash3(x, 0, 0) & 0xffff]);
      const n1 = -BigInt(STRAW2_LN[hash3(x, 1, 0) & 0xffff]);
      const big = n0 > n1 ? n0 : n1;
      for (let m = big / MAX_WEIGHT + 1n; m < big / MAX_WEIGHT + 5000n; m++) {
        if (n1 % m !== 0n) continue;
        const w1 = n1 / m; // draw of device 1 = -m exactly
        // w0 with n0 / w0 in (m, m + 1): w0 in (n0 / (m + 1), n0 / m), not dividing exactly.
        const w0 = (2n * n0) / (2n * m + 1n);
        if (w0 < 1n || w0 > MAX_WEIGHT || w1 < 1n || w1 > MAX_WEIGHT) continue;
        if (n0 / w0 !== m || n0 % w0 === 0n) continue;
        found = { x, w0: Number(w0), w1: Number(w1) };
        break;
      }
    }
    expect(found).toBeDefined();
    const { x, w0, w1 } = found!;
    const d0 = -Number(-BigInt(STRAW2_LN[hash3(x, 0, 0) & 0xffff]) / BigInt(w0));
    const d1 = -Number(-BigInt(STRAW2_LN[hash3(x, 1, 0) & 0xffff]) / BigInt(w1));
    expect(d0).toBe(d1); // truncated draws tie
    expect(Math.floor(STRAW2_LN[hash3(x, 0, 0) & 0xffff] / w0)).toBeLessThan(
      Math.floor(STRAW2_LN[hash3(x, 1, 0) & 0xffff] / w1),
    ); // floored draws would not

    const map = emptyMap();
    map.typeNames.set(0, "osd").set(1, "root");
    addBucket(map, makeBucket({ id: -1, type: 1, alg: "straw2", items: [0, 1], weights: [w0, w1] }), "root");
    map.rules[0] = makeRule(0, [
      [RuleOp.take, -1, 0],
      [RuleOp.chooseFirstn, 1, 0],
      [RuleOp.emit, 0, 0],
    ]);
    expect(new Mapper(map).map(0, x, 1, [0x10000, 0x10000])).toEqual([0]);
  });
});
