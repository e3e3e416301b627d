export { MDP_WORKERS_PER_TYPE_MAX, MdpSatelliteRuntime } from "./mdp-satellite.ts";
export { runSatellite } from "./run.ts";
export {
  defineSatellite,
  type JobContext,
  NonRetryableError,
  type SatelliteDefinition,
  type SatelliteOptions,
  SatelliteRuntime,
} from "./satellite.ts";
