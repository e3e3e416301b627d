// Latency histogram with log-linear buckets: 16 linear sub-buckets per power of two of
// microseconds, so any quantile is within ~6% of the truth, in 2.9 KB per job type whatever the
// number of samples (HdrHistogram's idea, without its precision knobs).

const SUB_BUCKET_BITS = 4;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
/** Exponents up to 2^44 us (about 200 days); anything longer lands in the last bucket. */
const EXPONENT_MAX = 44;
const BUCKETS = SUB_BUCKETS + (EXPONENT_MAX - SUB_BUCKET_BITS + 1) * SUB_BUCKETS;

/**
 * The edges (ms) at which stats() reports cumulative counts: a Prometheus histogram's buckets
 * (`le`), from 1 ms to 5 minutes.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000,
];

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;

  get count(): number {
    return this.total;
  }

  /** The sum of every recorded latency, ms (a Prometheus histogram's `_sum`). */
  get sumMs(): number {
    return this.sum;
  }

  record(latencyMs: number): void {
    const micros = Math.max(0, Math.round(latencyMs * 1000));
    this.counts[bucketOf(micros)]++;
    this.total++;
    this.sum += latencyMs;
  }

  /**
   * Cumulative counts at each edge (ms, ascending): the samples in buckets whose upper edge is at
   * or below it, so a count may leave out samples up to ~6% below an edge.
   */
  cumulativeAtMs(edgesMs: readonly number[]): number[] {
    const out: number[] = [];
    let bucket = 0;
    let seen = 0;
    for (const edgeMs of edgesMs) {
      const edgeMicros = edgeMs * 1000;
      while (bucket < BUCKETS && upperEdgeMicros(bucket) <= edgeMicros) seen += this.counts[bucket++];
      out.push(seen);
    }
    return out;
  }

  /** The upper edge of the bucket holding the `fraction` quantile, ms; 0 when empty. */
  quantileMs(fraction: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) return upperEdgeMicros(bucket) / 1000;
    }
    return upperEdgeMicros(BUCKETS - 1) / 1000;
  }
}

/** Values below 16 us get a bucket each; above, the exponent picks a group and 4 bits a sub-bucket. */
export function bucketOf(micros: number): number {
  if (micros < SUB_BUCKETS) return micros;
  let exponent = Math.floor(Math.log2(micros));
  if (2 ** exponent > micros) exponent--; // log2 rounding just below a power of two
  exponent = Math.min(EXPONENT_MAX, exponent);
  const sub = Math.min(SUB_BUCKETS - 1, Math.floor(micros / 2 ** (exponent - SUB_BUCKET_BITS)) - SUB_BUCKETS);
  return SUB_BUCKETS + (exponent - SUB_BUCKET_BITS) * SUB_BUCKETS + sub;
}

/** The smallest value above every value of the bucket, us. */
export function upperEdgeMicros(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket + 1;
  const exponent = Math.floor((bucket - SUB_BUCKETS) / SUB_BUCKETS) + SUB_BUCKET_BITS;
  const sub = (bucket - SUB_BUCKETS) % SUB_BUCKETS;
  return (SUB_BUCKETS + sub + 1) * 2 ** (exponent - SUB_BUCKET_BITS);
}
