// What the dashboard reads from the orchestrator (control `status`, docs/protocol.md) and what it
// sends to the page over server-sent events: one snapshot when a page connects, then one delta per
// tick. Only the fields the dashboard uses are typed; anything else in a reply is ignored.

/** One satellite as control `status` lists it; `score` when the orchestrator reports one. */
export interface StatusSatellite {
  id: string;
  types?: string[];
  location?: string;
  capacity?: number;
  inFlight?: number;
  queued?: number;
  done?: number;
  failed?: number;
  draining?: boolean;
  protocol?: string;
  score?: number;
}

/** A type's row of control `stats` (counters since the orchestrator started). */
export interface StatusTypeStats {
  received?: number;
  inFlight?: number;
  done?: number;
  failed?: number;
  retries?: number;
  latencyMsP50?: number;
  latencyMsP99?: number;
  /** The tracker's latency histogram since the start: count, sum, cumulative counts at LATENCY_BUCKETS_MS. */
  latencyCount?: number;
  latencySumMs?: number;
  latencyBuckets?: number[];
}

export interface StatusReply {
  ok?: boolean;
  jobs?: { inFlight?: number; waiting?: number };
  satellites?: StatusSatellite[];
  stats?: Record<string, StatusTypeStats>;
  tracker?: { breakersOpen?: string[] };
}

export type SatelliteState = "ready" | "draining" | "breaker-open" | "breaker-half-open" | "lost";

/** A satellite as the page shows it. Short on purpose: 1,000 of them may change every tick. */
export interface SatelliteRow {
  id: string;
  state: SatelliteState;
  location: string;
  types: string[];
  capacity: number;
  inFlight: number;
  queued: number;
  /** inFlight / capacity, 0..1 (more when the orchestrator overcommits). */
  load: number;
  done: number;
  failed: number;
  score?: number;
}

/** One node of the failure-domain tree: `rack=r1`, its children, and the satellites right under it. */
export interface TreeNode {
  name: string;
  children: TreeNode[];
  satellites: string[];
}

/** One tick of one job type. Rates are per second; latencies ms (null: nothing measured then). */
export interface TypePoint {
  done: number;
  failed: number;
  retried: number;
  acked: number;
  inFlight: number;
  /** The tracker's submit-to-end quantiles since the orchestrator started (control `stats`). */
  p50: number | null;
  p99: number | null;
  /**
   * The jobs that ended between the status replies of this tick: p50 and p99 interpolated inside
   * the tracker's histogram buckets, and the exact mean (sum / count). Null when none ended.
   */
  windowP50: number | null;
  windowP99: number | null;
  windowMean: number | null;
}

export interface ListedEvent {
  at: number;
  id?: string;
  satellite?: string;
  type?: string;
  detail?: string;
}

export interface Lists {
  breakers: string[];
  poison: ListedEvent[];
  drained: string[];
  lost: ListedEvent[];
}

export interface Totals {
  /** Events received from the orchestrator in the last tick, per second. */
  eventsPerS: number;
  jobsInFlight: number;
  jobsWaiting: number;
  satellites: number;
}

export interface ControlHealth {
  ok: boolean;
  /** Why the last status poll failed; null when it answered. */
  error: string | null;
  /** When the last status answer came (ms since the epoch); null before the first. */
  at: number | null;
}

export interface RingFigures {
  jobs: number;
  bytes: number;
  jobsMax: number;
  bytesMax: number;
  /** The first event still kept (ms since the epoch); null when empty. */
  oldestAt: number | null;
}

/** One replicated orchestrator node as its admin socket's `orch-status` describes it. */
export interface OrchestratorRow {
  id: string;
  /** leader, follower, candidate, pre-candidate; "unreachable" when it did not answer. */
  role: string;
  mode: string | null;
  term: number | null;
  commit: number | null;
  applied: number | null;
  /** Committed entries not yet applied on that node. */
  lag: number | null;
  /** Its orchestrator serves clients and satellites. */
  serving: boolean;
  health: "green" | "yellow" | "red";
  /** The leader it knows of. */
  leader: string | null;
  /** Why it gave no status; null when it answered. */
  error: string | null;
}

export interface Delta {
  t: number;
  types: Record<string, TypePoint>;
  /** Satellites that changed since the previous tick (all of them in a snapshot). */
  satellites: SatelliteRow[];
  /** Satellites gone since the previous tick (lost ones stay a while, shown as lost). */
  removed: string[];
  /** The tree, only when its shape changed (a satellite came, went or moved). */
  tree?: TreeNode;
  lists: Lists;
  totals: Totals;
  control: ControlHealth;
  ring: RingFigures;
  /** Replicated orchestrators, every node each tick (empty for a single orchestrator). */
  orchestrators: OrchestratorRow[];
}

export interface TypeHistory {
  t: number[];
  points: TypePoint[];
}

export interface Snapshot extends Omit<Delta, "types" | "tree"> {
  intervalMs: number;
  historyPoints: number;
  /** Every type's last `historyPoints` ticks, oldest first. */
  history: Record<string, TypeHistory>;
  tree: TreeNode;
  admin: boolean;
}
