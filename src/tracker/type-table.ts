// Per job type: resolved limits (run timeout, attempts) and the counters behind `stats()`.
import { LATENCY_BUCKETS_MS, LatencyHistogram } from "./histogram.ts";
import type { TypeStats } from "./types.ts";

export class TypeRecord {
  received = 0;
  inFlight = 0;
  done = 0;
  failed = 0;
  cancelled = 0;
  expired = 0;
  errors = 0;
  retries = 0;
  reroutes = 0;
  timeouts = 0;
  stalls = 0;
  poison = 0;
  lateResults = 0;
  readonly latency = new LatencyHistogram();

  constructor(
    readonly name: string,
    readonly index: number,
    /** Jobs copy these at submit: a change (Tracker.reconfigure) applies to jobs submitted after it. */
    public runTimeoutMs: number,
    public attemptsMax: number,
  ) {}

  snapshot(): TypeStats {
    return {
      received: this.received,
      inFlight: this.inFlight,
      done: this.done,
      failed: this.failed,
      cancelled: this.cancelled,
      expired: this.expired,
      errors: this.errors,
      retries: this.retries,
      reroutes: this.reroutes,
      timeouts: this.timeouts,
      stalls: this.stalls,
      poison: this.poison,
      lateResults: this.lateResults,
      latencyMsP50: this.latency.quantileMs(0.5),
      latencyMsP99: this.latency.quantileMs(0.99),
      latencyCount: this.latency.count,
      latencySumMs: this.latency.sumMs,
      latencyBuckets: this.latency.cumulativeAtMs(LATENCY_BUCKETS_MS),
    };
  }
}

export class TypeTable {
  private readonly byName = new Map<string, TypeRecord>();
  /** By index (jobs store the index); an evicted type leaves a hole, reused by the next new type. */
  readonly records: Array<TypeRecord | undefined> = [];
  private readonly freeIndexes: number[] = [];

  constructor(
    private readonly capacity: number,
    private readonly limitsOf: (name: string) => { runTimeoutMs: number; attemptsMax: number },
  ) {}

  /** The type's record, created if new; undefined when the table is full. */
  ensure(name: string): TypeRecord | undefined {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    if (this.byName.size >= this.capacity) return undefined;
    const limits = this.limitsOf(name);
    const index = this.freeIndexes.pop() ?? this.records.length;
    const record = new TypeRecord(name, index, limits.runTimeoutMs, limits.attemptsMax);
    this.records[index] = record;
    this.byName.set(name, record);
    return record;
  }

  /** Takes each type's run timeout and attempts again from the (changed) config. */
  relimit(): void {
    for (const record of this.live()) {
      const limits = this.limitsOf(record.name);
      record.runTimeoutMs = limits.runTimeoutMs;
      record.attemptsMax = limits.attemptsMax;
    }
  }

  /** Forgets a type none of whose jobs is in flight; false when it has some. */
  evict(name: string): boolean {
    const record = this.byName.get(name);
    if (record === undefined) return true;
    if (record.inFlight > 0) return false;
    this.byName.delete(name);
    this.records[record.index] = undefined;
    this.freeIndexes.push(record.index);
    return true;
  }

  /** The live records. */
  *live(): IterableIterator<TypeRecord> {
    for (const record of this.records) if (record !== undefined) yield record;
  }

  get size(): number {
    return this.byName.size;
  }
}
