// Small pieces of the simulation: the orchestrator's config as simulated, load curves, sampling
// intervals, names.
import type { OrchestratorConfig } from "../orchestrator/index.ts";
import { orchestratorConfig, type Topology } from "../topology/index.ts";
import type { Scenario } from "./scenario.ts";

/** The orchestrator's config from the topology, as the simulation runs it (docs/simulate.md). */
export function simulatedConfig(topology: Topology, scenario: Scenario): OrchestratorConfig {
  const config = orchestratorConfig(topology);
  // No CURVE handshake, no files: security and the disk spill are left out (the waiting room
  // holds what would spill); the journal is kept and its commits take commitMs.
  const { security: _security, diskSpill: _spill, ...rest } = config;
  // Several orchestrators: their endpoints are lists (every node's); no socket is bound here.
  const endpoints =
    topology.orchestrators === undefined
      ? {}
      : {
          frontend: topology.orchestrators[0].frontend,
          intake: undefined,
          events: undefined,
          control: undefined,
        };
  return {
    ...rest,
    ...endpoints,
    log: () => {},
    tracker: { ...config.tracker, ...(scenario.orchestrator?.tracker ?? {}) },
    limits: { ...config.limits, ...(scenario.orchestrator?.limits ?? {}) },
  };
}

/** The curve's factor at `atMs` (linear between points; 1 without a curve). */
export function factorAt(curve: Array<[number, number]> | undefined, atMs: number): number {
  if (curve === undefined || curve.length === 0) return 1;
  if (atMs <= curve[0][0]) return curve[0][1];
  for (let i = 1; i < curve.length; i++) {
    const [t1, f1] = curve[i];
    if (atMs <= t1) {
      const [t0, f0] = curve[i - 1];
      return t1 === t0 ? f1 : f0 + ((f1 - f0) * (atMs - t0)) / (t1 - t0);
    }
  }
  return curve[curve.length - 1][1];
}

export function splitToken(token: string): [string, number] {
  const cut = token.lastIndexOf("#");
  return [token.slice(0, cut), Number(token.slice(cut + 1))];
}

/** 1, 2 or 5 times a power of ten, at least `ms`. */
export function niceInterval(ms: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, ms)));
  for (const step of [1, 2, 5, 10]) if (step * power >= ms) return step * power;
  return 10 * power;
}

export function baseName(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}
