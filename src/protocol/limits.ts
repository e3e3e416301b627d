// Every bound of the wire protocol and the orchestrator, with its unit and default, in one table.
// `validateLimits` fills defaults and rejects bad combinations in sentences.

export interface Limits {
  /** Largest message (all frames) the orchestrator accepts; larger ones get DSAT_ERR_TOO_LARGE. */
  messageBytesMax: number;
  /** Frames per message; more are malformed. */
  framesMax: number;
  /** Application heartbeat period, both ways (MDP's default is 2500). */
  heartbeatMs: number;
  /** Missed heartbeat periods before a peer is declared dead (MDP's liveness). */
  heartbeatLiveness: number;
  /** Jobs waiting for one satellite when it is at capacity. */
  satelliteQueueMax: number;
  /** Jobs the orchestrator holds at once (in flight + queued); beyond that, DSAT_ERR_OVERLOADED. */
  jobsMax: number;
  /** How long a job for a known type waits for a satellite to register before DSAT_ERR_NO_SATELLITE. */
  noSatelliteWaitMs: number;
  /** Default client deadline when a request names none. */
  requestTimeoutMs: number;
  /** Job types one satellite may announce. */
  typesPerSatelliteMax: number;
  /** Placements cached per map epoch (type, x -> candidates). */
  placementCacheMax: number;
  /** Nesting of MessagePack payloads (arrays, maps) anything decodes; deeper ones are refused. */
  payloadDepthMax: number;
  /** Jobs one client (routing id) may have in flight; beyond that, DSAT_ERR_OVERLOADED. */
  inFlightPerClientMax: number;
  /** Malformed messages one frontend peer may send per `malformedWindowMs` before it is blocked. */
  malformedPerPeerMax: number;
  malformedWindowMs: number;
  /** How long a blocked peer's messages are dropped unparsed. */
  peerBlockMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  messageBytesMax: 1024 * 1024,
  framesMax: 64,
  heartbeatMs: 2500,
  heartbeatLiveness: 3,
  satelliteQueueMax: 1000,
  jobsMax: 200_000,
  noSatelliteWaitMs: 5000,
  requestTimeoutMs: 30_000,
  typesPerSatelliteMax: 64,
  placementCacheMax: 100_000,
  payloadDepthMax: 64,
  inFlightPerClientMax: 10_000,
  malformedPerPeerMax: 100,
  malformedWindowMs: 1000,
  peerBlockMs: 10_000,
};

export class LimitsError extends Error {
  override name = "LimitsError";
}

export function validateLimits(partial: Partial<Limits> = {}): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new LimitsError(`limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.messageBytesMax < 1024) throw new LimitsError("messageBytesMax must be at least 1024 bytes");
  if (limits.framesMax < 8) throw new LimitsError("framesMax must be at least 8 (an MDP worker reply has 6)");
  if (limits.heartbeatMs < 10) throw new LimitsError("heartbeatMs must be at least 10 ms");
  return limits;
}
