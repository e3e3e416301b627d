// Prometheus metrics of a running orchestrator, served on /metrics (docs/observability.md).
export {
  type AddressReach,
  checkMetricsReach,
  type MetricsAddress,
  MetricsError,
  parseMetricsAddress,
} from "./address.ts";
export type { MetricDefinition } from "./definition.ts";
export { EVENT_KEYS_MAX, EventCounts } from "./event-counts.ts";
export { NodeMetrics, type ServedOrchestrator } from "./node-metrics.ts";
export {
  type MetricsOptions,
  type MetricsSourceConfig,
  OrchestratorMetrics,
} from "./orchestrator-metrics.ts";
export { RAFT_HEALTHS, RAFT_ROLES, type RaftNodeStatus, type RaftStatusSource } from "./raft-metrics.ts";
export type { MetricsSource, OrchestratorStatus } from "./scrape-view.ts";
export {
  MetricsServer,
  type MetricsServerOptions,
  type MetricsTarget,
  type Scrapeable,
  startMetrics,
} from "./server.ts";
export { BASE_TOPICS, parseTopic } from "./topics.ts";
