// Hostile-input bookkeeping for the frontend, kept apart from the job logic:
// - per-peer malformed-message budget: more than `malformedMax` malformed messages within
//   `windowMs` blocks the peer (routing id) for `blockMs`; its messages are dropped unparsed;
// - per-client in-flight count and payload bytes, for limits.inFlightPerClientMax and clientBytesMax.
// Peers are keyed by routing id (hex). Both maps are bounded by the peers that misbehave or have
// jobs in flight, and entries go away when their windows end or their counts reach zero.

export interface PeerGuardOptions {
  malformedMax: number;
  windowMs: number;
  blockMs: number;
}

interface Budget {
  windowStart: number;
  count: number;
  blockedUntil: number;
}

export class PeerGuard {
  private readonly budgets = new Map<string, Budget>();
  private readonly inFlight = new Map<string, { client: string; jobs: number; bytes: number }>();

  constructor(private readonly options: PeerGuardOptions) {}

  /** False while no peer has a malformed budget open: the hot path skips the lookup. */
  get active(): boolean {
    return this.budgets.size > 0;
  }

  /** True when messages from `peer` are to be dropped unparsed. */
  isBlocked(peer: string, now: number): boolean {
    const budget = this.budgets.get(peer);
    return budget !== undefined && budget.blockedUntil > now;
  }

  /** Records a malformed message; true when this one got the peer blocked. */
  malformed(peer: string, now: number): boolean {
    let budget = this.budgets.get(peer);
    if (budget === undefined || now - budget.windowStart >= this.options.windowMs) {
      if (budget !== undefined && budget.blockedUntil > now) return false;
      budget = { windowStart: now, count: 0, blockedUntil: 0 };
      this.budgets.set(peer, budget);
    }
    budget.count++;
    if (budget.count > this.options.malformedMax && budget.blockedUntil <= now) {
      budget.blockedUntil = now + this.options.blockMs;
      return true;
    }
    return false;
  }

  /** Forgets budgets whose window and block are over (call from a periodic tick). */
  sweep(now: number): void {
    for (const [peer, budget] of this.budgets) {
      if (budget.blockedUntil <= now && now - budget.windowStart >= this.options.windowMs)
        this.budgets.delete(peer);
    }
  }

  blockedPeers(now: number): number {
    let blocked = 0;
    for (const budget of this.budgets.values()) if (budget.blockedUntil > now) blocked++;
    return blocked;
  }

  inFlightOf(client: string): number {
    return this.inFlight.get(client)?.jobs ?? 0;
  }

  /** Payload bytes of the client's jobs held. */
  bytesOf(client: string): number {
    return this.inFlight.get(client)?.bytes ?? 0;
  }

  /**
   * Charges a job to its client and returns the client's key as first stored: a job keeps that
   * one string rather than its own copy (56 bytes a job held).
   */
  addInFlight(client: string, bytes: number): string {
    const held = this.inFlight.get(client);
    if (held === undefined) {
      this.inFlight.set(client, { client, jobs: 1, bytes });
      return client;
    }
    held.jobs++;
    held.bytes += bytes;
    return held.client;
  }

  removeInFlight(client: string, bytes: number): void {
    const held = this.inFlight.get(client);
    if (held === undefined) return;
    held.jobs--;
    held.bytes -= bytes;
    if (held.jobs <= 0) this.inFlight.delete(client);
  }
}
