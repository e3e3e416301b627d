// The recent job.* and result.* events, per job id, for the page's job search. Bounded in jobs and
// in (estimated) bytes: past either, the job first seen longest ago goes with all its events. A
// job whose events are gone is "not in the dashboard's window"; the page says how far back the
// window reaches (`oldestAt`).

export interface JobEvent {
  at: number;
  /** The topic without its job type: `job.acked`, `result` ... */
  event: string;
  type?: string;
  satellite?: string;
  detail?: string;
  status?: string;
}

export interface JobRingOptions {
  /** Jobs kept (default 50,000). */
  jobsMax?: number;
  /** Bytes kept, estimated (default 32 MiB). */
  bytesMax?: number;
  /** Events kept per job; later ones are counted, not kept (default 64). */
  eventsPerJobMax?: number;
}

interface Entry {
  events: JobEvent[];
  bytes: number;
  dropped: number;
}

/** What a kept event costs: the object, its array slot, and its strings (2 bytes a character). */
const EVENT_OVERHEAD_BYTES = 96;
const ENTRY_OVERHEAD_BYTES = 160;
/** Longest detail kept: details are readable sentences; a longer one is cut. */
const DETAIL_MAX = 300;

export class JobRing {
  readonly jobsMax: number;
  readonly bytesMax: number;
  readonly eventsPerJobMax: number;
  private readonly jobs = new Map<string, Entry>();
  /**
   * Ids in the order first seen, from `head` on. Not the Map's own order: taking a Map's first key
   * walks over every entry deleted before it until the table is rebuilt, which made eviction the
   * dashboard's largest cost at 50k events/s.
   */
  private order: string[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(options: JobRingOptions = {}) {
    this.jobsMax = options.jobsMax ?? 50_000;
    this.bytesMax = options.bytesMax ?? 32 * 1024 * 1024;
    this.eventsPerJobMax = options.eventsPerJobMax ?? 64;
    if (!(this.jobsMax >= 1 && this.bytesMax >= 1024 && this.eventsPerJobMax >= 1))
      throw new RangeError("JobRing: jobsMax >= 1, bytesMax >= 1024 and eventsPerJobMax >= 1");
  }

  get size(): number {
    return this.jobs.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The first event still kept, or null. */
  get oldestAt(): number | null {
    if (this.head >= this.order.length) return null;
    return this.jobs.get(this.order[this.head])?.events[0]?.at ?? null;
  }

  add(id: string, event: JobEvent): void {
    if (event.detail !== undefined && event.detail.length > DETAIL_MAX)
      event.detail = `${event.detail.slice(0, DETAIL_MAX)}...`;
    const cost =
      EVENT_OVERHEAD_BYTES +
      2 *
        (event.event.length +
          (event.type?.length ?? 0) +
          (event.satellite?.length ?? 0) +
          (event.detail?.length ?? 0) +
          (event.status?.length ?? 0));
    let entry = this.jobs.get(id);
    if (entry === undefined) {
      entry = { events: [], bytes: ENTRY_OVERHEAD_BYTES + 2 * id.length, dropped: 0 };
      this.jobs.set(id, entry);
      this.order.push(id);
      this.totalBytes += entry.bytes;
    }
    if (entry.events.length >= this.eventsPerJobMax) {
      entry.dropped++;
      return;
    }
    entry.events.push(event);
    entry.bytes += cost;
    this.totalBytes += cost;
    this.evict();
  }

  /** The job's kept events, oldest first, and how many were left out; null when not kept. */
  get(id: string): { events: JobEvent[]; dropped: number } | null {
    const entry = this.jobs.get(id);
    return entry === undefined ? null : { events: [...entry.events], dropped: entry.dropped };
  }

  private evict(): void {
    while (this.jobs.size > this.jobsMax || (this.totalBytes > this.bytesMax && this.jobs.size > 1)) {
      const oldest = this.order[this.head++];
      const entry = this.jobs.get(oldest) as Entry;
      this.jobs.delete(oldest);
      this.totalBytes -= entry.bytes;
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
