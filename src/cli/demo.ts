// `dsat demo` (what `npm start` runs): the demo topology under pm2 end to end. It brings the
// orchestrator and every satellite up (a project-local PM2_HOME), sends 1,000 jobs with a progress
// bar, kill -9s one satellite halfway (pm2 restarts it; the tracker reroutes its jobs), drains one
// host at three quarters (its jobs finish, no new one goes there: docs/operations.md), prints the
// results and per-type stats, and takes everything down. Exit code 1 if any job was lost.
// A read-only dashboard runs in the demo's own process from the start (before pm2 brings the fleet
// up, so the satellites can be seen registering) and closes with it.
import { resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { type Client, connect, connectAddress, controlRequest } from "../client/index.ts";
import {
  type Dashboard,
  DashboardError,
  DEFAULT_LISTEN,
  parseListen,
  startDashboard,
} from "../dashboard/index.ts";
import { down, list, satelliteAppName, up } from "../pm2/index.ts";
import type { CurveOptions } from "../security/index.ts";
import { curveFromEnv, loadTopology, type Topology } from "../topology/index.ts";
import { adminCurveFromEnv } from "./control.ts";
import { UsageError } from "./errors.ts";

interface DemoOptions {
  topology: string;
  jobs: number;
  concurrency: number;
  keep: boolean;
  /** Where the dashboard listens; false with --no-dashboard. */
  dashboard: string | false;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return parsed;
}

/** The host the demo drains at three quarters (and undrains at the end). */
const DRAINED_HOST = "r1h1";

const WORDS = ["orbit", "satellite", "rack", "host", "crush", "placement", "failure", "domain", "job"];

/** The demo's job mix: mostly echo, some wordcount, a few measure -> store pipelines. */
function jobFor(index: number): { type: string; payload: unknown; key: string } {
  if (index % 10 === 0)
    return { type: "measure", payload: { source: "demo", value: index }, key: `m${index}` };
  if (index % 5 === 0) {
    const text = Array.from({ length: 12 }, (_, i) => WORDS[(index * 7 + i * 3) % WORDS.length]).join(" ");
    return { type: "wordcount", payload: text, key: `w${index}` };
  }
  return { type: "echo", payload: { index, at: Date.now() }, key: `e${index}` };
}

function bar(done: number, total: number, failed: number, startedAt: number): string {
  const width = 30;
  const filled = Math.round((width * done) / total);
  const rate = done / Math.max((Date.now() - startedAt) / 1000, 0.001);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}${failed ? ` (${failed} failed)` : ""} ${Math.round(rate)} jobs/s`;
}

/**
 * The demo's dashboard, read-only, on `listen`; when that port is taken, on any free port of the
 * same host (a demo should not fail for a busy 8090). Null when the topology has no control or
 * events endpoint.
 */
async function demoDashboard(topology: Topology, listen: string): Promise<Dashboard | null> {
  const { control, events } = topology.orchestrator;
  if (control === undefined || events === undefined) {
    console.log("  no dashboard: the topology has no control or events endpoint");
    return null;
  }
  const start = (at: string) =>
    startDashboard({
      control: connectAddress(control),
      events: connectAddress(events),
      curve: curveFromEnv(topology),
      adminCurve: adminCurveFromEnv(topology),
      listen: at,
      log: (line) => console.log(`  dashboard: ${line}`),
    });
  const address = parseListen(listen);
  try {
    return await start(listen);
  } catch (error) {
    const taken = error instanceof DashboardError && /cannot listen/.test(error.message);
    if (!taken || address.port === 0) throw error;
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    return start(`${host}:0`);
  }
}

async function runDemo(options: DemoOptions): Promise<number> {
  const file = resolve(options.topology);
  const began = Date.now();
  console.log(`dsat demo: ${options.topology} under pm2 (PM2_HOME ${process.env.DSAT_PM2_HOME ?? ".pm2"})`);
  const dashboard =
    options.dashboard === false
      ? null
      : await demoDashboard(loadTopology(file), options.dashboard).catch((error: unknown) => {
          throw error instanceof DashboardError ? new UsageError(error.message) : error;
        });
  if (dashboard !== null) console.log(`dashboard: ${dashboard.url} (read-only, while the demo runs)`);
  let client: Client | null = null;
  let started: Awaited<ReturnType<typeof up>> | null = null;
  try {
    started = await up(file, { timeoutMs: 90_000 });
    const { topology } = started;
    console.log(
      `  up in ${((Date.now() - began) / 1000).toFixed(1)} s: ${started.processes.length} pm2 apps, ${started.registered.length} satellites registered${started.missing.length > 0 ? `, missing: ${started.missing.join(", ")}` : ""}`,
    );
    const curve = curveFromEnv(topology);
    client = await connect(connectAddress(topology.orchestrator.frontend), {
      inFlightMax: options.concurrency,
      curve,
    });
    const outcome = await sendJobs(client, options, topology.orchestrator.control, curve);
    await reportStats(topology.orchestrator.control, outcome.victim, curve);
    const lost = outcome.failed;
    console.log(
      lost === 0
        ? `\nno job lost: ${options.jobs}/${options.jobs} answered (${outcome.rerouted} rerouted after the kill)`
        : `\n${lost} job(s) LOST out of ${options.jobs}`,
    );
    return lost === 0 ? 0 : 1;
  } finally {
    await client?.close();
    // Before the orchestrator goes: a status poll in flight is answered, not left to time out.
    await dashboard?.close();
    if (started === null) {
      // up() failed and said why; what it started is left for `dsat down`, as before.
    } else if (!options.keep) {
      await down(file);
      console.log("  everything is down (dsat down)");
    } else {
      console.log(
        "  left running: see `./bin/dsat status` or `./bin/dsat dashboard`, stop with `./bin/dsat down`",
      );
    }
  }
}

async function sendJobs(
  client: Client,
  options: DemoOptions,
  control: string | undefined,
  curve: CurveOptions | undefined,
): Promise<{ failed: number; victim: string | null; rerouted: number }> {
  const startedAt = Date.now();
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let issued = 0;
  let done = 0;
  let failed = 0;
  let victim: string | null = null;
  let lastDrawn = 0;
  const draw = (final = false) => {
    if (!final && Date.now() - lastDrawn < 100) return;
    lastDrawn = Date.now();
    const line = bar(done, options.jobs, failed, startedAt);
    if (process.stdout.isTTY) process.stdout.write(`\r  ${line}${final ? "\n" : ""}`);
    else if (final || done % 250 === 0) console.log(`  ${line}`);
  };
  const killHalfway = async () => {
    // Kill -9 the satellite with the most echo jobs on it: pm2 restarts it, the tracker reroutes.
    const apps = await list();
    const echo = apps.filter((app) => app.name.startsWith(satelliteAppName("echo@")) && app.pid > 0);
    const target = echo[Math.floor(echo.length / 2)];
    if (target === undefined) return;
    victim = target.name;
    process.kill(target.pid, "SIGKILL");
    const message = `kill -9 ${target.name} (pid ${target.pid}) at ${done}/${options.jobs}`;
    if (process.stdout.isTTY) process.stdout.write(`\n  ${message}\n`);
    else console.log(`  ${message}`);
  };
  // At three quarters: `dsat drain` one host; its jobs finish there, new ones go elsewhere.
  const drainAt = async () => {
    if (control === undefined) return;
    const reply = (await controlRequest(
      connectAddress(control),
      { cmd: "drain", target: DRAINED_HOST },
      3000,
      curve,
    ).catch(() => null)) as { satellites?: string[] } | null;
    const message = `dsat drain ${DRAINED_HOST} (${(reply?.satellites ?? []).join(", ")}) at ${done}/${options.jobs}`;
    if (process.stdout.isTTY) process.stdout.write(`\n  ${message}\n`);
    else console.log(`  ${message}`);
  };
  let killing: Promise<void> | null = null;
  let draining: Promise<void> | null = null;
  const worker = async () => {
    while (issued < options.jobs) {
      const index = issued++;
      const job = jobFor(index);
      const sent = performance.now();
      try {
        await client.request(job.type, job.payload, { key: job.key, timeoutMs: 30_000 });
        latencies.push(performance.now() - sent);
      } catch (error) {
        failed++;
        const line = `${(error as { code?: string }).code ?? "error"}: ${(error as Error).message}`;
        errors.set(line, (errors.get(line) ?? 0) + 1);
      }
      done++;
      if (killing === null && done >= options.jobs / 2) killing = killHalfway();
      if (draining === null && done >= (options.jobs * 3) / 4) draining = drainAt();
      draw();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await killing;
  await draining;
  draw(true);
  const seconds = (Date.now() - startedAt) / 1000;
  latencies.sort((a, b) => a - b);
  const quantile = (fraction: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(fraction * latencies.length))] ?? 0;
  console.log(
    `  ${options.jobs - failed}/${options.jobs} ok in ${seconds.toFixed(1)} s: ${Math.round(options.jobs / seconds)} jobs/s, p50 ${quantile(0.5).toFixed(1)} ms, p99 ${quantile(0.99).toFixed(1)} ms`,
  );
  for (const [line, count] of errors) console.log(`    ${count} x ${line}`);
  let rerouted = 0;
  if (control !== undefined) {
    const status = (await controlRequest(connectAddress(control), "stats", 3000, curve).catch(
      () => null,
    )) as {
      stats?: Record<string, { reroutes?: number }>;
    } | null;
    for (const stats of Object.values(status?.stats ?? {})) rerouted += stats.reroutes ?? 0;
  }
  return { failed, victim, rerouted };
}

async function reportStats(
  control: string | undefined,
  victim: string | null,
  curve: CurveOptions | undefined,
): Promise<void> {
  if (victim !== null) {
    // pm2 restarts the killed satellite; wait (bounded) until it runs again.
    for (let i = 0; i < 50; i++) {
      const app = (await list()).find((candidate) => candidate.name === victim);
      if (app !== undefined && app.status === "online" && app.restarts > 0) {
        console.log(`  pm2 restarted ${victim}: ${app.restarts} restart(s), now pid ${app.pid}`);
        break;
      }
      await new Promise((done) => setTimeout(done, 200));
    }
  }
  if (control === undefined) return;
  await controlRequest(connectAddress(control), { cmd: "undrain", target: DRAINED_HOST }, 3000, curve).catch(
    () => {},
  );
  console.log(`  dsat undrain ${DRAINED_HOST}: it takes jobs again`);
  const status = (await controlRequest(connectAddress(control), "status", 3000, curve).catch(() => null)) as {
    stats?: Record<string, Record<string, number>>;
    satellites?: Array<{ id: string; done: number }>;
  } | null;
  if (status?.stats === undefined) return;
  console.log("\n  per type:      received    done  failed  retries  reroutes  timeouts   p50 ms   p99 ms");
  for (const [type, stats] of Object.entries(status.stats)) {
    console.log(
      `  ${type.padEnd(12)} ${String(stats.received).padStart(9)} ${String(stats.done).padStart(7)} ${String(stats.failed).padStart(7)} ${String(stats.retries).padStart(8)} ${String(stats.reroutes).padStart(9)} ${String(stats.timeouts).padStart(9)} ${stats.latencyMsP50.toFixed(1).padStart(8)} ${stats.latencyMsP99.toFixed(1).padStart(8)}`,
    );
  }
}

export function demoCommand(): Command {
  return new Command("demo")
    .description("the demo (npm start): the demo topology under pm2, 1,000 jobs, a satellite killed halfway")
    .option("-t, --topology <file>", "topology", "topologies/demo.json")
    .option("-n, --jobs <n>", "jobs to send", positiveInteger, 1000)
    .option("-c, --concurrency <n>", "jobs in flight", positiveInteger, 32)
    .option("--keep", "leave the topology running afterwards")
    .option(
      "--dashboard <host:port>",
      "where the demo's read-only dashboard listens (a taken port: any free one)",
      DEFAULT_LISTEN,
    )
    .option("--no-dashboard", "run the demo without the dashboard")
    .action(async (options: DemoOptions) => {
      process.exitCode = await runDemo(options);
    });
}
