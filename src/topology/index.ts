export { curveFromEnv } from "./curve.ts";
export {
  type CheckReport,
  formatCheck,
  formatShow,
  type TypeReport,
  typeReport,
} from "./report.ts";
export { parseRuleText, RuleTextError } from "./rule-text.ts";
export { SCHEMA_FILE, schemaProblem } from "./schema.ts";
export {
  hostLocation,
  loadTopology,
  orchestratorConfig,
  parseTopology,
  type SatelliteInstance,
  satelliteInstances,
  spreadOrder,
  type Topology,
  TopologyError,
  type TopologyType,
  typeMap,
} from "./topology.ts";
