// `dsat dashboard`: a live web page of one orchestrator's fleet (docs/observability.md, "Dashboard").
export { Aggregator, type AggregatorOptions, splitJobTopic } from "./aggregator.ts";
export { Dashboard, type DashboardOptions, DEFAULT_LISTEN, startDashboard } from "./dashboard.ts";
export { type JobEvent, JobRing, type JobRingOptions } from "./job-ring.ts";
export { type LatencyTotals, LatencyWindow, latencyTotals } from "./latency-window.ts";
export { checkListenReach, DashboardError, type ListenAddress, parseListen } from "./listen.ts";
export type * from "./model.ts";
export {
  type OrchestratorNodeEndpoint,
  orchestratorRow,
  pollOrchestratorNodes,
} from "./orchestrator-nodes.ts";
export { type AdminAction, parseAction, TOKEN_HEADER } from "./server.ts";
export { EVENT_PREFIXES } from "./sources.ts";
export { buildTree, NO_LOCATION } from "./tree.ts";
