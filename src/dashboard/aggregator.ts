// The dashboard's state, kept in the server: events and status replies go in, one small delta per
// tick comes out (never one browser message per job). Pure: no sockets and no timers; the clock
// is injected, so tests drive it.
//
// Where each figure comes from:
// - done, failed and retried per second: differences of the tracker's counters in successive
//   control `status` replies (exact whatever the event rate, and the events carry no job end);
// - acked per second, poison jobs, breakers, drains and losses: the events, as they come;
// - latency: the tracker's p50/p99 since the start (from `stats`), and, per tick, the quantiles and
//   mean of the jobs that ended in between, from differences of the tracker's histogram buckets
//   in successive `status` replies (latency-window.ts);
// - satellites' load and state: `status`, corrected by the satellite.* events between two polls.
import type { JobRing } from "./job-ring.ts";
import { type LatencyTotals, LatencyWindow, latencyTotals } from "./latency-window.ts";
import type {
  ControlHealth,
  Delta,
  ListedEvent,
  Lists,
  OrchestratorRow,
  SatelliteRow,
  Snapshot,
  StatusReply,
  StatusSatellite,
  TreeNode,
  TypeHistory,
  TypePoint,
} from "./model.ts";
import { buildTree, treeKey } from "./tree.ts";

export interface AggregatorOptions {
  now: () => number;
  /** The job search's ring; events are added to it as they come. */
  ring: JobRing;
  /** Ticks of history per type (default 300: five minutes at one tick a second). */
  historyPoints?: number;
  /** The tick the server runs at, ms (only reported to the page; the caller calls tick()). */
  intervalMs?: number;
  /** How long a lost satellite stays in the tree, shown lost, ms (default 10 minutes). */
  lostKeepMs?: number;
  /** Entries of the poison and lost lists (default 100 each). */
  listMax?: number;
  /** Job types followed (default 256); events of further types are counted in totals only. */
  typesMax?: number;
}

interface TypeCounters {
  acked: number;
  /** Jobs that ended between the status replies received this tick; null when none came. */
  latency: LatencyWindow | null;
}

interface StatsSample {
  at: number;
  done: number;
  failed: number;
  retries: number;
  latency: LatencyTotals | null;
}

interface Rates {
  done: number;
  failed: number;
  retried: number;
}

type Breaker = "open" | "half-open";

export class Aggregator {
  readonly historyPoints: number;
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly ring: JobRing;
  private readonly lostKeepMs: number;
  private readonly listMax: number;
  private readonly typesMax: number;

  private readonly rows = new Map<string, SatelliteRow>();
  /** When an event last changed a satellite: a status asked for before that does not undo it. */
  private readonly touchedAt = new Map<string, number>();
  private readonly lostAt = new Map<string, number>();
  private readonly breakers = new Map<string, Breaker>();
  private readonly sent = new Map<string, string>();
  private sentTreeKey = "";
  private tree: TreeNode = buildTree([]);

  private readonly counters = new Map<string, TypeCounters>();
  private readonly lastStats = new Map<string, StatsSample>();
  private readonly rates = new Map<string, Rates>();
  private stats: Record<string, { inFlight: number; p50: number | null; p99: number | null }> = {};
  private readonly history = new Map<string, TypeHistory>();

  private readonly poison: ListedEvent[] = [];
  private readonly lost: ListedEvent[] = [];
  private events = 0;
  private lastTickAt: number;
  private jobsInFlight = 0;
  private jobsWaiting = 0;
  private control: ControlHealth = { ok: false, error: "no status yet", at: null };
  private orchestrators: OrchestratorRow[] = [];
  private last: Delta | null = null;

  constructor(options: AggregatorOptions) {
    this.now = options.now;
    this.ring = options.ring;
    this.historyPoints = options.historyPoints ?? 300;
    this.intervalMs = options.intervalMs ?? 1000;
    this.lostKeepMs = options.lostKeepMs ?? 600_000;
    this.listMax = options.listMax ?? 100;
    this.typesMax = options.typesMax ?? 256;
    this.lastTickAt = this.now();
  }

  /** Events received since the dashboard started. */
  eventsSeen = 0;

  /** One event from the orchestrator's events socket. Never throws on odd fields. */
  onEvent(topic: string, fields: Record<string, unknown>): void {
    this.events++;
    this.eventsSeen++;
    const at = typeof fields.at === "number" ? fields.at : this.now();
    if (topic.startsWith("job.") || topic.startsWith("result.")) this.onJobEvent(topic, fields, at);
    else if (topic.startsWith("satellite.")) this.onSatelliteEvent(topic, fields, at);
  }

  private onJobEvent(topic: string, fields: Record<string, unknown>, at: number): void {
    const { event, type: topicType } = splitJobTopic(topic);
    const type = topicType ?? text(fields.type);
    const id = text(fields.id);
    const satellite = text(fields.satellite);
    if (id !== undefined)
      this.ring.add(id, {
        at,
        event,
        ...(type !== undefined ? { type } : {}),
        ...(satellite !== undefined ? { satellite } : {}),
        ...(text(fields.detail) !== undefined ? { detail: text(fields.detail) } : {}),
        ...(text(fields.status) !== undefined ? { status: text(fields.status) } : {}),
        ...(event === "job.step" && text(fields.step) !== undefined
          ? { detail: `next step ${fields.step}` }
          : {}),
      });
    if (event === "job.poison")
      this.pushListed(this.poison, {
        at,
        ...(id ? { id } : {}),
        ...(satellite ? { satellite } : {}),
        ...(type ? { type } : {}),
        ...(text(fields.detail) ? { detail: text(fields.detail) } : {}),
      });
    if (type === undefined) return;
    const counters = this.countersOf(type);
    if (counters === null) return;
    if (event === "job.acked") counters.acked++;
  }

  private onSatelliteEvent(topic: string, fields: Record<string, unknown>, at: number): void {
    const id = text(fields.satellite);
    if (id === undefined) return;
    this.touchedAt.set(id, this.now());
    const row = this.rows.get(id);
    switch (topic) {
      case "satellite.registered":
      case "satellite.resumed": {
        this.lostAt.delete(id);
        this.breakers.delete(id);
        const types = Array.isArray(fields.types)
          ? fields.types.filter((t) => typeof t === "string")
          : undefined;
        const capacity = typeof fields.capacity === "number" ? fields.capacity : undefined;
        this.rows.set(id, {
          ...(row ?? emptyRow(id)),
          state: "ready",
          ...(text(fields.location) !== undefined ? { location: text(fields.location) as string } : {}),
          ...(types !== undefined ? { types } : {}),
          ...(capacity !== undefined ? { capacity } : {}),
        });
        this.restate(id);
        return;
      }
      case "satellite.lost":
        this.lostAt.set(id, this.now());
        this.breakers.delete(id);
        if (row !== undefined) this.rows.set(id, { ...row, state: "lost", inFlight: 0, queued: 0, load: 0 });
        this.pushListed(this.lost, {
          at,
          satellite: id,
          ...(text(fields.reason) ? { detail: text(fields.reason) } : {}),
        });
        return;
      case "satellite.draining":
        if (row !== undefined && row.state !== "lost") this.rows.set(id, { ...row, state: "draining" });
        return;
      case "satellite.undrained":
        if (row !== undefined && row.state === "draining") this.rows.set(id, { ...row, state: "ready" });
        this.restate(id);
        return;
      case "satellite.breaker-open":
        this.breakers.set(id, "open");
        this.restate(id);
        return;
      case "satellite.breaker-half-open":
        this.breakers.set(id, "half-open");
        this.restate(id);
        return;
      case "satellite.breaker-closed":
        this.breakers.delete(id);
        this.restate(id);
        return;
    }
  }

  /** A status reply; `requestedAt` is when it was asked for (events after that win over it). */
  onStatus(reply: StatusReply, requestedAt: number): void {
    const at = this.now();
    this.control = { ok: true, error: null, at };
    this.jobsInFlight = num(reply.jobs?.inFlight);
    this.jobsWaiting = num(reply.jobs?.waiting);
    const open = new Set(Array.isArray(reply.tracker?.breakersOpen) ? reply.tracker.breakersOpen : []);
    for (const [id, breaker] of this.breakers)
      if (breaker === "open" && !open.has(id) && (this.touchedAt.get(id) ?? 0) <= requestedAt)
        this.breakers.delete(id);
    for (const id of open) if (this.breakers.get(id) !== "half-open") this.breakers.set(id, "open");
    const listed = new Set<string>();
    for (const satellite of Array.isArray(reply.satellites) ? reply.satellites : []) {
      if (typeof satellite?.id !== "string") continue;
      listed.add(satellite.id);
      const previous = this.rows.get(satellite.id);
      const eventSince = (this.touchedAt.get(satellite.id) ?? 0) > requestedAt;
      if (this.lostAt.has(satellite.id) && eventSince) continue;
      this.lostAt.delete(satellite.id);
      const row = rowFromStatus(satellite);
      // A drain or undrain seen after the request was sent is newer than the reply's flag.
      if (eventSince && previous !== undefined && previous.state !== "lost")
        row.state = previous.state === "draining" ? "draining" : "ready";
      this.rows.set(satellite.id, row);
      this.restate(satellite.id);
    }
    for (const [id, row] of this.rows) {
      if (listed.has(id) || row.state === "lost" || (this.touchedAt.get(id) ?? 0) > requestedAt) continue;
      this.rows.delete(id); // left without a satellite.lost we saw (e.g. events dropped)
    }
    this.onStats(reply.stats ?? {}, at);
  }

  /** The status poll failed (down, wrong endpoint, refused keys): shown on the page. */
  /** The replicated orchestrators' latest `orch-status` answers, one row per node. */
  onOrchestrators(rows: OrchestratorRow[]): void {
    this.orchestrators = rows;
  }

  onControlError(message: string): void {
    this.control = { ok: false, error: message, at: this.control.at };
  }

  private onStats(stats: Record<string, StatusTypeStatsLike>, at: number): void {
    const current: typeof this.stats = {};
    for (const [type, row] of Object.entries(stats)) {
      if (typeof row !== "object" || row === null) continue;
      const counters = this.countersOf(type);
      if (counters === null) continue;
      const sample = {
        at,
        done: num(row.done),
        failed: num(row.failed),
        retries: num(row.retries),
        latency: latencyTotals(row),
      };
      const previous = this.lastStats.get(type);
      // The first reply only sets the base: what ended before the dashboard came is not this tick's.
      if (sample.latency !== null && previous?.latency != null) {
        counters.latency ??= new LatencyWindow();
        counters.latency.addDifference(sample.latency, previous.latency);
      }
      if (previous !== undefined && at > previous.at) {
        const seconds = (at - previous.at) / 1000;
        // A counter that went down started again (the orchestrator restarted): count from zero.
        const rate = (now: number, before: number) => round((now >= before ? now - before : now) / seconds);
        this.rates.set(type, {
          done: rate(sample.done, previous.done),
          failed: rate(sample.failed, previous.failed),
          retried: rate(sample.retries, previous.retries),
        });
      }
      this.lastStats.set(type, sample);
      current[type] = {
        inFlight: num(row.inFlight),
        p50: typeof row.latencyMsP50 === "number" ? row.latencyMsP50 : null,
        p99: typeof row.latencyMsP99 === "number" ? row.latencyMsP99 : null,
      };
    }
    this.stats = current;
  }

  /** Closes the tick: what changed since the previous one. */
  tick(): Delta {
    const t = this.now();
    const seconds = Math.max(0.001, (t - this.lastTickAt) / 1000);
    this.lastTickAt = t;
    for (const [id, since] of this.lostAt)
      if (t - since >= this.lostKeepMs) {
        this.lostAt.delete(id);
        this.rows.delete(id);
        this.breakers.delete(id);
        this.touchedAt.delete(id);
      }
    const types: Record<string, TypePoint> = {};
    for (const type of new Set([...this.counters.keys(), ...Object.keys(this.stats)])) {
      const counters = this.counters.get(type);
      const rates = this.rates.get(type);
      const stats = this.stats[type];
      const point: TypePoint = {
        done: rates?.done ?? 0,
        failed: rates?.failed ?? 0,
        retried: rates?.retried ?? 0,
        acked: round((counters?.acked ?? 0) / seconds),
        inFlight: stats?.inFlight ?? 0,
        p50: stats?.p50 ?? null,
        p99: stats?.p99 ?? null,
        windowP50: roundOrNull(counters?.latency?.quantileMs(0.5)),
        windowP99: roundOrNull(counters?.latency?.quantileMs(0.99)),
        windowMean: roundOrNull(counters?.latency?.meanMs()),
      };
      types[type] = point;
      this.record(type, t, point);
      if (counters !== undefined) {
        counters.acked = 0;
        counters.latency = null;
      }
    }
    const satellites: SatelliteRow[] = [];
    for (const [id, row] of this.rows) {
      const key = JSON.stringify(row);
      if (this.sent.get(id) === key) continue;
      this.sent.set(id, key);
      satellites.push(row);
    }
    const removed: string[] = [];
    for (const id of this.sent.keys()) if (!this.rows.has(id)) removed.push(id);
    for (const id of removed) this.sent.delete(id);
    const shape = treeKey(this.rows.values());
    let tree: TreeNode | undefined;
    if (shape !== this.sentTreeKey) {
      this.sentTreeKey = shape;
      tree = this.tree = buildTree(this.rows.values());
    }
    const delta: Delta = {
      t,
      types,
      satellites,
      removed,
      ...(tree !== undefined ? { tree } : {}),
      lists: this.lists(),
      totals: {
        eventsPerS: round(this.events / seconds),
        jobsInFlight: this.jobsInFlight,
        jobsWaiting: this.jobsWaiting,
        satellites: [...this.rows.values()].filter((row) => row.state !== "lost").length,
      },
      control: { ...this.control },
      ring: {
        jobs: this.ring.size,
        bytes: this.ring.bytes,
        jobsMax: this.ring.jobsMax,
        bytesMax: this.ring.bytesMax,
        oldestAt: this.ring.oldestAt,
      },
      orchestrators: this.orchestrators,
    };
    this.events = 0;
    this.last = delta;
    return delta;
  }

  /** Everything a page needs when it connects: history, every satellite, the tree. */
  snapshot(admin: boolean): Snapshot {
    const last = this.last ?? this.tick();
    const history: Record<string, TypeHistory> = {};
    for (const [type, kept] of this.history) history[type] = { t: [...kept.t], points: [...kept.points] };
    return {
      t: last.t,
      intervalMs: this.intervalMs,
      historyPoints: this.historyPoints,
      history,
      // As last sent, so that the deltas that follow apply to it.
      satellites: [...this.sent.values()].map((row) => JSON.parse(row) as SatelliteRow),
      removed: [],
      tree: this.tree,
      lists: last.lists,
      totals: last.totals,
      control: last.control,
      ring: last.ring,
      orchestrators: last.orchestrators,
      admin,
    };
  }

  private lists(): Lists {
    const breakers: string[] = [];
    const drained: string[] = [];
    for (const row of this.rows.values()) {
      if (row.state === "breaker-open") breakers.push(row.id);
      if (row.state === "draining") drained.push(row.id);
    }
    return {
      breakers: breakers.sort(),
      drained: drained.sort(),
      poison: [...this.poison],
      lost: [...this.lost],
    };
  }

  /** The row's state from what is known: lost, draining, breaker open or half-open, else ready. */
  private restate(id: string): void {
    const row = this.rows.get(id);
    if (row === undefined || row.state === "lost") return;
    const breaker = this.breakers.get(id);
    const state =
      row.state === "draining"
        ? "draining"
        : breaker === "open"
          ? "breaker-open"
          : breaker === "half-open"
            ? "breaker-half-open"
            : "ready";
    if (state !== row.state) this.rows.set(id, { ...row, state });
  }

  private record(type: string, t: number, point: TypePoint): void {
    let kept = this.history.get(type);
    if (kept === undefined) this.history.set(type, (kept = { t: [], points: [] }));
    kept.t.push(t);
    kept.points.push(point);
    if (kept.t.length > this.historyPoints) {
      kept.t.shift();
      kept.points.shift();
    }
  }

  private countersOf(type: string): TypeCounters | null {
    let counters = this.counters.get(type);
    if (counters === undefined) {
      if (this.counters.size >= this.typesMax) return null;
      this.counters.set(type, (counters = { acked: 0, latency: null }));
    }
    return counters;
  }

  private pushListed(list: ListedEvent[], entry: ListedEvent): void {
    list.unshift(entry);
    if (list.length > this.listMax) list.pop();
  }
}

type StatusTypeStatsLike = NonNullable<StatusReply["stats"]>[string];

/** "job.acked.resize" -> job.acked + resize; "result.resize" -> result + resize; "job.retried" alone. */
export function splitJobTopic(topic: string): { event: string; type?: string } {
  if (topic.startsWith("result.")) return { event: "result", type: topic.slice(7) || undefined };
  const second = topic.indexOf(".", 4);
  if (second === -1) return { event: topic };
  const type = topic.slice(second + 1);
  return { event: topic.slice(0, second), ...(type !== "" ? { type } : {}) };
}

function rowFromStatus(satellite: StatusSatellite): SatelliteRow {
  const capacity = num(satellite.capacity);
  const inFlight = num(satellite.inFlight);
  return {
    id: satellite.id,
    // Breakers are applied by restate(); a lost one listed again is back.
    state: satellite.draining === true ? "draining" : "ready",
    location: typeof satellite.location === "string" ? satellite.location : "",
    types: Array.isArray(satellite.types) ? satellite.types.filter((t) => typeof t === "string") : [],
    capacity,
    inFlight,
    queued: num(satellite.queued),
    load: capacity > 0 ? round(inFlight / capacity) : 0,
    done: num(satellite.done),
    failed: num(satellite.failed),
    ...(typeof satellite.score === "number" ? { score: satellite.score } : {}),
  };
}

function emptyRow(id: string): SatelliteRow {
  return {
    id,
    state: "ready",
    location: "",
    types: [],
    capacity: 0,
    inFlight: 0,
    queued: 0,
    load: 0,
    done: 0,
    failed: 0,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function roundOrNull(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : round(value);
}
