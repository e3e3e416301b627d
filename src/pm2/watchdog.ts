// The watchdog (DSAT's ProcTracker): runs in the orchestrator process under pm2. When the
// orchestrator loses a satellite because its heartbeats stopped, and the satellite does not come
// back within a grace period, and its pm2 app is still `online` with the same process that went
// silent (a hung event loop: alive to pm2, dead to dsat), the watchdog has pm2 restart it and
// publishes `satellite.restarted` { satellite, app, reason, pid }.
//
// The restart is a SIGKILL sent through pm2, after which pm2's autorestart starts the app again
// (restart count +1). A graceful `pm2 restart` would send SIGTERM and wait kill_timeout for a
// drain the hung process can never do; its jobs were already rerouted by the tracker when the
// satellite was lost. If pm2 does not bring the app back by itself, the watchdog asks for a
// `restart`.
//
// Bounded: one restart per app per `debounceMs`, at most `maxRestarts` per `windowMs` in all
// (beyond that it publishes `satellite.restart-skipped` and leaves the app alone).
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { satelliteAppName } from "./apps.ts";
import { type Pm2Client, type Pm2Process, pm2Home, withPm2 } from "./client.ts";

/** What the watchdog needs of the orchestrator. */
export interface WatchdogTarget {
  onEvent(listener: (topic: string, event: Record<string, unknown>) => void): () => void;
  publishEvent(topic: string, fields: Record<string, unknown>): void;
}

/** What the watchdog needs of pm2 (replaceable in tests). */
export interface WatchdogPm2 {
  /** The process of an app, or undefined when pm2 has no such app (or no daemon runs). */
  find(app: string): Promise<Pm2Process | undefined>;
  kill(app: string): Promise<void>;
  restart(app: string): Promise<void>;
}

export interface WatchdogOptions {
  /** PM2_HOME of the pm2 that runs the satellites. */
  home: string;
  /** How long a lost satellite has to register again by itself (default 3000 ms). */
  graceMs?: number;
  /** Least time between two restarts of one app (default 30 s). */
  debounceMs?: number;
  /** At most this many restarts per windowMs in all (default 10 per 60 s). */
  maxRestarts?: number;
  windowMs?: number;
  /** How long pm2 has to bring a killed app back before the watchdog asks it to (default 5 s). */
  comebackMs?: number;
  log?: (line: string) => void;
  pm2?: WatchdogPm2;
  appName?: (satelliteId: string) => string;
}

export interface WatchdogRestart {
  at: number;
  satellite: string;
  app: string;
  pid: number;
  reason: string;
}

/** The file (under PM2_HOME) the watchdog appends its restarts to, one JSON object a line. */
export function watchdogFile(home: string): string {
  return join(home, "dsat-watchdog.jsonl");
}

/** The last `count` restarts the watchdog recorded under `home`. */
export function watchdogRestarts(home: string, count = 10): WatchdogRestart[] {
  const file = watchdogFile(home);
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).slice(-count);
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as WatchdogRestart];
    } catch {
      return [];
    }
  });
}

/** pm2 through its API, one short connection per action; never starts a daemon. */
export function pm2ForWatchdog(home: string): WatchdogPm2 {
  const run = async <T>(fn: (client: Pm2Client) => Promise<T>) => withPm2(home, fn, { spawnDaemon: false });
  return {
    find: async (app) => (await run((client) => client.list()))?.find((p) => p.name === app),
    kill: async (app) => {
      await run((client) => client.signal("SIGKILL", app));
    },
    restart: async (app) => {
      await run((client) => client.restart(app));
    },
  };
}

export class Watchdog {
  readonly restarts: WatchdogRestart[] = [];
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly lastRestart = new Map<string, number>();
  private readonly busy = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private readonly options: Required<Omit<WatchdogOptions, "pm2">> & { pm2: WatchdogPm2 };

  constructor(
    private readonly target: WatchdogTarget,
    options: WatchdogOptions,
  ) {
    this.options = {
      graceMs: 3000,
      debounceMs: 30_000,
      maxRestarts: 10,
      windowMs: 60_000,
      comebackMs: 5000,
      log: (line) => console.log(line),
      appName: satelliteAppName,
      ...options,
      pm2: options.pm2 ?? pm2ForWatchdog(options.home),
    };
  }

  start(): this {
    this.unsubscribe = this.target.onEvent((topic, event) => this.onEvent(topic, event));
    this.options.log(`watchdog: restarting hung satellites through pm2 (PM2_HOME ${this.options.home})`);
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private onEvent(topic: string, event: Record<string, unknown>): void {
    if (this.stopped) return;
    const satellite = typeof event.satellite === "string" ? event.satellite : undefined;
    if (satellite === undefined) return;
    if (topic === "satellite.registered") {
      const timer = this.pending.get(satellite);
      if (timer !== undefined) clearTimeout(timer);
      this.pending.delete(satellite);
      return;
    }
    if (topic !== "satellite.lost") return;
    const reason = String(event.reason ?? "");
    // Only silence means "maybe hung": a disconnect is a clean exit (pm2's business), a
    // re-registration means a new process already took over.
    const silent = /^silent for (\d+) ms/.exec(reason);
    if (silent === null) return;
    const at = typeof event.at === "number" ? event.at : Date.now();
    const lastHeard = at - Number(silent[1]);
    clearTimeout(this.pending.get(satellite));
    this.pending.set(
      satellite,
      setTimeout(() => {
        this.pending.delete(satellite);
        void this.check(satellite, lastHeard, reason).catch((error: unknown) =>
          this.options.log(`watchdog: ${satellite}: ${(error as Error)?.message ?? String(error)}`),
        );
      }, this.options.graceMs),
    );
  }

  private async check(satellite: string, lastHeard: number, lostReason: string): Promise<void> {
    const app = this.options.appName(satellite);
    if (this.busy.has(app) || this.stopped) return;
    this.busy.add(app);
    try {
      const now = Date.now();
      const proc = await this.options.pm2.find(app);
      // Not ours, not running, or a new process since the silence began (pm2 restarted it): pm2 and
      // the satellite's own reconnects take care of it.
      if (proc === undefined || proc.status !== "online" || proc.startedAt > lastHeard) return;
      const last = this.lastRestart.get(app);
      if (last !== undefined && now - last < this.options.debounceMs) {
        this.options.log(`watchdog: ${satellite} is hung again; restarted ${now - last} ms ago, waiting`);
        return;
      }
      const recent = this.restarts.filter((r) => now - r.at < this.options.windowMs).length;
      if (recent >= this.options.maxRestarts) {
        this.target.publishEvent("satellite.restart-skipped", {
          satellite,
          app,
          reason: `${recent} restarts in the last ${this.options.windowMs} ms`,
        });
        this.options.log(`watchdog: ${satellite} is hung but ${recent} restarts happened lately; leaving it`);
        return;
      }
      const reason = `heartbeats stopped (${lostReason}) while pm2 process ${proc.pid} stayed online`;
      this.lastRestart.set(app, now);
      await this.options.pm2.kill(app);
      const restart: WatchdogRestart = { at: now, satellite, app, pid: proc.pid, reason };
      this.restarts.push(restart);
      if (this.restarts.length > 100) this.restarts.shift();
      try {
        appendFileSync(watchdogFile(this.options.home), `${JSON.stringify(restart)}\n`);
      } catch {
        // The record is for `dsat status`; the restart matters more.
      }
      this.target.publishEvent("satellite.restarted", { satellite, app, reason, pid: proc.pid });
      this.options.log(`watchdog: restarted ${app} (${reason})`);
      await this.ensureBack(app, proc.pid);
    } finally {
      this.busy.delete(app);
    }
  }

  /** pm2's autorestart normally brings the app back; if it does not, ask for a restart. */
  private async ensureBack(app: string, oldPid: number): Promise<void> {
    const deadline = Date.now() + this.options.comebackMs;
    while (Date.now() < deadline && !this.stopped) {
      await new Promise((done) => setTimeout(done, 250));
      const proc = await this.options.pm2.find(app);
      if (proc === undefined) return;
      if (proc.pid !== oldPid && proc.pid !== 0 && proc.status === "online") return;
    }
    if (this.stopped) return;
    const proc = await this.options.pm2.find(app);
    if (proc !== undefined && (proc.status === "stopped" || proc.status === "errored")) {
      this.options.log(`watchdog: pm2 did not restart ${app} by itself (${proc.status}); restarting it`);
      await this.options.pm2.restart(app);
    }
  }
}

/** Whether the orchestrator should run the watchdog: DSAT_WATCHDOG=1, or under pm2 unless =0. */
export function watchdogWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.DSAT_WATCHDOG === "0") return false;
  return env.DSAT_WATCHDOG === "1" || env.pm_id !== undefined;
}

/** Starts a watchdog on an orchestrator, with the PM2_HOME of the pm2 running this process. */
export function startWatchdog(
  target: WatchdogTarget,
  options: Partial<WatchdogOptions> = {},
  env: NodeJS.ProcessEnv = process.env,
): Watchdog {
  const home =
    options.home ?? (env.pm_id !== undefined && env.PM2_HOME !== undefined ? env.PM2_HOME : pm2Home(env));
  const graceMs = env.DSAT_WATCHDOG_GRACE_MS === undefined ? undefined : Number(env.DSAT_WATCHDOG_GRACE_MS);
  return new Watchdog(target, {
    ...(graceMs !== undefined && Number.isFinite(graceMs) ? { graceMs } : {}),
    ...options,
    home,
  }).start();
}
