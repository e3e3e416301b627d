// What the tracker knows of each satellite: its circuit breaker and the jobs running on it (a list
// threaded through the job table, so losing a satellite touches only its own jobs).
import { assert } from "./assert.ts";
import { type JobTable, NONE } from "./jobs.ts";
import type { BreakerState } from "./types.ts";

export class SatelliteRecord {
  breaker: BreakerState = "closed";
  failuresConsecutive = 0;
  /** Cool-down timer while open. */
  timer = NONE;
  /** The job slot sent while half-open (the probe), or NONE. */
  probeSlot = NONE;
  jobsHead = NONE;
  jobs = 0;
  lastHeartbeatMs = Number.NaN;

  constructor(
    readonly id: string,
    readonly index: number,
  ) {}
}

export class SatelliteTable {
  private readonly byId = new Map<string, SatelliteRecord>();
  private readonly records: (SatelliteRecord | undefined)[] = [];
  private readonly freeIndexes: number[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): SatelliteRecord | undefined {
    return this.byId.get(id);
  }

  idsWithBreaker(state: SatelliteRecord["breaker"]): string[] {
    const ids: string[] = [];
    for (const record of this.byId.values()) if (record.breaker === state) ids.push(record.id);
    return ids;
  }

  at(index: number): SatelliteRecord {
    const record = this.records[index];
    assert(record !== undefined, "a satellite index names a tracked satellite");
    return record;
  }

  /** The satellite's record, created if new; undefined when the table is full. */
  ensure(id: string): SatelliteRecord | undefined {
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    if (this.byId.size >= this.capacity) return undefined;
    const index = this.freeIndexes.pop() ?? this.records.length;
    const record = new SatelliteRecord(id, index);
    this.records[index] = record;
    this.byId.set(id, record);
    return record;
  }

  remove(record: SatelliteRecord): void {
    assert(record.jobs === 0 && record.timer === NONE, "a removed satellite has no jobs and no timer");
    this.byId.delete(record.id);
    this.records[record.index] = undefined;
    this.freeIndexes.push(record.index);
  }

  link(jobs: JobTable, slot: number, record: SatelliteRecord): void {
    assert(jobs.satellite[slot] === NONE, "a job runs on one satellite at a time");
    jobs.satellite[slot] = record.index;
    jobs.satellitePrevious[slot] = NONE;
    jobs.satelliteNext[slot] = record.jobsHead;
    if (record.jobsHead !== NONE) jobs.satellitePrevious[record.jobsHead] = slot;
    record.jobsHead = slot;
    record.jobs++;
  }

  unlink(jobs: JobTable, slot: number): SatelliteRecord {
    const record = this.at(jobs.satellite[slot]);
    const next = jobs.satelliteNext[slot];
    const previous = jobs.satellitePrevious[slot];
    if (previous === NONE) record.jobsHead = next;
    else jobs.satelliteNext[previous] = next;
    if (next !== NONE) jobs.satellitePrevious[next] = previous;
    jobs.satellite[slot] = NONE;
    jobs.satelliteNext[slot] = NONE;
    jobs.satellitePrevious[slot] = NONE;
    record.jobs--;
    assert(record.jobs >= 0, "a satellite's job count stays non-negative");
    return record;
  }

  /** The slots of the jobs on a satellite (a copy: handlers unlink as they go). */
  jobsOf(jobs: JobTable, record: SatelliteRecord): number[] {
    const slots: number[] = [];
    for (let slot = record.jobsHead; slot !== NONE; slot = jobs.satelliteNext[slot]) slots.push(slot);
    assert(slots.length === record.jobs, "a satellite's job list matches its count");
    return slots;
  }

  all(): Iterable<SatelliteRecord> {
    return this.byId.values();
  }
}
