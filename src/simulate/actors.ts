// The simulation's results and the state of the peers it plays: satellites (processes, their
// connection, the jobs they run) and clients (what waits for an answer).
import type { JobReplyEntry, RequestEntry } from "../protocol/index.ts";
import type { Interval, TypeTotals } from "./metrics.ts";
import type { Distribution } from "./random.ts";
import type { ReplicatedResult, Session } from "./replicated.ts";
import type { Target } from "./scenario.ts";

/** What a run gives: totals per type, a timeline, load per satellite and failure domain. */
export interface SimulationResult {
  topology: string;
  scenario: string;
  description: string;
  seed: number;
  /** Virtual time simulated, ms (the arrival window, then until every job is answered or drainMs). */
  simulatedMs: number;
  intervalMs: number;
  /** Simulated steps of the router (events stepped). */
  routerSteps: number;
  types: Record<string, TypeTotals>;
  timeline: Interval[];
  satellites: SatelliteLoad[];
  /** Per level of the hierarchy above satellite: bucket -> jobs completed there and their share. */
  domains: Record<string, Record<string, { jobs: number; share: number; satellites: number }>>;
  events: Array<{ atMs: number; action: string; what: string; satellites: number; note?: string }>;
  /** Satellite events the router published (satellite.lost, satellite.registered, ...). */
  satelliteEvents: Record<string, number>;
  /** Only with several orchestrators (the topology's `orchestrators`): nodes, leaderships, failovers. */
  orchestrators?: ReplicatedResult;
}

export interface SatelliteLoad {
  id: string;
  type: string;
  host: string;
  location: string;
  jobs: number;
  busyMs: number;
  /** busyMs over capacity x simulated time. */
  utilization: number;
  /** At the end, in the router's view: jobs it counts as queued for this satellite. */
  queuedAtEnd: number;
}

/** The default service time when a scenario names none for a type. */
export const DEFAULT_SERVICE: Distribution = { distribution: "exponential", meanMs: 10 };
export const DEFAULT_LATENCY = {
  sameHostMs: 0.05,
  sameRackMs: 0.2,
  acrossRacksMs: 0.5,
  acrossDatacentersMs: 10,
  clientMs: 0.5,
  jitter: 0.2,
};

export interface RunningJob {
  token: string;
  id: string;
  attempt: number;
  type: string;
  key: string | null;
  /** Set for a job that came alone as a REQUEST (the reply goes back as a REPLY). */
  address: Buffer | null;
  started: boolean;
  finished: boolean;
  durationMs: number;
}

export type SatelliteState = "up" | "dead" | "hung" | "draining" | "stopped";

export class SimSatellite {
  state: SatelliteState = "stopped";
  partitioned = false;
  connection = 0;
  route: Buffer = Buffer.alloc(0);
  incarnations = 0;
  /** Bumped when the process dies or restarts: its old timers stop. */
  generation = 0;
  readonly running = new Map<string, RunningJob>();
  waiting: RunningJob[] = [];
  lastHeard = 0;
  slowdown = 1;
  time: Distribution | undefined;
  failureRate: number | undefined;
  hangRate: number | undefined;
  /** When the process first starts, if the scenario says (else a seeded moment in the first 50 ms). */
  startMs: number | undefined;
  replies: JobReplyEntry[] = [];
  replyPayloads: Buffer[] = [];
  unacked: RunningJob[] = [];
  flushScheduled = false;
  deferred: Array<() => void> = [];
  /** FIFO per direction: a message never overtakes the one before it on the same connection. */
  lastUp = 0;
  lastDown = 0;
  /** After a drain: come back with this weight (set-weight restarts the process gracefully). */
  restartWeight: number | null = null;
  jobs = 0;
  busyMs = 0;

  constructor(
    readonly id: string,
    readonly type: string,
    readonly host: string,
    readonly location: Array<[string, string]>,
    readonly capacity: number,
    public weight: number,
    /** One way to the orchestrator it is connected to (replicated: set at each connection). */
    public linkMs: number,
  ) {}

  /** The orchestrator its connection reaches (null: none, it is trying to reconnect). */
  session: Session | null = null;
  /** Replicated orchestrators: the one-way delay to each node, by node index. */
  linksMs: number[] = [];
  /** Replicated: the token of the reconnect loop running (a new loop or a connection bumps it). */
  reconnecting = 0;

  in(target: Target): boolean {
    if ("satellite" in target) return this.id === target.satellite;
    if ("host" in target) return this.host === target.host;
    return this.location.some(([, bucket]) => bucket === target.domain);
  }
}

export interface Pending {
  type: string;
  sentAt: number;
  /** Replicated orchestrators: what to send again after a failover (same id), and its payload. */
  entry?: RequestEntry;
  payload?: Buffer;
}

export class SimClient {
  nextCorrelation = 1;
  readonly pending = new Map<number, Pending>();
  entries: RequestEntry[] = [];
  payloads: Buffer[] = [];
  flushScheduled = false;
  lastUp = 0;
  /** The orchestrator its connection reaches (null: none, it is trying to reconnect). */
  session: Session | null = null;
  /** Replicated: the token of the reconnect loop running (a new loop or a connection bumps it). */
  reconnecting = 0;
  constructor(readonly route: Buffer) {}
}
