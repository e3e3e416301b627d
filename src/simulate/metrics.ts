// What a run measured, gathered as it goes: per job type and per interval of virtual time, per
// satellite and per failure domain. Latency is the client's: from the request leaving it to the
// reply reaching it.

/** Latency percentiles and mean, ms. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface TypeTotals {
  submitted: number;
  completed: number;
  failed: number;
  /** Failed jobs by error code. */
  failedBy: Record<string, number>;
  /** Jobs never answered by the end of the run (after the drain time). */
  lost: number;
  retries: number;
  reroutes: number;
  timeouts: number;
  /** Attempts lost with their satellite (the job itself is retried). */
  attemptsLost: number;
  /** Keyed jobs served by another satellite than the last job with the same key. */
  keyMoves: number;
  /** Completed jobs per second of the arrival window. */
  throughputPerS: number;
  latencyMs: Percentiles;
}

export interface IntervalType {
  submitted: number;
  completed: number;
  failed: number;
  retries: number;
  reroutes: number;
  timeouts: number;
  keyMoves: number;
  throughputPerS: number;
  latencyMs: Percentiles;
}

export interface Interval {
  startMs: number;
  /** Sampled at the interval's end: jobs the orchestrator holds, queued on satellites, waiting for a slot. */
  inFlight: number;
  queued: number;
  waiting: number;
  types: Record<string, IntervalType>;
}

interface Counts {
  submitted: number;
  completed: number;
  failed: number;
  retries: number;
  reroutes: number;
  timeouts: number;
  attemptsLost: number;
  keyMoves: number;
  latencies: number[];
}

const newCounts = (): Counts => ({
  submitted: 0,
  completed: 0,
  failed: 0,
  retries: 0,
  reroutes: 0,
  timeouts: 0,
  attemptsLost: 0,
  keyMoves: 0,
  latencies: [],
});

/** Tracker events counted, by the topic's first two parts. */
const COUNTED: Record<string, keyof Counts> = {
  "job.retry": "retries",
  "job.rerouted": "reroutes",
  "job.timeout": "timeouts",
  "job.lost": "attemptsLost",
};

export class Metrics {
  private readonly totals = new Map<string, Counts>();
  private readonly failedBy = new Map<string, Record<string, number>>();
  private readonly intervals: Array<Map<string, Counts>> = [];
  private readonly samples: Array<{ inFlight: number; queued: number; waiting: number }> = [];
  readonly events = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly types: readonly string[],
  ) {
    for (const type of types) {
      this.totals.set(type, newCounts());
      this.failedBy.set(type, {});
    }
  }

  private counts(type: string, atMs: number): [Counts, Counts] | null {
    const total = this.totals.get(type);
    if (total === undefined) return null;
    const index = Math.floor(atMs / this.intervalMs);
    while (this.intervals.length <= index) this.intervals.push(new Map());
    const interval = this.intervals[index];
    let counts = interval.get(type);
    if (counts === undefined) {
      counts = newCounts();
      interval.set(type, counts);
    }
    return [total, counts];
  }

  submitted(type: string, atMs: number): void {
    const both = this.counts(type, atMs);
    if (both === null) return;
    for (const counts of both) counts.submitted++;
  }

  answered(type: string, atMs: number, latencyMs: number, status: string): void {
    const both = this.counts(type, atMs);
    if (both === null) return;
    for (const counts of both) {
      if (status === "ok") {
        counts.completed++;
        counts.latencies.push(latencyMs);
      } else counts.failed++;
    }
    if (status !== "ok") {
      const by = this.failedBy.get(type) as Record<string, number>;
      by[status] = (by[status] ?? 0) + 1;
    }
  }

  keyMoved(type: string, atMs: number): void {
    const both = this.counts(type, atMs);
    if (both !== null) for (const counts of both) counts.keyMoves++;
  }

  /** A published event: tracker events per type are counted, the rest by topic. */
  published(topic: string, atMs: number): void {
    const second = topic.indexOf(".", topic.indexOf(".") + 1);
    if (second > 0) {
      const field = COUNTED[topic.slice(0, second)];
      if (field !== undefined) {
        const both = this.counts(topic.slice(second + 1), atMs);
        if (both !== null) for (const counts of both) (counts[field] as number)++;
        return;
      }
    }
    if (topic.startsWith("satellite.")) this.events.set(topic, (this.events.get(topic) ?? 0) + 1);
  }

  sample(atMs: number, inFlight: number, queued: number, waiting: number): void {
    const index = Math.max(0, Math.ceil(atMs / this.intervalMs) - 1);
    while (this.samples.length <= index) this.samples.push({ inFlight: 0, queued: 0, waiting: 0 });
    this.samples[index] = { inFlight, queued, waiting };
  }

  typeTotals(lost: ReadonlyMap<string, number>, windowMs: number): Record<string, TypeTotals> {
    const out: Record<string, TypeTotals> = {};
    for (const type of this.types) {
      const counts = this.totals.get(type) as Counts;
      out[type] = {
        submitted: counts.submitted,
        completed: counts.completed,
        failed: counts.failed,
        failedBy: sortedRecord(this.failedBy.get(type) ?? {}),
        lost: lost.get(type) ?? 0,
        retries: counts.retries,
        reroutes: counts.reroutes,
        timeouts: counts.timeouts,
        attemptsLost: counts.attemptsLost,
        keyMoves: counts.keyMoves,
        throughputPerS: round((counts.completed * 1000) / windowMs),
        latencyMs: percentiles(counts.latencies),
      };
    }
    return out;
  }

  timeline(endMs: number): Interval[] {
    const out: Interval[] = [];
    const count = Math.max(this.intervals.length, Math.ceil(endMs / this.intervalMs));
    for (let i = 0; i < count; i++) {
      const interval = this.intervals[i] ?? new Map<string, Counts>();
      const sample = this.samples[i] ?? { inFlight: 0, queued: 0, waiting: 0 };
      const types: Record<string, IntervalType> = {};
      for (const type of this.types) {
        const c = interval.get(type) ?? newCounts();
        types[type] = {
          submitted: c.submitted,
          completed: c.completed,
          failed: c.failed,
          retries: c.retries,
          reroutes: c.reroutes,
          timeouts: c.timeouts,
          keyMoves: c.keyMoves,
          throughputPerS: round((c.completed * 1000) / this.intervalMs),
          latencyMs: percentiles(c.latencies),
        };
      }
      out.push({ startMs: i * this.intervalMs, ...sample, types });
    }
    return out;
  }
}

/** Nearest-rank percentiles (sorts `values` in place). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: round(rank(0.5)),
    p95: round(rank(0.95)),
    p99: round(rank(0.99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(sum / sorted.length),
  };
}

/** Three decimals: enough for ms, and stable in JSON. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
