export { type CandidateSample, sampleCandidates, whyNoCandidates } from "./candidates.ts";
export { curveFromEnv } from "./curve.ts";
export { type JsonFileError, parseJsonText, readJsonFile } from "./json-file.ts";
export { loadTopology, parseTopology } from "./load-topology.ts";
export { orchestratorConfig } from "./orchestrator-config.ts";
export { nodeOrchestratorConfig, type TopologyOrchestratorNode } from "./orchestrators.ts";
export {
  checkPlacements,
  declaredSatellites,
  type LiveSatellite,
  type PlacementVerdict,
  type TypePlacementCheck,
} from "./placement-check.ts";
export {
  changedFleet,
  type FleetChange,
  type FleetSatellite,
  type KeyMove,
  NO_CHANGE,
  planRebalance,
  type TypeRebalance,
  targets,
} from "./rebalance.ts";
export {
  type CheckProblem,
  type CheckReport,
  type CheckResult,
  checkTopology,
  formatCheck,
  formatShow,
  missingFiles,
  type TypeReport,
  topologyWarnings,
  typeReport,
} from "./report.ts";
export { parseRuleText, RuleTextError } from "./rule-text.ts";
export { hostLocation, satelliteInstances, spreadOrder } from "./satellite-instances.ts";
export { liveKeyPath, saveLiveSetting } from "./save-setting.ts";
export {
  escapePointer,
  SCHEMA_FILE,
  type SchemaCheck,
  type SchemaProblem,
  schemaChecker,
  schemaProblem,
} from "./schema.ts";
export {
  type SatelliteInstance,
  serverPublicKeyFile,
  type Topology,
  TopologyError,
  type TopologyType,
} from "./topology.ts";
export { typeMap, typePlacement } from "./type-placement.ts";
