// One event per refused peer per interval: refusals are counted, but their events are rate-limited.
import { RecencyMap } from "../util/index.ts";

/**
 * Rate limit of `security.refused` events: at most one per address per `intervalMs` (a refused
 * dsat client or satellite connects again with backoff, 250 ms doubling to 5 s; other peers as
 * often as their code tries). Counters are not limited, only events. `allow` returns
 * null while the address is muted, else how many refusals were muted since its last event.
 */
export class RefusalLimiter {
  /** By address, oldest event first (RecencyMap: forgetting the oldest is O(1) under a flood). */
  private readonly last = new RecencyMap<string, { at: number; muted: number }>();

  constructor(
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
    /** Addresses remembered at most (oldest forgotten first). */
    private readonly addressesMax = 10_000,
  ) {}

  allow(address: string): number | null {
    const now = this.now();
    const entry = this.last.get(address);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.muted++;
      return null;
    }
    const muted = entry?.muted ?? 0;
    this.last.delete(address);
    while (this.last.size >= this.addressesMax && this.last.deleteOldest());
    this.last.set(address, { at: now, muted: 0 });
    return muted;
  }
}
