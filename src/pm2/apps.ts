// The pm2 apps of a topology: one for the orchestrator and one per satellite instance. Pure (a
// topology in, a list of pm2 app declarations out), so ecosystem.config.js, `dsat up` and the tests
// all use the same list.
//
//   dsat-orchestrator          node bin/dsat orchestrator --topology FILE
//   dsat-sat-echo-r1h1         node bin/dsat satellite MODULE --topology FILE --host r1h1 --id echo@r1h1
//
// Apps run in fork mode with `node` as the interpreter: bin/dsat registers tsx itself, so the
// TypeScript sources run without a build step. Processes say `process.send("ready")` once they are
// listening (orchestrator) or registered (satellites), which pm2's wait_ready waits for. SIGTERM
// drains a satellite (finish the jobs in flight, then exit); kill_timeout bounds the drain.
import { resolve } from "node:path";
import {
  loadTopology,
  type SatelliteInstance,
  satelliteInstances,
  type Topology,
  type TopologyOrchestratorNode,
} from "../topology/index.ts";

/** The subset of pm2's app declaration dsat uses (pm2's StartOptions, plain data). */
export interface Pm2App {
  name: string;
  script: string;
  args: string[];
  cwd: string;
  interpreter: "node";
  exec_mode: "fork";
  instances: 1;
  env: Record<string, string>;
  /** ms between SIGTERM and SIGKILL on stop/restart: the satellite's graceful drain. */
  kill_timeout: number;
  kill_signal: "SIGTERM";
  /** Wait for process.send("ready") before counting the app as started... */
  wait_ready: true;
  /** ...but no longer than this (ms). */
  listen_timeout: number;
  autorestart: true;
  /** ms before pm2 starts a process again after it died. */
  restart_delay: number;
  /** A process that dies sooner than this (ms) after starting counts as an unstable restart. */
  min_uptime: number;
  /** pm2 gives up after this many unstable restarts in a row. */
  max_restarts: number;
  /** Prefix log lines with a timestamp (`dsat logs` shows them). */
  time: true;
}

/** pm2 app name of the orchestrator. */
export const ORCHESTRATOR_APP = "dsat-orchestrator";
/** Every dsat app's name starts with this. */
export const APP_PREFIX = "dsat-";
const SATELLITE_PREFIX = "dsat-sat-";

/** pm2 app name of a satellite: `echo@r1h1#2` -> `dsat-sat-echo-r1h1-2` (pm2 names avoid @, #, spaces). */
export function satelliteAppName(id: string): string {
  return `${SATELLITE_PREFIX}${id.replace(/[^A-Za-z0-9_.-]+/g, "-")}`;
}

/** pm2 app name of one node of replicated orchestrators: `dsat-orchestrator-<id>`. */
export function orchestratorNodeAppName(id: string): string {
  return `${ORCHESTRATOR_APP}-${id}`;
}

/** The orchestrator's app, or one of a replicated set's. */
export function isOrchestratorApp(name: string): boolean {
  return name === ORCHESTRATOR_APP || name.startsWith(`${ORCHESTRATOR_APP}-`);
}

export function isDsatApp(name: string): boolean {
  return name.startsWith(APP_PREFIX);
}

export interface AppsOptions {
  /** The repository root (where bin/dsat is). */
  root: string;
  /** Only this host's satellites (one pm2 per machine in multi-host use). */
  host?: string;
  /** Include the orchestrator (default: when no host filter is given). */
  orchestrator?: boolean;
  /** PM2_HOME the apps run under, passed to the orchestrator for its watchdog. */
  pm2Home?: string;
  /** Default 10000. */
  killTimeoutMs?: number;
  /** Default 20000. */
  listenTimeoutMs?: number;
  /** Default 250. */
  restartDelayMs?: number;
  /** Extra environment for every app (the topology's and dsat's variables win). */
  env?: Record<string, string>;
}

const DEFAULTS = { killTimeoutMs: 10_000, listenTimeoutMs: 20_000, restartDelayMs: 250 };

/** One satellite instance and its app, for `dsat status` to join pm2's view with the registry. */
export interface SatelliteApp {
  app: Pm2App;
  instance: SatelliteInstance;
}

/** The orchestrator's app (if asked for) and the satellites' apps, in that order. */
export function buildApps(topology: Topology, options: AppsOptions): Pm2App[] {
  const apps: Pm2App[] = [];
  const includeOrchestrator = options.orchestrator ?? options.host === undefined;
  if (topology.orchestrators !== undefined) {
    // Replicated: one app per node; each serves while it leads (docs/raft.md).
    for (const node of topology.orchestrators) {
      if (!startsNode(node, options)) continue;
      apps.push(
        app(
          options,
          orchestratorNodeAppName(node.id),
          ["orchestrator", "--topology", topology.file, "--node", node.id],
          { DSAT_TOPOLOGY: topology.file, DSAT_NODE: node.id },
        ),
      );
    }
  } else if (includeOrchestrator) {
    apps.push(
      app(options, ORCHESTRATOR_APP, ["orchestrator", "--topology", topology.file], {
        DSAT_TOPOLOGY: topology.file,
        DSAT_WATCHDOG: "1",
        ...(options.pm2Home !== undefined ? { DSAT_PM2_HOME: options.pm2Home } : {}),
      }),
    );
  }
  for (const { app: satellite } of satelliteApps(topology, options)) apps.push(satellite);
  return apps;
}

/**
 * Whether `dsat up` starts this node of replicated orchestrators here: every node without a host
 * filter; with one (DSAT_HOST), the nodes on that host, and with an explicit --orchestrator also
 * those that name no host; none with --no-orchestrator.
 */
function startsNode(node: TopologyOrchestratorNode, options: AppsOptions): boolean {
  if (options.orchestrator === false) return false;
  if (options.host === undefined) return true;
  if (node.host === options.host) return true;
  return options.orchestrator === true && node.host === undefined;
}

/** The satellite apps (of one host when `options.host` is set), with the instance each runs. */
export function satelliteApps(topology: Topology, options: AppsOptions): SatelliteApp[] {
  const nodeHosts = (topology.orchestrators ?? []).flatMap((node) =>
    node.host === undefined ? [] : [node.host],
  );
  if (
    options.host !== undefined &&
    !Object.hasOwn(topology.hosts, options.host) &&
    !nodeHosts.includes(options.host)
  ) {
    const known = [
      ...Object.keys(topology.hosts),
      ...nodeHosts.filter((h) => !Object.hasOwn(topology.hosts, h)),
    ];
    throw new Error(
      `${topology.file}: host "${options.host}" (DSAT_HOST) is not under /hosts nor an orchestrator's host (/orchestrators/N/host): expected one of ${[...new Set(known)].join(", ")}`,
    );
  }
  const seen = new Map<string, string>();
  const result: SatelliteApp[] = [];
  for (const instance of satelliteInstances(topology)) {
    if (options.host !== undefined && instance.host !== options.host) continue;
    const name = satelliteAppName(instance.id);
    const clash = seen.get(name);
    if (clash !== undefined)
      throw new Error(
        `${topology.file}: satellites "${clash}" and "${instance.id}" get the same pm2 name ${name}`,
      );
    seen.set(name, instance.id);
    const location = instance.location.map(([level, value]) => `${level}=${value}`).join(",");
    result.push({
      instance,
      app: app(
        options,
        name,
        [
          "satellite",
          instance.module,
          "--topology",
          topology.file,
          "--host",
          instance.host,
          "--id",
          instance.id,
        ],
        {
          ...instance.env,
          DSAT_TOPOLOGY: topology.file,
          DSAT_SATELLITE_ID: instance.id,
          DSAT_SATELLITE_TYPE: instance.type,
          DSAT_HOST: instance.host,
          DSAT_LOCATION: location,
        },
      ),
    });
  }
  return result;
}

function app(options: AppsOptions, name: string, args: string[], env: Record<string, string>): Pm2App {
  return {
    name,
    script: resolve(options.root, "bin/dsat"),
    args,
    cwd: options.root,
    interpreter: "node",
    exec_mode: "fork",
    instances: 1,
    env: { ...options.env, ...env },
    kill_timeout: options.killTimeoutMs ?? DEFAULTS.killTimeoutMs,
    kill_signal: "SIGTERM",
    wait_ready: true,
    listen_timeout: options.listenTimeoutMs ?? DEFAULTS.listenTimeoutMs,
    autorestart: true,
    restart_delay: options.restartDelayMs ?? DEFAULTS.restartDelayMs,
    min_uptime: 2000,
    max_restarts: 50,
    time: true,
  };
}

/**
 * What ecosystem.config.js yields: the topology from DSAT_TOPOLOGY (default topologies/demo.json,
 * relative to the current directory, else to the repository), the host from DSAT_HOST, and the
 * orchestrator when no host is given or DSAT_ORCHESTRATOR=1.
 */
export function appsFromEnv(env: NodeJS.ProcessEnv, root: string): Pm2App[] {
  const file = env.DSAT_TOPOLOGY || resolve(root, "topologies/demo.json");
  const host = env.DSAT_HOST === undefined || env.DSAT_HOST === "" ? undefined : env.DSAT_HOST;
  const flag = env.DSAT_ORCHESTRATOR;
  const orchestrator = flag === undefined || flag === "" ? undefined : flag === "1" || flag === "true";
  return buildApps(loadTopology(file), {
    root,
    host,
    orchestrator,
    pm2Home: env.DSAT_PM2_HOME ?? env.PM2_HOME,
  });
}
