// `dsat status`: pm2's view of the apps (online, restarts, memory, pid) joined with the
// orchestrator's (registered, in flight, done, breakers, per-type stats). Either side may be
// missing: no pm2 daemon (satellites started by hand) or no orchestrator answering.
import { connectAddress, controlRequest } from "../client/index.ts";
import { curveFromEnv, loadTopology } from "../topology/index.ts";
import { ORCHESTRATOR_APP, orchestratorNodeAppName, satelliteApps } from "./apps.ts";
import { daemonRunning, type Pm2Process, pm2Home, REPO_ROOT } from "./client.ts";
import { list } from "./manage.ts";
import { type WatchdogRestart, watchdogRestarts } from "./watchdog.ts";

/** The orchestrator's control `status` reply. */
export interface OrchestratorStatus {
  jobs: { inFlight: number; waiting: number };
  satellites: Array<Record<string, unknown> & { id: string }>;
  stats: Record<string, Record<string, number>>;
  tracker: Record<string, unknown> & { breakersOpen?: string[] };
  counters: Record<string, number>;
  /** null without a journal (docs/journal.md). */
  journal?: {
    dir?: string;
    committedSeq: number;
    sizeBytes: number;
    finishedKept: number;
    recovered: number;
    error?: string;
  } | null;
  diskSpill?: { jobs: number; bytes: number } | null;
}

export interface SatelliteStatus {
  id: string;
  type: string | undefined;
  host: string | undefined;
  /** The pm2 app name (for satellites of the topology). */
  app: string | undefined;
  /** pm2's view, when the app runs under pm2. */
  pm2: Pm2Process | undefined;
  /** The orchestrator's registry entry, when registered. */
  registry: (Record<string, unknown> & { id: string }) | undefined;
  breakerOpen: boolean;
}

export interface DsatStatus {
  topology: string;
  pm2: { home: string; running: boolean; error?: string };
  /** pm2's view of the orchestrator app. */
  orchestratorApp: Pm2Process | undefined;
  /** Replicated orchestrators: each node's pm2 app (empty for one orchestrator). */
  orchestratorNodes: Array<{ id: string; app: string; pm2: Pm2Process | undefined }>;
  /** The control socket's status reply; null when it did not answer. */
  orchestrator: OrchestratorStatus | null;
  orchestratorError?: string;
  /** The topology's satellites, then any other registered ones. */
  satellites: SatelliteStatus[];
  /** dsat apps under pm2 that are not part of this topology. */
  otherApps: Pm2Process[];
  /** The watchdog's latest restarts. */
  watchdog: WatchdogRestart[];
}

export async function gatherStatus(
  topologyFile: string,
  options: { home?: string; timeoutMs?: number } = {},
): Promise<DsatStatus> {
  const home = options.home ?? pm2Home();
  const topology = loadTopology(topologyFile);
  const [pm2Side, orchestratorSide] = await Promise.all([
    (async () => {
      if (!(await daemonRunning(home))) return { running: false, processes: [] as Pm2Process[] };
      try {
        return { running: true, processes: await list({ home }) };
      } catch (error) {
        return { running: true, processes: [] as Pm2Process[], error: (error as Error).message };
      }
    })(),
    (async () => {
      const control = topology.orchestrator.control;
      if (control === undefined)
        return { status: null, error: `${topology.file}: no /orchestrator/control endpoint` };
      try {
        const reply = (await controlRequest(
          connectAddress(control),
          "status",
          options.timeoutMs ?? 1500,
          curveFromEnv(topology),
        )) as (OrchestratorStatus & { ok?: boolean; error?: string }) | undefined;
        if (reply === undefined || reply.ok === false)
          return { status: null, error: reply?.error ?? "no reply" };
        return { status: reply as OrchestratorStatus, error: undefined };
      } catch (error) {
        return { status: null, error: (error as Error).message };
      }
    })(),
  ]);
  const byName = new Map(pm2Side.processes.map((p) => [p.name, p]));
  const registry = new Map((orchestratorSide.status?.satellites ?? []).map((s) => [s.id, s]));
  const breakers = new Set(orchestratorSide.status?.tracker.breakersOpen ?? []);
  const satellites: SatelliteStatus[] = [];
  const known = new Set<string>([ORCHESTRATOR_APP]);
  for (const node of topology.orchestrators ?? []) known.add(orchestratorNodeAppName(node.id));
  for (const { app, instance } of satelliteApps(topology, { root: REPO_ROOT })) {
    known.add(app.name);
    satellites.push({
      id: instance.id,
      type: instance.type,
      host: instance.host,
      app: app.name,
      pm2: byName.get(app.name),
      registry: registry.get(instance.id),
      breakerOpen: breakers.has(instance.id),
    });
    registry.delete(instance.id);
  }
  for (const [id, entry] of registry) {
    satellites.push({
      id,
      type: Array.isArray(entry.types) ? entry.types.join(",") : undefined,
      host: undefined,
      app: undefined,
      pm2: undefined,
      registry: entry,
      breakerOpen: breakers.has(id),
    });
  }
  return {
    topology: topology.file,
    pm2: { home, running: pm2Side.running, ...("error" in pm2Side ? { error: pm2Side.error } : {}) },
    orchestratorApp: byName.get(ORCHESTRATOR_APP),
    orchestratorNodes: (topology.orchestrators ?? []).map((node) => ({
      id: node.id,
      app: orchestratorNodeAppName(node.id),
      pm2: byName.get(orchestratorNodeAppName(node.id)),
    })),
    orchestrator: orchestratorSide.status,
    ...(orchestratorSide.error !== undefined ? { orchestratorError: orchestratorSide.error } : {}),
    satellites,
    otherApps: pm2Side.processes.filter((p) => !known.has(p.name)),
    watchdog: watchdogRestarts(home, 5),
  };
}
