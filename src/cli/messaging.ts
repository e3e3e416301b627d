// `dsat orchestrator | satellite | publish | events`: the messaging core from the shell (`dsat status`
// is in pm2.ts: it merges pm2's view with the orchestrator's).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { type Client, connect, connectAddress } from "../client/index.ts";
import { sharedLogger } from "../log/index.ts";
import type { MetricsServer, NodeMetrics } from "../metrics/index.ts";
import { Orchestrator, OrchestratorNode, resolveLocality } from "../orchestrator/index.ts";
import { startWatchdog, watchdogWanted } from "../pm2/index.ts";
import { runSatellite, type SatelliteDefinition } from "../satellite/index.ts";
import {
  curveFromEnv,
  hostLocation,
  loadTopology,
  nodeOrchestratorConfig,
  orchestratorConfig,
  type Topology,
  type TopologyOrchestratorNode,
} from "../topology/index.ts";
import { UsageError } from "./errors.ts";
import { readInputs } from "./inputs.ts";

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return parsed;
}

export function topologyOption(command: Command): Command {
  return command.option(
    "-t, --topology <file>",
    "topology JSON file",
    process.env.DSAT_TOPOLOGY ?? "topologies/demo.json",
  );
}

export function need(value: string | undefined, what: string, topology: Topology): string {
  if (value === undefined)
    throw new UsageError(`${topology.file}: /orchestrator/${what} is needed for this command`);
  return connectAddress(value);
}

export function orchestratorCommand(): Command {
  return topologyOption(new Command("orchestrator").description("run the orchestrator of a topology"))
    .option(
      "--journal <dir>",
      "durable jobs: keep the job journal in DIR (overrides the topology's journal.dir)",
    )
    .option(
      "--insecure",
      "without security, let control bind a wildcard or non-loopback address (every peer is an admin)",
    )
    .option(
      "--metrics <host:port>",
      "serve Prometheus metrics on http://HOST:PORT/metrics (overrides the topology's metrics)",
    )
    .option("--insecure-metrics", "let --metrics listen on a wildcard or non-loopback address")
    .option(
      "--node <id>",
      "replicated orchestrators: run the node ID of the topology's `orchestrators`",
      process.env.DSAT_NODE,
    )
    .action(async (options) => {
      const topology = loadTopology(options.topology);
      if (topology.orchestrators !== undefined) {
        await runOrchestratorNode(topology, options.node as string | undefined, options);
        return;
      }
      if (options.node !== undefined)
        throw new UsageError(`${topology.file}: --node needs a topology with "orchestrators"`);
      const config = orchestratorConfig(topology);
      if (typeof options.journal === "string")
        config.journal = { ...config.journal, dir: resolve(options.journal as string) };
      if (options.insecure === true) config.insecureControl = true;
      // The daemon's lines are JSON lines (docs/observability.md, "Logs"), at DSAT_LOG_LEVEL.
      const logger = sharedLogger("orchestrator");
      const orchestrator = new Orchestrator({ ...config, log: logger });
      // Listening first: a taken port fails before anything binds. It closes when the orchestrator stops.
      const metricsServer = await startMetricsFor(orchestrator, topology, options, logger.line);
      await orchestrator.start().catch(async (error: unknown) => {
        await metricsServer?.close();
        throw error;
      });
      if (metricsServer !== null) logger.info(`orchestrator: metrics at ${metricsServer.url}`);
      // Under pm2 (or DSAT_WATCHDOG=1): restart satellites whose process hangs (docs/pm2.md).
      const watchdog = watchdogWanted() ? startWatchdog(orchestrator) : null;
      logger.info(
        `orchestrator: frontend ${topology.orchestrator.frontend}; ${Object.keys(topology.types).length} job types`,
      );
      process.send?.("ready");
      await new Promise<void>((done) => {
        const stop = () => {
          watchdog?.stop();
          void orchestrator.stop().then(done);
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
    });
}

/** One node of a replicated set, until SIGTERM or SIGINT (docs/raft.md, "Replicated orchestrators"). */
async function runOrchestratorNode(
  topology: Topology,
  id: string | undefined,
  options: { metrics?: string; insecureMetrics?: boolean },
): Promise<void> {
  const nodes = topology.orchestrators ?? [];
  const known = nodes.map((node) => node.id).join(", ");
  if (id === undefined)
    throw new UsageError(
      `${topology.file} lists ${nodes.length} orchestrators (${known}): say which with --node ID (or DSAT_NODE)`,
    );
  const node = nodes.find((each) => each.id === id);
  if (node === undefined)
    throw new UsageError(`${topology.file}: no orchestrator "${id}" in /orchestrators (${known})`);
  const log = (line: string) => console.log(`[${id}] ${line}`);
  // Listening first, as for one orchestrator: a taken port fails before anything binds.
  const metrics = await startNodeMetricsFor(node, topology, options, log);
  const running = await OrchestratorNode.start({
    id,
    peers: Object.fromEntries(nodes.map((each) => [each.id, connectAddress(each.raft)])),
    bind: node.raft,
    mode: node.mode ?? "active",
    dir: node.dir ?? id,
    ...(node.admin !== undefined ? { admin: node.admin } : {}),
    insecureAdmin: topology.orchestrator.insecureControl === true,
    orchestrator: { ...nodeOrchestratorConfig(orchestratorConfig(topology), node), log },
    log,
    onFatal: () => process.exit(1),
    ...(metrics !== null ? { onServing: metrics.metrics.serving } : {}),
  }).catch(async (error: unknown) => {
    await metrics?.close();
    throw error;
  });
  metrics?.metrics.follow(running);
  if (metrics !== null) log(`orchestrator node: metrics at ${metrics.url}`);
  log(`orchestrator node: raft ${node.raft}, frontend ${node.frontend} (served while it leads)`);
  process.send?.("ready");
  await new Promise<void>((done) => {
    const stop = () =>
      void running
        .stop()
        .then(() => metrics?.close())
        .then(done);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

/** Prometheus metrics if --metrics or the topology asks (the flag wins); prom-client loads only then. */
async function startMetricsFor(
  orchestrator: Orchestrator,
  topology: Topology,
  options: { metrics?: string; insecureMetrics?: boolean },
  log: (line: string) => void,
): Promise<MetricsServer | null> {
  const address = options.metrics ?? topology.orchestrator.metrics;
  if (address === undefined) return null;
  const { MetricsError, startMetrics } = await import("../metrics/index.ts");
  const insecure = options.insecureMetrics === true || topology.orchestrator.insecureMetrics === true;
  try {
    return await startMetrics(orchestrator, { address, insecure, log });
  } catch (error) {
    throw error instanceof MetricsError ? new UsageError(error.message) : error;
  }
}

/** A node's metrics (Raft, and its orchestrator's while it leads) if --metrics or its `metrics` asks. */
async function startNodeMetricsFor(
  node: TopologyOrchestratorNode,
  topology: Topology,
  options: { metrics?: string; insecureMetrics?: boolean },
  log: (line: string) => void,
): Promise<MetricsServer<NodeMetrics> | null> {
  const address = options.metrics ?? node.metrics;
  if (address === undefined) return null;
  const metrics = await import("../metrics/index.ts");
  const insecure = options.insecureMetrics === true || topology.orchestrator.insecureMetrics === true;
  try {
    return await metrics.MetricsServer.serve(new metrics.NodeMetrics({ log }), { address, insecure, log });
  } catch (error) {
    throw error instanceof metrics.MetricsError ? new UsageError(error.message) : error;
  }
}

export async function loadSatelliteModule(modulePath: string): Promise<SatelliteDefinition> {
  const loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as { default?: SatelliteDefinition };
  const definition = loaded.default;
  if (definition === undefined || typeof definition.handle !== "function") {
    throw new UsageError(`${modulePath}: the default export must be defineSatellite({ type, handle })`);
  }
  return definition;
}

export function satelliteCommand(): Command {
  return topologyOption(
    new Command("satellite").description("run a satellite program (default export: defineSatellite(...))"),
  )
    .argument("<module>", "satellite module, e.g. satellites/echo.ts")
    .option("--id <id>", "satellite id (default: <type>@<host>)", process.env.DSAT_SATELLITE_ID)
    .option("--host <host>", "host of the topology it runs on", process.env.DSAT_HOST)
    .option("--concurrency <n>", "jobs at once (default: the topology's, else the module's)", positiveInteger)
    .option(
      "--protocol <protocol>",
      "dsat (the orchestrator's extensions) or mdp (plain 7/MDP workers, for any Majordomo broker at the frontend)",
      satelliteProtocol,
      "dsat",
    )
    .action(async (modulePath: string, options) => {
      const topology = loadTopology(options.topology);
      const definition = await loadSatelliteModule(modulePath);
      const types = Array.isArray(definition.type) ? definition.type : [definition.type];
      const host = options.host ?? Object.keys(topology.hosts)[0];
      const typeConfig = topology.types[types[0]];
      const concurrency = options.concurrency ?? typeConfig?.concurrency ?? definition.concurrency ?? 1;
      await runSatellite(
        { ...definition, concurrency },
        {
          endpoint: connectAddress(topology.orchestrator.frontend),
          id: options.id ?? `${types[0]}@${host}`,
          location: hostLocation(topology, host),
          weight: typeConfig?.weight ?? 1,
          heartbeatMs: topology.orchestrator.heartbeatMs,
          handleSignals: true,
          curve: curveFromEnv(topology),
          protocol: options.protocol,
          // The topology's hostname map (and its file), for context.localReplicas (docs/locality.md).
          ...(topology.locality !== undefined
            ? { hostnames: Object.fromEntries(resolveLocality(topology.locality).hostnames) }
            : {}),
        },
      );
    });
}

function satelliteProtocol(value: string): "dsat" | "mdp" {
  if (value !== "dsat" && value !== "mdp")
    throw new InvalidArgumentError(`expected dsat or mdp, got "${value}"`);
  return value;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

class ProgressBar {
  private lastDrawn = 0;
  constructor(
    private readonly total: number,
    private readonly started: number,
  ) {}

  update(done: number, failed: number, final = false): void {
    const now = Date.now();
    if (!final && now - this.lastDrawn < 100) return;
    this.lastDrawn = now;
    const width = 30;
    const filled = Math.round((width * done) / this.total);
    const rate = done / Math.max((now - this.started) / 1000, 0.001);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${this.total} ${failed > 0 ? `(${failed} failed) ` : ""}${Math.round(rate)} jobs/s`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${final ? "\n" : ""}`);
    else if (final || done % Math.max(1, Math.floor(this.total / 4)) === 0) process.stderr.write(`${line}\n`);
  }
}

export function publishCommand(): Command {
  return topologyOption(new Command("publish").description("send jobs and report jobs/s and latency"))
    .argument("<type>", "job type")
    .argument("[json]", "payload as JSON", "null")
    .option("-n, --count <n>", "jobs to send", positiveInteger, 1)
    .option("-c, --concurrency <n>", "jobs in flight at once", positiveInteger, 1)
    .option("--key <key>", "placement key (default: each job's id)")
    .option("--timeout <ms>", "deadline per job", positiveInteger)
    .option("--no-wait", "fire and forget through the intake socket (no results, no latency)")
    .option(
      "--inputs <file>",
      "the jobs' inputs, as `dsat inputs` prints them (- for stdin): docs/locality.md",
    )
    .option("--split", "with --inputs: one job per input (-n is then the number of inputs)")
    .action(async (type: string, json: string, options) => {
      let payload: unknown;
      try {
        payload = JSON.parse(json);
      } catch (error) {
        throw new UsageError(`payload is not valid JSON: ${(error as Error).message}`);
      }
      const topology = loadTopology(options.topology);
      const inputs = options.inputs === undefined ? undefined : readInputs(options.inputs);
      if (inputs !== undefined && options.split === true) options.count = inputs.length;
      const inputsOf =
        inputs === undefined ? undefined : (i: number) => (options.split === true ? [inputs[i]] : inputs);
      if (!options.wait) {
        const client = await connect(connectAddress(topology.orchestrator.frontend), {
          publish: need(topology.orchestrator.intake, "intake", topology),
          curve: curveFromEnv(topology),
        });
        await new Promise((done) => setTimeout(done, 200)); // PUB/SUB join
        for (let i = 0; i < options.count; i++)
          client.publish(type, payload, {
            ...(options.key === undefined ? {} : { key: options.key }),
            ...(inputsOf === undefined ? {} : { inputs: inputsOf(i) }),
          });
        await client.close();
        console.log(`published ${options.count} ${type} job(s)`);
        return;
      }
      const client = await connect(connectAddress(topology.orchestrator.frontend), {
        inFlightMax: options.concurrency,
        curve: curveFromEnv(topology),
      });
      await runPublish(
        client,
        type,
        payload,
        options.count,
        options.concurrency,
        options.key,
        options.timeout,
        inputsOf,
      );
      await client.close();
    });
}

async function runPublish(
  client: Client,
  type: string,
  payload: unknown,
  count: number,
  concurrency: number,
  key: string | undefined,
  timeoutMs: number | undefined,
  inputsOf?: (job: number) => string[][],
): Promise<void> {
  const started = Date.now();
  const bar = new ProgressBar(count, started);
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let issued = 0;
  let done = 0;
  let failed = 0;
  let lastResult: unknown;
  const options = {
    ...(key !== undefined ? { key } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
  // `concurrency` workers, each sending its next job when the previous one is answered.
  const worker = async () => {
    while (issued < count) {
      const job = issued++;
      const sent = performance.now();
      try {
        const inputs = inputsOf?.(job);
        lastResult = await client.request(
          type,
          payload,
          inputs === undefined ? options : { ...options, inputs },
        );
        latencies.push(performance.now() - sent);
      } catch (error) {
        failed++;
        const code = (error as { code?: string }).code ?? (error as Error).name;
        const line = `${code}: ${(error as Error).message}`;
        errors.set(line, (errors.get(line) ?? 0) + 1);
      }
      done++;
      bar.update(done, failed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  bar.update(done, failed, true);
  const seconds = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  if (count === 1 && failed === 0) console.log(JSON.stringify(lastResult));
  console.log(
    `${count - failed}/${count} ok in ${seconds.toFixed(2)} s: ${Math.round(count / seconds)} jobs/s, latency p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p95 ${percentile(latencies, 0.95).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`,
  );
  for (const [message, times] of errors) console.log(`  ${times} x ${message}`);
  if (failed > 0) process.exitCode = 1;
}

export function eventsCommand(): Command {
  return topologyOption(new Command("events").description("print the orchestrator's events as JSON lines"))
    .argument("[type]", "only events about this job type")
    .option("--count <n>", "stop after this many events", positiveInteger)
    .action(async (type: string | undefined, options) => {
      const topology = loadTopology(options.topology);
      const client = await connect(connectAddress(topology.orchestrator.frontend), {
        events: need(topology.orchestrator.events, "events", topology),
        curve: curveFromEnv(topology),
      });
      let seen = 0;
      for await (const event of client.events("")) {
        if (type !== undefined && !event.topic.endsWith(`.${type}`) && event.type !== type) continue;
        console.log(
          JSON.stringify(event, (_key, value) => (typeof value === "bigint" ? Number(value) : value)),
        );
        if (options.count !== undefined && ++seen >= options.count) break;
      }
      await client.close();
    });
}
