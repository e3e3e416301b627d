// A router alone, in process, for the tools that measure its CPU and memory per job (cost.ts,
// heap-jobs.ts): large limits, no sockets, the ports a shell would give it.
import { randomBytes } from "node:crypto";
import { JobRouter, type JobTypeConfig, resolveConfig, WaitingRoom } from "../../src/orchestrator/index.ts";

export function inProcessRouter(types: Record<string, JobTypeConfig>): JobRouter {
  const config = resolveConfig({
    frontend: "tcp://127.0.0.1:1",
    hierarchy: ["rack", "host"],
    types,
    limits: {
      heartbeatMs: 1000,
      jobsMax: 500_000,
      satelliteQueueMax: 200_000,
      inFlightPerClientMax: 500_000,
    },
    log: () => {},
  });
  return new JobRouter(config, {
    random: Math.random,
    randomBytes,
    instance: "bench",
    peerBacklogBytes: () => 0,
    spill: new WaitingRoom(config.limits.waitingBytesMax),
    curve: () => null,
  });
}
