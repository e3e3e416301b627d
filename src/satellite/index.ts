export {
  defineSatellite,
  type JobContext,
  NonRetryableError,
  runSatellite,
  type SatelliteDefinition,
  type SatelliteOptions,
  SatelliteRuntime,
} from "./satellite.ts";
