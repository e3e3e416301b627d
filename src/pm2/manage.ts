// `dsat up / down / logs` as functions: bring a topology's apps up under pm2 (a project-local
// PM2_HOME by default), take them down, read their logs.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { connectAddress, controlRequest } from "../client/index.ts";
import type { CurveOptions } from "../security/index.ts";
import { curveFromEnv, loadTopology, type Topology } from "../topology/index.ts";
import {
  buildApps,
  isDsatApp,
  isOrchestratorApp,
  ORCHESTRATOR_APP,
  type Pm2App,
  satelliteAppName,
} from "./apps.ts";
import { daemonRunning, Pm2Client, type Pm2Process, pm2Home, REPO_ROOT, withPm2 } from "./client.ts";

export interface Pm2Options {
  /** PM2_HOME (default: pm2Home(), i.e. DSAT_PM2_HOME or <repo>/.pm2). */
  home?: string;
}

export interface UpOptions extends Pm2Options {
  /** Only this host's satellites (default: every host). */
  host?: string;
  /** Include the orchestrator (default: when no host is given). */
  orchestrator?: boolean;
  /** How long to wait for every app to be online and every satellite registered (default 60 s). */
  timeoutMs?: number;
  /** Overrides for the app declarations (tests shorten kill_timeout etc.). */
  apps?: {
    killTimeoutMs?: number;
    listenTimeoutMs?: number;
    restartDelayMs?: number;
    env?: Record<string, string>;
  };
}

export interface UpResult {
  home: string;
  topology: Topology;
  /** Apps started now. */
  started: string[];
  /** Apps that were online already and were left alone. */
  alreadyOnline: string[];
  /** dsat apps of some other topology, deleted. */
  removed: string[];
  /** The apps of this topology (and host), as pm2 sees them once up. */
  processes: Pm2Process[];
  /** Satellite ids the orchestrator has registered (empty when it cannot be asked). */
  registered: string[];
  /** Satellite ids started here that did not register before the timeout. */
  missing: string[];
  /** Why registrations were not checked (a secured topology without $DSAT_KEY), else undefined. */
  unchecked?: string;
}

/**
 * Starts the topology's apps under pm2 (the daemon too, if needed) and waits until they are
 * online and, when the orchestrator answers on its control socket, every satellite registered.
 * Apps already online are left alone; stopped or errored ones are started again; dsat apps that
 * are not part of this topology are deleted.
 */
export async function up(topologyFile: string, options: UpOptions = {}): Promise<UpResult> {
  const home = options.home ?? pm2Home();
  const topology = loadTopology(topologyFile);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const apps = buildApps(topology, {
    root: REPO_ROOT,
    host: options.host,
    orchestrator: options.orchestrator,
    pm2Home: home,
    ...options.apps,
  });
  const everyName = new Set(buildApps(topology, { root: REPO_ROOT, orchestrator: true }).map((a) => a.name));
  process.env.PM2_CONCURRENT_ACTIONS ??= "4";
  const client = (await Pm2Client.connect(home)) as Pm2Client;
  try {
    const existing = new Map((await client.list()).map((p) => [p.name, p]));
    const removed = [...existing.keys()].filter((name) => isDsatApp(name) && !everyName.has(name));
    await deleteInOrder(client, removed);
    const started: string[] = [];
    const alreadyOnline: string[] = [];
    const toStart: Pm2App[] = [];
    for (const app of apps) {
      const current = existing.get(app.name);
      if (current?.status === "online") {
        alreadyOnline.push(app.name);
        continue;
      }
      if (current !== undefined) await client.delete(app.name);
      toStart.push(app);
      started.push(app.name);
    }
    // The orchestrator first, so satellites find it listening when they start.
    const orchestrator = toStart.filter((app) => isOrchestratorApp(app.name));
    await client.start(orchestrator);
    await client.start(toStart.filter((app) => !isOrchestratorApp(app.name)));
    const wanted = new Set(apps.map((app) => app.name));
    let processes: Pm2Process[] = [];
    await until(deadline, async () => {
      processes = (await client.list()).filter((p) => wanted.has(p.name));
      return processes.length === wanted.size && processes.every((p) => p.status === "online");
    });
    const notOnline = apps.filter(
      (app) => !processes.some((p) => p.name === app.name && p.status === "online"),
    );
    if (notOnline.length > 0) {
      throw new Error(
        `pm2 (home ${home}): not online after ${timeoutMs} ms: ${notOnline.map((a) => a.name).join(", ")}; see \`dsat logs\``,
      );
    }
    const satelliteIds = apps.flatMap((app) =>
      app.env.DSAT_SATELLITE_ID ? [app.env.DSAT_SATELLITE_ID] : [],
    );
    let registered: string[] = [];
    const control = topology.orchestrator.control;
    // A secured control socket answers only allowed keys: without one, say so instead of waiting.
    let curve: CurveOptions | undefined;
    let unchecked: string | undefined;
    try {
      curve = curveFromEnv(topology);
    } catch (error) {
      unchecked = (error as Error).message;
    }
    if (control !== undefined && satelliteIds.length > 0 && unchecked === undefined) {
      await until(deadline, async () => {
        registered = await registeredSatellites(topology, 1000, curve).catch(() => registered);
        return satelliteIds.every((id) => registered.includes(id));
      });
    }
    const missing =
      control === undefined || unchecked !== undefined
        ? []
        : satelliteIds.filter((id) => !registered.includes(id));
    return { home, topology, started, alreadyOnline, removed, processes, registered, missing, unchecked };
  } finally {
    client.disconnect();
  }
}

/** Ids the orchestrator has registered, sorted (throws when its control socket does not answer). */
export async function registeredSatellites(
  topology: Topology,
  timeoutMs = 3000,
  curve: CurveOptions | undefined = curveFromEnv(topology),
): Promise<string[]> {
  const control = topology.orchestrator.control;
  if (control === undefined) return [];
  const reply = (await controlRequest(connectAddress(control), "satellites", timeoutMs, curve)) as {
    satellites?: Array<{ id: string }>;
  };
  return (reply.satellites ?? []).map((s) => s.id).sort();
}

async function until(deadline: number, check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    if (Date.now() >= deadline) return;
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** Satellites first (they drain and say goodbye to the orchestrator), then the orchestrator. */
async function deleteInOrder(client: Pm2Client, names: string[]): Promise<void> {
  await Promise.all(names.filter((n) => !isOrchestratorApp(n)).map((name) => client.delete(name)));
  await Promise.all(names.filter((n) => isOrchestratorApp(n)).map((name) => client.delete(name)));
}

export interface DownResult {
  home: string;
  /** Apps deleted (satellites drained first, then the orchestrator). */
  deleted: string[];
  /** false when no daemon ran, or when apps other than dsat's still run under this home. */
  daemonKilled: boolean;
}

/**
 * Deletes the dsat apps (those of `topologyFile` when given, else every `dsat-*` app) and, when no
 * other app is left, kills this PM2_HOME's daemon. Does nothing when no daemon runs.
 */
export async function down(topologyFile?: string, options: Pm2Options = {}): Promise<DownResult> {
  const home = options.home ?? pm2Home();
  const names =
    topologyFile === undefined
      ? null
      : new Set(
          buildApps(loadTopology(topologyFile), { root: REPO_ROOT, orchestrator: true }).map((a) => a.name),
        );
  const client = await Pm2Client.connect(home, { spawnDaemon: false });
  if (client === null) return { home, deleted: [], daemonKilled: false };
  try {
    const all = await client.list();
    const deleted = all
      .map((p) => p.name)
      .filter((name) => isDsatApp(name) && (names === null || names.has(name)));
    await deleteInOrder(client, deleted);
    const others = all.filter((p) => !deleted.includes(p.name));
    if (others.length > 0) return { home, deleted, daemonKilled: false };
    await client.killDaemon();
    return { home, deleted, daemonKilled: true };
  } finally {
    client.disconnect();
  }
}

/** The dsat apps under pm2 ([] when no daemon runs; never starts one). */
export async function list(options: Pm2Options = {}): Promise<Pm2Process[]> {
  const home = options.home ?? pm2Home();
  const processes = await withPm2(home, (client) => client.list(), { spawnDaemon: false });
  return (processes ?? []).filter((p) => isDsatApp(p.name));
}

/** Restarts one app gracefully (`name` is an app name or a satellite id). */
export async function restart(name: string, options: Pm2Options = {}): Promise<void> {
  const home = options.home ?? pm2Home();
  const app = appNameOf(name);
  const done = await withPm2(home, (client) => client.restart(app).then(() => true), { spawnDaemon: false });
  if (done === null) throw new Error(`no pm2 daemon runs under ${home} (try \`dsat up\`)`);
}

/** An app name from an app name or a satellite id (`echo@r1h1` -> `dsat-sat-echo-r1h1`). */
export function appNameOf(nameOrId: string): string {
  if (nameOrId === "orchestrator") return ORCHESTRATOR_APP;
  return isDsatApp(nameOrId) ? nameOrId : satelliteAppName(nameOrId);
}

export interface LogLine {
  app: string;
  stream: "out" | "error";
  line: string;
}

const LOG_FILE = /^(dsat-.+)-(out|error)(?:-(\d+))?\.log$/;

/**
 * The last `lines` lines of each dsat app's stdout and stderr logs (of app `name` only, when
 * given: an app name, a satellite id, or "orchestrator"), oldest first. Works with the daemon down
 * too: it then reads the newest log files under PM2_HOME/logs.
 */
export async function logs(
  name: string | undefined,
  lines = 20,
  options: Pm2Options = {},
): Promise<LogLine[]> {
  const home = options.home ?? pm2Home();
  const only = name === undefined ? undefined : appNameOf(name);
  const files: Array<{ app: string; stream: "out" | "error"; file: string }> = [];
  const running = (await daemonRunning(home)) ? await list({ home }) : [];
  for (const p of running) {
    if (only !== undefined && p.name !== only) continue;
    if (p.outLog !== undefined) files.push({ app: p.name, stream: "out", file: p.outLog });
    if (p.errLog !== undefined) files.push({ app: p.name, stream: "error", file: p.errLog });
  }
  const dir = join(home, "logs");
  if (existsSync(dir)) {
    // Apps not under pm2 any more: their newest log files.
    const newest = new Map<string, { file: string; mtime: number }>();
    for (const entry of readdirSync(dir)) {
      const match = LOG_FILE.exec(entry);
      if (match === null) continue;
      const [, app, stream] = match;
      if (running.some((p) => p.name === app) || (only !== undefined && app !== only)) continue;
      const file = join(dir, entry);
      const mtime = statSync(file).mtimeMs;
      const key = `${app}\0${stream}`;
      if ((newest.get(key)?.mtime ?? -1) < mtime) newest.set(key, { file, mtime });
    }
    for (const [key, { file }] of newest) {
      const [app, stream] = key.split("\0");
      files.push({ app, stream: stream as "out" | "error", file });
    }
  }
  const result: Array<LogLine & { order: number }> = [];
  let order = 0;
  for (const { app, stream, file } of files) {
    for (const line of tailLines(file, lines)) result.push({ app, stream, line, order: order++ });
  }
  // pm2 prefixes lines with an ISO time (`time: true`): merge the files by it.
  result.sort((a, b) => {
    const byTime = timeOf(a.line).localeCompare(timeOf(b.line));
    return byTime !== 0 ? byTime : a.order - b.order;
  });
  return result.map(({ app, stream, line }) => ({ app, stream, line }));
}

function timeOf(line: string): string {
  return /^\d{4}-\d\d-\d\dT[\d:.]+/.exec(line)?.[0] ?? "";
}

/** The last `count` lines of a file (reads at most its last 4 MB). */
export function tailLines(file: string, count: number): string[] {
  if (count <= 0 || !existsSync(file)) return [];
  const size = statSync(file).size;
  const length = Math.min(size, 4 * 1024 * 1024);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString("utf8");
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  if (length < size) all.shift(); // a partial first line
  return all.slice(-count);
}
