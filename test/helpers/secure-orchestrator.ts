// A CURVE orchestrator for security tests: free endpoints for every socket (frontend, intake,
// events, control), security over a TestKeys directory, every event it publishes kept in order,
// and satellites started with a key from the same directory. stop() ends the satellites, then the
// orchestrator.
import type { OrchestratorEvent } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import {
  runSatellite,
  type SatelliteDefinition,
  type SatelliteOptions,
  type SatelliteRuntime,
} from "../../src/satellite/index.ts";
import type { TestKeys } from "./curve-keys.ts";
import { freeEndpoints } from "./ports.ts";

export interface SecureOrchestrator {
  readonly orchestrator: Orchestrator;
  readonly frontend: string;
  readonly intake: string;
  readonly events: string;
  readonly control: string;
  /** Every event published (as onEvent hands them over), oldest first. */
  readonly published: OrchestratorEvent[];
  /** Starts a satellite with key `keyName` (returned at once, not when registered). */
  satellite(
    definition: SatelliteDefinition,
    id: string,
    keyName: string,
    options?: Partial<SatelliteOptions>,
  ): Promise<SatelliteRuntime>;
  /** Ids of the registered satellites. */
  registered(): string[];
  stop(): Promise<void>;
}

/**
 * Starts an orchestrator with `security: keys.security(security)` on free loopback endpoints;
 * `config` adds to (or overrides) them. Defaults: hierarchy ["host"], heartbeatMs 200, no log.
 */
export async function startSecureOrchestrator(
  keys: TestKeys,
  config: Partial<Omit<OrchestratorConfig, "security">> = {},
  security: Partial<NonNullable<OrchestratorConfig["security"]>> = {},
): Promise<SecureOrchestrator> {
  const [frontend, intake, events, control] = await freeEndpoints(4);
  const orchestrator = new Orchestrator({
    frontend,
    intake,
    events,
    control,
    hierarchy: ["host"],
    log: () => {},
    ...config,
    limits: { heartbeatMs: 200, ...config.limits },
    security: keys.security(security),
  });
  const published: OrchestratorEvent[] = [];
  orchestrator.onEvent((topic, event) => published.push({ ...event, topic }));
  await orchestrator.start();
  const satellites: SatelliteRuntime[] = [];
  return {
    orchestrator,
    frontend,
    intake,
    events,
    control,
    published,
    async satellite(definition, id, keyName, options = {}) {
      const runtime = await runSatellite(definition, {
        endpoint: frontend,
        id,
        heartbeatMs: 200,
        reconnectMs: 100,
        reconnectMaxMs: 500,
        curve: keys.curve(keyName),
        log: () => {},
        ...options,
        protocol: "dsat",
      });
      satellites.push(runtime);
      return runtime;
    },
    registered: () => orchestrator.status().satellites.map((entry) => String(entry.id)),
    async stop() {
      for (const runtime of satellites.splice(0)) await runtime.stop();
      await orchestrator.stop();
    },
  };
}
