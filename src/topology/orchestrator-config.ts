// A topology's orchestrator section as the orchestrator's own configuration (OrchestratorConfig):
// its types, limits, security and journal, with the topology's live-config check.
import type { JobTypeConfig, OrchestratorConfig } from "../orchestrator/index.ts";
import { liveConfigProblem } from "./live-config-schema.ts";
import type { Topology } from "./topology.ts";

/** The orchestrator's configuration from a topology. */
export function orchestratorConfig(topology: Topology): OrchestratorConfig {
  const { orchestrator } = topology;
  const types: Record<string, JobTypeConfig> = {};
  for (const [name, type] of Object.entries(topology.types)) {
    types[name] = {
      replicas: type.replicas,
      failureDomain: type.failureDomain,
      rule: type.rule,
      next: type.next,
      timeoutMs: type.timeoutMs,
      attemptsMax: type.attemptsMax,
      overflow: type.overflow,
      runTimeoutMs: type.runTimeoutMs,
    };
  }
  return {
    frontend: orchestrator.frontend,
    intake: orchestrator.intake,
    events: orchestrator.events,
    control: orchestrator.control,
    ...(orchestrator.insecureControl !== undefined ? { insecureControl: orchestrator.insecureControl } : {}),
    hierarchy: topology.hierarchy,
    types,
    dynamicTypes: orchestrator.dynamicTypes ?? false,
    tracker: orchestrator.tracker,
    ...(orchestrator.scores !== undefined ? { scores: orchestrator.scores } : {}),
    ...(topology.locality !== undefined ? { locality: topology.locality } : {}),
    liveConfigCheck: liveConfigProblem,
    ...(orchestrator.journal !== undefined ? { journal: orchestrator.journal } : {}),
    ...(orchestrator.diskSpill !== undefined ? { diskSpill: orchestrator.diskSpill } : {}),
    ...(orchestrator.security !== undefined
      ? {
          security: {
            serverKey: orchestrator.security.serverKey,
            adminKeysDir: orchestrator.security.admins,
            clientKeysDir: orchestrator.security.clients,
            satelliteKeysDir: orchestrator.security.satellites,
            satelliteTypes: orchestrator.security.satelliteTypes,
          },
        }
      : {}),
    limits: {
      satelliteWeightMax: defaultWeightMax(topology),
      ...orchestrator.limits,
      ...(orchestrator.heartbeatMs !== undefined ? { heartbeatMs: orchestrator.heartbeatMs } : {}),
    },
  };
}

/**
 * The largest weight a satellite may announce, unless the topology says: 100 times the median of
 * the weights it gives its types (1 each by default), so one READY cannot claim the whole map.
 */
function defaultWeightMax(topology: Topology): number {
  const weights = Object.values(topology.types)
    .map((type) => type.weight ?? 1)
    .sort((a, b) => a - b);
  const median = weights.length === 0 ? 1 : weights[Math.floor(weights.length / 2)];
  return Math.max(1, Math.ceil(100 * median));
}
