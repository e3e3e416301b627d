// validateTrackerConfig fills defaults and rejects bad values and combinations in sentences; the
// latency histogram stays within its resolution.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  defaultTrackerConfig,
  LATENCY_BUCKETS_MS,
  LatencyHistogram,
  Tracker,
  validateTrackerConfig,
} from "../../src/tracker/index.ts";

describe("validateTrackerConfig", () => {
  it("fills defaults", () => {
    expect(validateTrackerConfig()).toEqual(defaultTrackerConfig);
    expect(validateTrackerConfig({ attemptsMax: 7 }).attemptsMax).toBe(7);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["negative timeout", { ackTimeoutMs: -1 }, /ackTimeoutMs must be a positive integer/],
    ["fractional count", { attemptsMax: 1.5 }, /attemptsMax must be a positive integer/],
    ["jitter above 1", { jitter: 1.5 }, /jitter .* within 0..1/],
    [
      "backoff max below base",
      { backoffBaseMs: 500, backoffMaxMs: 100 },
      /backoffMaxMs \(100\) is below backoffBaseMs/,
    ],
    ["wheel slots not a power of two", { wheelSlots: 1000 }, /power of two/],
    ["ack timeout under two ticks", { ackTimeoutMs: 15, wheelTickMs: 10 }, /two wheel ticks/],
    [
      "stall longer than run",
      { stallTimeoutMs: 10_000, runTimeoutMs: 5_000 },
      /could never be told from a slow one/,
    ],
    ["stall longer than a type's run", { runTimeoutMsByType: { quick: 1_000 } }, /runTimeoutMsByType.quick/],
    ["attempts over a byte", { attemptsMax: 300 }, /at most 255/],
    ["poison beyond candidates", { poisonCrashThreshold: 31, attemptsMax: 40 }, /exceeds 30/],
  ];
  for (const [what, partial, message] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => validateTrackerConfig(partial as never)).toThrow(message);
      expect(() => new Tracker(partial as never, () => 0)).toThrow(message);
    });
  }
});

describe("LatencyHistogram", () => {
  it("puts each quantile within ~6.25% above the exact one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.02, max: 1e7, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (samples) => {
          const histogram = new LatencyHistogram();
          for (const sample of samples) histogram.record(sample);
          const sorted = [...samples].sort((a, b) => a - b);
          for (const fraction of [0.5, 0.99]) {
            const exact = sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)];
            const estimate = histogram.quantileMs(fraction);
            expect(estimate).toBeGreaterThanOrEqual(exact - 0.0005);
            expect(estimate).toBeLessThanOrEqual(exact * 1.0625 + 0.002);
          }
        },
      ),
    );
  });

  it("gives cumulative counts at the Prometheus edges: never above the exact count, at most ~6.25% early, and a sum", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.02, max: 4e5, noNaN: true }), { minLength: 0, maxLength: 300 }),
        (samples) => {
          const histogram = new LatencyHistogram();
          for (const sample of samples) histogram.record(sample);
          const counts = histogram.cumulativeAtMs(LATENCY_BUCKETS_MS);
          LATENCY_BUCKETS_MS.forEach((edge, i) => {
            const micros = (ms: number) => Math.round(ms * 1000);
            // Exactly what sits at or below the edge, and what sits below the edge less 6.25%.
            const atOrBelow = samples.filter((sample) => micros(sample) < edge * 1000).length;
            const wellBelow = samples.filter((sample) => micros(sample) < (edge * 1000) / 1.0625 - 1).length;
            expect(counts[i]).toBeLessThanOrEqual(atOrBelow);
            expect(counts[i]).toBeGreaterThanOrEqual(wellBelow);
            if (i > 0) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]);
          });
          expect(histogram.count).toBe(samples.length);
          expect(histogram.sumMs).toBeCloseTo(
            samples.reduce((sum, sample) => sum + sample, 0),
            3,
          );
        },
      ),
    );
  });
});
