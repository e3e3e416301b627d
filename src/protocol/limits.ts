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
  /**
   * The heartbeat period of plain 7/MDP workers, which cannot announce theirs (7/MDP's 2500 ms);
   * they are lost after heartbeatLiveness silent periods, and never while working on a job.
   */
  plainHeartbeatMs: number;
  /**
   * Payload bytes of jobs waiting in memory for a free slot of their candidates (the waiting room;
   * a disk spill replaces it); past it, a job that finds its candidates full is refused OVERLOADED.
   */
  waitingBytesMax: number;
  /** Payload bytes of the jobs the orchestrator holds (as accepted); beyond that, DSAT_ERR_OVERLOADED. */
  jobsBytesMax: number;
  /** Payload bytes of one client's jobs in flight; beyond that, DSAT_ERR_OVERLOADED. */
  clientBytesMax: number;
  /** Deadline of a Titanic (9/TSP) request, which waits this long for a worker if it must, ms. */
  titanicTimeoutMs: number;
  /** Satellites registered at once; further READYs are refused. */
  satellitesMax: number;
  /** Largest CRUSH weight a satellite may announce; larger ones are capped to it. */
  satelliteWeightMax: number;
  /** Job types learnt from satellites (topology `dynamicTypes`); beyond that, READY is refused. */
  dynamicTypesMax: number;
  // Checked on the bytes before decoding (shape.ts, input-shapes.ts), so hostile input stays cheap.
  /** Bytes of a dsat request header, an intake header, a control request; larger ones are malformed. */
  headerBytesMax: number;
  /** Bytes of a satellite's REPLY header or READY hello (and of the job header a satellite reads). */
  satelliteHeaderBytesMax: number;
  /** Entries of any header map (a request header uses 4, a hello 10); more are malformed. */
  headerKeysMax: number;
  /** Bytes of a PROGRESS value (nested at most payloadDepthMax); larger ones are malformed. */
  progressBytesMax: number;
  /**
   * Distinct topic prefixes the events socket's subscribers hold together; past it (or past
   * eventSubscriptionBytesMax), every subscriber is dropped and re-subscribes (event-subscriptions.ts).
   */
  eventSubscriptionsMax: number;
  /** Bytes of those distinct prefixes together. */
  eventSubscriptionBytesMax: number;
  /** Inputs one job may name (docs/locality.md); more are refused (DSAT_ERR_MALFORMED). */
  inputsPerJobMax: number;
  /** Replica addresses one input may list. */
  replicasPerInputMax: number;
  /** Bytes of one job's inputs as sent (MessagePack), checked before they are decoded. */
  inputsBytesMax: number;
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
  inFlightPerClientMax: 100_000,
  malformedPerPeerMax: 100,
  malformedWindowMs: 1000,
  peerBlockMs: 10_000,
  plainHeartbeatMs: 2500,
  titanicTimeoutMs: 3_600_000,
  jobsBytesMax: 512 * 1024 * 1024,
  clientBytesMax: 64 * 1024 * 1024,
  waitingBytesMax: 256 * 1024 * 1024,
  satellitesMax: 10_000,
  satelliteWeightMax: 100,
  dynamicTypesMax: 1024,
  headerBytesMax: 4096,
  satelliteHeaderBytesMax: 65_536,
  headerKeysMax: 16,
  progressBytesMax: 16_384,
  eventSubscriptionsMax: 2048,
  eventSubscriptionBytesMax: 256 * 1024,
  inputsPerJobMax: 256,
  replicasPerInputMax: 16,
  inputsBytesMax: 64 * 1024,
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
  if (limits.plainHeartbeatMs < 10) throw new LimitsError("plainHeartbeatMs must be at least 10 ms");
  if (limits.dynamicTypesMax > 60_000) throw new LimitsError("dynamicTypesMax must be at most 60000");
  if (limits.headerBytesMax < 4096)
    throw new LimitsError(
      "headerBytesMax must be at least 4096 bytes (a request header with a 1024-character key takes up to 3.7 KiB)",
    );
  if (limits.satelliteHeaderBytesMax < limits.headerBytesMax)
    throw new LimitsError(
      "satelliteHeaderBytesMax must be at least headerBytesMax (a job header carries the key)",
    );
  if (limits.headerKeysMax < 12)
    throw new LimitsError("headerKeysMax must be at least 12 (a READY hello has 10)");
  if (limits.progressBytesMax < 256) throw new LimitsError("progressBytesMax must be at least 256 bytes");
  return limits;
}
