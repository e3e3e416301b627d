// Latency of the jobs that ended between two status replies, from the tracker's histogram: control
// `stats` carries, per type, cumulative counts at fixed edges (LATENCY_BUCKETS_MS), the count and
// the sum since the orchestrator started. The difference of two replies is the histogram of the
// jobs that ended in between; its quantiles are interpolated linearly inside a bucket, as
// Prometheus' histogram_quantile does, so they are estimates within one bucket's width.
import { LATENCY_BUCKETS_MS } from "../tracker/index.ts";

/** What one status reply says of a type's latency since the orchestrator started. */
export interface LatencyTotals {
  count: number;
  sumMs: number;
  /** Cumulative counts at each edge of `edgesMs`. */
  cumulative: number[];
}

/** Reads a type's latency totals from its `stats` row; null when absent or malformed. */
export function latencyTotals(
  row: { latencyCount?: unknown; latencySumMs?: unknown; latencyBuckets?: unknown },
  edgesMs: readonly number[] = LATENCY_BUCKETS_MS,
): LatencyTotals | null {
  const { latencyCount: count, latencySumMs: sumMs, latencyBuckets: cumulative } = row;
  if (typeof count !== "number" || !Number.isFinite(count) || count < 0) return null;
  if (typeof sumMs !== "number" || !Number.isFinite(sumMs)) return null;
  if (!Array.isArray(cumulative) || cumulative.length !== edgesMs.length) return null;
  let previous = 0;
  for (const value of cumulative) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < previous || value > count)
      return null;
    previous = value;
  }
  return { count, sumMs, cumulative: cumulative as number[] };
}

/**
 * Jobs that ended over some interval, per bucket: `counts[i]` in (edges[i-1], edges[i]],
 * `counts[edges.length]` above the last edge.
 */
export class LatencyWindow {
  readonly counts: number[];
  count = 0;
  sumMs = 0;

  constructor(readonly edgesMs: readonly number[] = LATENCY_BUCKETS_MS) {
    this.counts = new Array(edgesMs.length + 1).fill(0);
  }

  /**
   * Adds what ended between two replies. A count that went down means the orchestrator started
   * again: `now` is then all there is since.
   */
  addDifference(now: LatencyTotals, before: LatencyTotals): void {
    const restarted = now.count < before.count;
    const base = restarted ? { count: 0, sumMs: 0, cumulative: now.cumulative.map(() => 0) } : before;
    const count = now.count - base.count;
    if (count <= 0) return;
    this.count += count;
    this.sumMs += Math.max(0, now.sumMs - base.sumMs);
    let below = 0;
    for (let i = 0; i < this.edgesMs.length; i++) {
      // max(): a reply's buckets are a little behind its count at most (never negative here).
      const cumulative = Math.max(below, Math.min(count, now.cumulative[i] - base.cumulative[i]));
      this.counts[i] += cumulative - below;
      below = cumulative;
    }
    this.counts[this.edgesMs.length] += count - below;
  }

  /** Mean latency, ms; null when no job ended. */
  meanMs(): number | null {
    return this.count === 0 ? null : this.sumMs / this.count;
  }

  /**
   * The `fraction` quantile, ms, interpolated linearly inside its bucket (from 0 for the first);
   * above the last edge, the last edge (a lower bound). Null when no job ended.
   */
  quantileMs(fraction: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.min(1, Math.max(0, fraction)) * this.count;
    let seen = 0;
    for (let i = 0; i < this.edgesMs.length; i++) {
      const inBucket = this.counts[i];
      if (inBucket > 0 && seen + inBucket >= rank) {
        const lower = i === 0 ? 0 : this.edgesMs[i - 1];
        return lower + ((this.edgesMs[i] - lower) * (rank - seen)) / inBucket;
      }
      seen += inBucket;
    }
    return this.edgesMs[this.edgesMs.length - 1];
  }
}
