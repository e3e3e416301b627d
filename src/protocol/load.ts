// A satellite's load, carried by its HEARTBEAT (docs/protocol.md, "Load"): what it runs, what
// waits in its own queue, its event-loop lag and its error rate over the last heartbeat period.
// The orchestrator turns it into a score (src/orchestrator/router/scores.ts). The frame is checked
// on its bytes before it is decoded; a bad one is ignored (and counted), never a reason to drop
// the heartbeat or the peer.
import { decode, encode } from "./codec.ts";
import { DSAT_MARK, EMPTY, MDP_WORKER, WorkerCommand } from "./constants.ts";
import { type Shape, shapeProblem } from "./shape.ts";

export interface SatelliteLoad {
  /** Jobs running now. */
  inFlight: number;
  /** Jobs waiting in the satellite's own queue (an application's backlog; 0 for dsat's runtime). */
  queued: number;
  /** Event-loop lag over the last period (p99 of perf_hooks' monitorEventLoopDelay), ms. */
  lagMs: number;
  /** Failed jobs / finished jobs over the last period, 0..1 (0 when none finished). */
  errorRate: number;
}

/** A load frame: a flat map of at most 8 small numbers. */
export const LOAD_SHAPE: Shape = {
  name: "HEARTBEAT load",
  bytesMax: 128,
  top: "map",
  topItemsMax: 8,
  innerItemsMax: 0,
  itemsMax: 8,
  depthMax: 1,
  extensions: false,
};

const LIMITS: Record<keyof SatelliteLoad, number> = {
  inFlight: 1_000_000,
  queued: 1_000_000_000,
  lagMs: 3_600_000,
  errorRate: 1,
};

/** The load in `frame`, or why it is not one (a sentence). Unknown keys are ignored. */
export function parseLoad(frame: Buffer): SatelliteLoad | string {
  const problem = shapeProblem(frame, LOAD_SHAPE);
  if (problem !== null) return problem;
  let raw: unknown;
  try {
    raw = decode(frame);
  } catch {
    return "HEARTBEAT load is not MessagePack";
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || Buffer.isBuffer(raw))
    return "HEARTBEAT load is not a MessagePack map";
  const fields = raw as Record<string, unknown>;
  const load: SatelliteLoad = { inFlight: 0, queued: 0, lagMs: 0, errorRate: 0 };
  for (const key of Object.keys(LIMITS) as Array<keyof SatelliteLoad>) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > LIMITS[key])
      return `HEARTBEAT load: ${key} must be a number in 0..${LIMITS[key]}`;
    load[key] = value;
  }
  return load;
}

/** A dsat satellite's HEARTBEAT with its load (frames after the routing id). */
export function loadHeartbeatFrames(load: SatelliteLoad): Buffer[] {
  return [
    Buffer.alloc(0),
    MDP_WORKER,
    Buffer.from([WorkerCommand.heartbeat]),
    DSAT_MARK,
    encode({
      inFlight: load.inFlight,
      queued: load.queued,
      // Whole milliseconds and 3 decimals: a smaller frame, and nothing a score needs is lost.
      lagMs: Math.round(load.lagMs),
      errorRate: Math.round(load.errorRate * 1000) / 1000,
    }),
  ];
}

/**
 * The orchestrator's HEARTBEAT to a dsat satellite carries the marker: "send your load". A
 * satellite sends its load only to an orchestrator that says so, so a stock 7/MDP broker (which
 * takes a HEARTBEAT with a body as malformed) never gets one.
 */
export function loadWelcomeFrames(): Buffer[] {
  return [EMPTY, MDP_WORKER, COMMAND_HEARTBEAT, DSAT_MARK];
}

/** Shared, never written (as workerCommandFrames' frames): one heartbeat per satellite per period. */
const COMMAND_HEARTBEAT = Buffer.from([WorkerCommand.heartbeat]);
