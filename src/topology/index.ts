export {
  hostLocation,
  loadTopology,
  orchestratorConfig,
  parseTopology,
  type SatelliteInstance,
  satelliteInstances,
  type Topology,
  TopologyError,
  type TopologyType,
} from "./topology.ts";
