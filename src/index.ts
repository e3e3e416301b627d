// dsat's public API: the library's face.

export * from "./client/index.ts";
export * from "./crush/index.ts";
export {
  ConfigError,
  JobRouter,
  type JobTypeConfig,
  Orchestrator,
  type OrchestratorConfig,
  type RouterEffect,
  type RouterEvent,
  type RouterPorts,
  resolveConfig,
} from "./orchestrator/index.ts";
export {
  DEFAULT_LIMITS,
  ERROR_CATALOGUE,
  ErrorCode,
  type ErrorCodeName,
  isRetryableError,
  type Limits,
} from "./protocol/index.ts";
/** The pure Raft core (docs/raft.md): not wired into the orchestrator yet. */
export * as raft from "./raft/index.ts";
export * from "./satellite/index.ts";
export * from "./topology/index.ts";
