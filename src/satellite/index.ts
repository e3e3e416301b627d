export { MDP_WORKERS_PER_TYPE_MAX, MdpSatelliteRuntime } from "./mdp-satellite.ts";
export {
  defineSatellite,
  type JobContext,
  NonRetryableError,
  runSatellite,
  type SatelliteDefinition,
  type SatelliteOptions,
  SatelliteRuntime,
} from "./satellite.ts";
