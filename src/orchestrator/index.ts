export {
  ConfigError,
  type JobTypeConfig,
  type OrchestratorConfig,
  type OverflowPolicy,
  resolveConfig,
} from "./config.ts";
export { Orchestrator } from "./orchestrator.ts";
export { buildMap, type PlacementMember, TypePlacement } from "./placement.ts";
