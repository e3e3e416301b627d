// One event per refused peer per interval: refusals are counted, but their events are rate-limited.

/**
 * Rate limit of `security.refused` events: at most one per address per `intervalMs` (a refused
 * dsat client or satellite connects again with backoff, 250 ms doubling to 5 s; other peers as
 * often as their code tries). Counters are not limited, only events. `allow` returns
 * null while the address is muted, else how many refusals were muted since its last event.
 */
export class RefusalLimiter {
  private readonly last = new Map<string, { at: number; muted: number }>();

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
    // Insertion order is event order: the first key is the oldest.
    while (this.last.size >= this.addressesMax) {
      const oldest = this.last.keys().next().value;
      if (oldest === undefined) break;
      this.last.delete(oldest);
    }
    this.last.set(address, { at: now, muted: 0 });
    return muted;
  }
}
