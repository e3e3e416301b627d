// The simulation's only source of randomness: a seeded generator (mulberry32) and the
// distributions scenarios name. No Math.random: the same seed draws the same numbers.

import { seededRandom } from "../util/index.ts";

/** A seeded generator of numbers in [0, 1), and draws from the distributions scenarios use. */
export class Random {
  /** mulberry32 (src/util): small, fast, and good enough for arrival times and service times. */
  readonly next: () => number;

  constructor(private readonly seed: number) {
    this.next = seededRandom(seed);
  }

  /** A new generator whose stream depends only on this one's seed and `label` (one per concern). */
  fork(label: string): Random {
    let hash = (this.seed >>> 0) ^ 0x811c9dc5;
    for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    return new Random(hash >>> 0);
  }

  /** Exponential with the given mean (gaps between Poisson arrivals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** A service-time (or size) distribution as a scenario writes it. */
export type Distribution =
  | { distribution: "constant"; ms: number }
  | { distribution: "uniform"; minMs: number; maxMs: number }
  | { distribution: "exponential"; meanMs: number }
  | { distribution: "lognormal"; medianMs: number; sigma: number };

/** One draw from `d`, in ms (never negative). */
export function draw(random: Random, d: Distribution): number {
  switch (d.distribution) {
    case "constant":
      return d.ms;
    case "uniform":
      return d.minMs + random.next() * (d.maxMs - d.minMs);
    case "exponential":
      return random.exponential(d.meanMs);
    case "lognormal":
      return d.medianMs * Math.exp(d.sigma * random.normal());
  }
}

/** Keys 0..count-1 drawn uniformly or by Zipf's law (rank k with weight 1/k^exponent). */
export class KeyPicker {
  private readonly cdf: Float64Array | null;

  constructor(
    private readonly count: number,
    exponent: number | null,
  ) {
    if (exponent === null) {
      this.cdf = null;
      return;
    }
    this.cdf = new Float64Array(count);
    let sum = 0;
    for (let k = 0; k < count; k++) {
      sum += 1 / (k + 1) ** exponent;
      this.cdf[k] = sum;
    }
    for (let k = 0; k < count; k++) this.cdf[k] /= sum;
  }

  pick(random: Random): number {
    const u = random.next();
    if (this.cdf === null) return Math.floor(u * this.count);
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.cdf[mid] < u) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
