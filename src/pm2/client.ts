// A small promise wrapper over pm2's programmatic API, bound to one PM2_HOME.
//
// pm2 keeps its paths (sockets, logs, pids) in a module-level object filled from
// process.env.PM2_HOME when it is first required, and `new pm2.custom({ pm2_home })` rewrites that
// object. The daemon it spawns gets `{ PM2_HOME: home, ...process.env }`, so an inherited
// PM2_HOME would win over the option. So: set process.env.PM2_HOME first, then require pm2 (or,
// when it is loaded already, build `new custom({ pm2_home })`, which points the shared paths at
// the new home). One process talks to one PM2_HOME at a time; dsat never touches ~/.pm2 unless
// told to.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { connect as netConnect } from "node:net";
import { join, resolve } from "node:path";

/** The repository root (where package.json and bin/dsat are). */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** dsat's PM2_HOME: DSAT_PM2_HOME, else `<repo>/.pm2` (git-ignored), never the user's ~/.pm2. */
export function pm2Home(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.DSAT_PM2_HOME;
  return configured !== undefined && configured !== "" ? resolve(configured) : join(REPO_ROOT, ".pm2");
}

/** One pm2 process as dsat shows it. */
export interface Pm2Process {
  name: string;
  pmId: number;
  /** 0 when not running. */
  pid: number;
  /** online, stopping, stopped, launching, errored, one-launch-status, waiting restart */
  status: string;
  restarts: number;
  unstableRestarts: number;
  /** When the current process started (ms since the epoch). */
  startedAt: number;
  /** Bytes. */
  memory: number;
  /** Percent of one core. */
  cpu: number;
  outLog: string | undefined;
  errLog: string | undefined;
  /** DSAT_SATELLITE_ID from the app's env, for satellite apps. */
  satelliteId: string | undefined;
}

/** pm2's bundled axon socket (the part used to close it). */
interface AxonSocket {
  closing?: boolean;
  close(): void;
}

type Callback<T> = (error: unknown, result: T) => void;

/** The part of pm2's API object dsat calls (pm2's own types do not declare `custom`). */
interface Pm2Api {
  connect(callback: Callback<unknown>): void;
  disconnect(): void;
  start(config: { apps: unknown[] }, callback: Callback<unknown>): void;
  list(callback: Callback<RawProcess[]>): void;
  restart(name: string, callback: Callback<unknown>): void;
  delete(name: string, callback: Callback<unknown>): void;
  sendSignalToProcessName(signal: string, name: string, callback: Callback<unknown>): void;
  killDaemon(callback: Callback<unknown>): void;
}

interface RawProcess {
  name?: string;
  pid?: number;
  pm_id?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: {
    status?: string;
    restart_time?: number;
    unstable_restarts?: number;
    pm_uptime?: number;
    pm_out_log_path?: string;
    pm_err_log_path?: string;
    env?: Record<string, string>;
    DSAT_SATELLITE_ID?: string;
  };
}

let pm2Module: (new (options: { pm2_home: string }) => Pm2Api) | null = null;

function loadPm2(home: string): Pm2Api {
  process.env.PM2_HOME = home;
  if (pm2Module === null) {
    const require = createRequire(import.meta.url);
    pm2Module = (require("pm2") as { custom: new (options: { pm2_home: string }) => Pm2Api }).custom;
  }
  return new pm2Module({ pm2_home: home });
}

function call<T>(fn: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((done, fail) => {
    fn((error, result) => {
      if (error === null || error === undefined) done(result);
      else if (Array.isArray(error) && error.length === 0) done(result);
      else fail(error instanceof Error ? error : new Error(pm2Message(error)));
    });
  });
}

function pm2Message(error: unknown): string {
  if (Array.isArray(error)) return error.map(pm2Message).join("; ");
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

/** true when a pm2 daemon answers on this home's RPC socket (without starting one). */
export function daemonRunning(home: string): Promise<boolean> {
  const socket = join(home, "rpc.sock");
  if (!existsSync(socket)) return Promise.resolve(false);
  return new Promise((done) => {
    const connection = netConnect(socket);
    const finish = (alive: boolean) => {
      connection.destroy();
      done(alive);
    };
    connection.once("connect", () => finish(true));
    connection.once("error", () => finish(false));
    connection.setTimeout(1000, () => finish(false));
  });
}

/** A connection to the pm2 daemon of one PM2_HOME. */
export class Pm2Client {
  private connected = true;

  private constructor(
    private readonly api: Pm2Api,
    readonly home: string,
  ) {}

  /**
   * Connects to the daemon of `home`, starting it unless `spawnDaemon` is false, in which case
   * it resolves to null when no daemon runs.
   */
  static async connect(home: string, options: { spawnDaemon?: boolean } = {}): Promise<Pm2Client | null> {
    if (options.spawnDaemon === false && !(await daemonRunning(home))) return null;
    const api = loadPm2(home);
    await call((callback) => api.connect(callback));
    return new Pm2Client(api, home);
  }

  /** Starts apps; with wait_ready, resolves once each said ready (or its listen_timeout passed). */
  async start(apps: unknown[]): Promise<void> {
    if (apps.length === 0) return;
    await call((callback) => this.api.start({ apps: structuredClone(apps) }, callback));
  }

  async list(): Promise<Pm2Process[]> {
    const raw = await call<RawProcess[]>((callback) => this.api.list(callback));
    return raw.map(toProcess);
  }

  /** Graceful restart: SIGTERM, kill_timeout, SIGKILL, start. */
  async restart(name: string): Promise<void> {
    await call((callback) => this.api.restart(name, callback));
  }

  async delete(name: string): Promise<void> {
    await call((callback) => this.api.delete(name, callback));
  }

  /** Sends a signal through pm2; an app that dies from it is restarted (autorestart). */
  async signal(signal: NodeJS.Signals, name: string): Promise<void> {
    await call((callback) => this.api.sendSignalToProcessName(signal, name, callback));
  }

  /** Stops every app of this home and the daemon itself, then disconnects. */
  async killDaemon(): Promise<void> {
    await call((callback) => this.api.killDaemon(callback));
    this.disconnect();
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.api.disconnect();
    // pm2 leaves a socket whose daemon went away (killDaemon) reconnecting forever, which keeps
    // the process alive: close what it left open.
    const inner = (this.api as unknown as { Client?: Record<string, AxonSocket | undefined> }).Client;
    for (const socket of [inner?.client_sock, inner?.sub_sock]) {
      if (socket !== undefined && socket.closing !== true) socket.close();
    }
  }
}

function toProcess(raw: RawProcess): Pm2Process {
  const env = raw.pm2_env ?? {};
  return {
    name: raw.name ?? "?",
    pmId: raw.pm_id ?? -1,
    pid: raw.pid ?? 0,
    status: env.status ?? "unknown",
    restarts: env.restart_time ?? 0,
    unstableRestarts: env.unstable_restarts ?? 0,
    startedAt: env.pm_uptime ?? 0,
    memory: raw.monit?.memory ?? 0,
    cpu: raw.monit?.cpu ?? 0,
    outLog: env.pm_out_log_path,
    errLog: env.pm_err_log_path,
    satelliteId: env.env?.DSAT_SATELLITE_ID ?? env.DSAT_SATELLITE_ID,
  };
}

/** Runs `fn` with a connection to `home`'s daemon and always disconnects. */
export async function withPm2<T>(
  home: string,
  fn: (client: Pm2Client) => Promise<T>,
  options: { spawnDaemon?: boolean } = {},
): Promise<T | null> {
  const client = await Pm2Client.connect(home, options);
  if (client === null) return null;
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}
