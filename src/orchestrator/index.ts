export {
  ConfigError,
  type DiskSpillConfig,
  type JobTypeConfig,
  type JournalConfig,
  type OrchestratorConfig,
  type OverflowPolicy,
  resolveConfig,
} from "./config.ts";
export type { JobSummary } from "./job.ts";
export { type LocalityConfig, type ResolvedLocality, resolveLocality } from "./locality-config.ts";
export { Orchestrator } from "./orchestrator.ts";
export { buildMap, type PlacementMember, TypePlacement } from "./placement.ts";
export { encodeBatch, ReplicatedBook } from "./replicated/book.ts";
export {
  OrchestratorNode,
  type OrchestratorNodeOptions,
  type OrchestratorNodeStatus,
} from "./replicated/node.ts";
export { classifyLiveKey, type LiveKey } from "./router/live-config.ts";
export { JobRouter, tickPeriodMs } from "./router/router.ts";
export type { RouterEffect, RouterEvent, RouterPorts, RouterStatus } from "./router/types.ts";
export type { ResolvedScores, ScoresConfig, ScoreWeights } from "./scores-config.ts";
export { WaitingRoom } from "./waiting-room.ts";
