// Per-type counters and a latency histogram (log-linear buckets: fixed memory, ~3% resolution),
// so p50/p99 never need the samples themselves.

const SUB_BUCKETS = 32;
const BUCKETS = 40 * SUB_BUCKETS;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;

  record(ms: number): void {
    this.counts[bucketOf(Math.max(0, ms))]++;
    this.count++;
  }

  /** The value below which `fraction` of the samples fall (upper edge of its bucket), ms. */
  quantile(fraction: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(fraction * this.count);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) return upperEdge(bucket);
    }
    return upperEdge(BUCKETS - 1);
  }
}

/** Bucket of a value in ms: below 1 ms linear in 1/32 ms, above that 32 sub-buckets per power of 2. */
function bucketOf(ms: number): number {
  if (ms < 1) return Math.floor(ms * SUB_BUCKETS);
  const exponent = Math.floor(Math.log2(ms));
  const mantissa = ms / 2 ** exponent - 1;
  return Math.min(BUCKETS - 1, (exponent + 1) * SUB_BUCKETS + Math.floor(mantissa * SUB_BUCKETS));
}

function upperEdge(bucket: number): number {
  if (bucket < SUB_BUCKETS) return (bucket + 1) / SUB_BUCKETS;
  const exponent = Math.floor(bucket / SUB_BUCKETS) - 1;
  const sub = bucket % SUB_BUCKETS;
  return 2 ** exponent * (1 + (sub + 1) / SUB_BUCKETS);
}

export class TypeStats {
  received = 0;
  done = 0;
  failed = 0;
  errors = 0;
  retries = 0;
  reroutes = 0;
  timeouts = 0;
  readonly latency = new LatencyHistogram();

  recordDone(latencyMs: number): void {
    this.done++;
    this.latency.record(latencyMs);
  }

  snapshot(): Record<string, number> {
    return {
      received: this.received,
      inFlight: this.received - this.done - this.failed - this.timeouts,
      done: this.done,
      failed: this.failed,
      errors: this.errors,
      retries: this.retries,
      reroutes: this.reroutes,
      timeouts: this.timeouts,
      latencyP50Ms: Number(this.latency.quantile(0.5).toFixed(3)),
      latencyP99Ms: Number(this.latency.quantile(0.99).toFixed(3)),
    };
  }
}
