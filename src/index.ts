// dsat's public API: the library's face.

export * from "./client/index.ts";
export * from "./crush/index.ts";
export {
  ConfigError,
  type JobTypeConfig,
  Orchestrator,
  type OrchestratorConfig,
  resolveConfig,
} from "./orchestrator/index.ts";
export { DEFAULT_LIMITS, ErrorCode, type ErrorCodeName, type Limits } from "./protocol/index.ts";
export * from "./satellite/index.ts";
export * from "./topology/index.ts";
