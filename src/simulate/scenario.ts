// Scenario files: the load, service times, latency model and timed events of a simulation
// (docs/simulate.md). Loading is three passes, as for topologies: JSON (with the position of a
// syntax error), the JSON Schema (scenarios/scenario.schema.json), then the names the schema cannot
// check (types, hosts, buckets of the topology: checkAgainst). Every error names the file, the JSON
// Pointer, what was expected and what was found.
import { resolve } from "node:path";
import { escapePointer, readJsonFile, schemaChecker, type Topology } from "../topology/index.ts";
import type { Distribution } from "./random.ts";

export const SCENARIO_SCHEMA_FILE = new URL("../../scenarios/scenario.schema.json", import.meta.url);

export type Target = { satellite: string } | { host: string } | { domain: string };

export interface LoadSpec {
  arrival?: "poisson" | "bursts";
  /** Jobs per second (poisson). */
  rate?: number;
  burst?: { size: number; everyMs: number };
  /** [atMs, factor] points: the rate (or burst size) times a piecewise-linear factor. */
  curve?: Array<[number, number]>;
  clients?: number;
  payloadBytes?: number | { min: number; max: number };
  keys?: { distribution?: "uniform" | "zipf"; count: number; exponent?: number };
  timeoutMs?: number;
}

export interface ServiceSpec {
  time?: Distribution;
  failureRate?: number;
  hangRate?: number;
}

export interface Override {
  target: Target;
  /** This satellite's own service time (instead of its type's). */
  time?: Distribution;
  slowdown?: number;
  failureRate?: number;
  hangRate?: number;
  /** When its process starts (default: a seeded moment in the first 50 ms); sets the registration order. */
  startMs?: number;
}

export type ScenarioEvent = { atMs: number; note?: string } & (
  | { action: "kill" | "hang" | "restore" | "partition" | "heal" | "drain"; target: Target }
  | { action: "slow"; target: Target; slowdown: number }
  | { action: "set-weight"; target: Target; weight: number }
  | { action: "add-host"; host: string; location: Record<string, string>; types?: string[] }
  | { action: "set-timeout"; type: string; timeoutMs: number }
  | { action: "kill-leader" }
  | { action: "restart-orchestrator"; node: string }
);

export interface Scenario {
  /** Absolute path of the file it came from. */
  file: string;
  description: string;
  seed?: number;
  durationMs: number;
  drainMs?: number;
  intervalMs?: number;
  orchestrator?: {
    host?: string;
    costUs?: number;
    commitMs?: number;
    /** Several orchestrators: node id -> host (default: the i-th node on the topology's i-th host). */
    hosts?: Record<string, string>;
    /** Several orchestrators: ms per Raft tick and ticks per election timeout (as a node's defaults). */
    raftTickMs?: number;
    electionTicks?: number;
    tracker?: Record<string, unknown>;
    limits?: Record<string, unknown>;
  };
  latency?: {
    sameHostMs?: number;
    sameRackMs?: number;
    acrossRacksMs?: number;
    acrossDatacentersMs?: number;
    clientMs?: number;
    jitter?: number;
  };
  load: Record<string, LoadSpec>;
  service?: Record<string, ServiceSpec>;
  satellites?: Override[];
  events?: ScenarioEvent[];
}

export class ScenarioError extends Error {
  override name = "ScenarioError";
  constructor(
    readonly file: string,
    readonly path: string,
    message: string,
  ) {
    super(`${file}: ${path}: ${message}`);
  }
}

/** Reads and checks a scenario file. Errors name `file` as given. */
export function loadScenario(file: string): Scenario {
  return parseScenario(
    readJsonFile(file, (path, message) => new ScenarioError(file, path, message)),
    file,
  );
}

/** Checks parsed JSON as a scenario (the schema, then ranges the schema cannot relate). */
export function parseScenario(json: unknown, file: string): Scenario {
  const problem = schemaProblem(json);
  if (problem !== undefined) throw new ScenarioError(file, problem.path, problem.message);
  const scenario = { ...(json as Omit<Scenario, "file">), file: resolve(file) };
  for (const [type, load] of Object.entries(scenario.load)) {
    const at = `/load/${escapePointer(type)}`;
    const arrival = load.arrival ?? "poisson";
    if (arrival === "poisson" && load.rate === undefined)
      throw new ScenarioError(
        file,
        `${at}/rate`,
        "expected jobs per second for poisson arrivals, found nothing",
      );
    if (arrival === "bursts" && load.burst === undefined)
      throw new ScenarioError(file, `${at}/burst`, 'expected {"size", "everyMs"} for bursts, found nothing');
    if (typeof load.payloadBytes === "object" && load.payloadBytes.max < load.payloadBytes.min)
      throw new ScenarioError(file, `${at}/payloadBytes/max`, "expected max at least min");
    // A run is held in memory: refuse one that would not fit rather than take the process down.
    const peak = Math.max(1, ...(load.curve ?? []).map(([, factor]) => factor));
    const perSecond =
      arrival === "poisson"
        ? (load.rate ?? 0)
        : ((load.burst?.size ?? 0) * 1000) / (load.burst?.everyMs ?? 1);
    const jobs = (perSecond * peak * scenario.durationMs) / 1000;
    if (jobs > JOBS_MAX)
      throw new ScenarioError(
        file,
        arrival === "poisson" ? `${at}/rate` : `${at}/burst`,
        `expected at most ${JOBS_MAX.toLocaleString("en")} jobs in a run, found up to ${Math.round(jobs).toLocaleString("en")}`,
      );
  }
  const span = scenario.durationMs + (scenario.drainMs ?? DEFAULT_DRAIN_MS);
  if (scenario.intervalMs !== undefined && span / scenario.intervalMs > INTERVALS_MAX)
    throw new ScenarioError(
      file,
      "/intervalMs",
      `expected at most ${INTERVALS_MAX.toLocaleString("en")} intervals over the run (durationMs + drainMs = ${span}), found ${Math.ceil(span / scenario.intervalMs)}`,
    );
  return scenario;
}

/** The names a scenario uses against the topology it runs on. */
export function checkAgainst(scenario: Scenario, topology: Topology, satelliteIds: readonly string[]): void {
  const fail = (path: string, message: string): never => {
    throw new ScenarioError(scenario.file, path, message);
  };
  const types = Object.keys(topology.types);
  const hosts = new Set(Object.keys(topology.hosts));
  const buckets = new Set<string>(hosts);
  for (const placement of Object.values(topology.hosts))
    for (const b of Object.values(placement)) buckets.add(b);
  for (const type of Object.keys(scenario.load))
    if (!types.includes(type))
      fail(
        `/load/${escapePointer(type)}`,
        `expected a type of the topology (${types.join(", ")}), found "${type}"`,
      );
  for (const type of Object.keys(scenario.service ?? {}))
    if (!types.includes(type))
      fail(
        `/service/${escapePointer(type)}`,
        `expected a type of the topology (${types.join(", ")}), found "${type}"`,
      );
  const host = scenario.orchestrator?.host;
  if (host !== undefined && !hosts.has(host))
    fail("/orchestrator/host", `expected a host of the topology, found "${host}"`);
  const nodes = (topology.orchestrators ?? []).map((node) => node.id);
  const several = `several orchestrators (the topology's "orchestrators": ${nodes.length === 0 ? "none" : nodes.join(", ")})`;
  for (const [node, at] of Object.entries(scenario.orchestrator?.hosts ?? {})) {
    const path = `/orchestrator/hosts/${escapePointer(node)}`;
    if (!nodes.includes(node)) fail(path, `expected a node of ${several}, found "${node}"`);
    if (!hosts.has(at)) fail(path, `expected a host of the topology, found "${at}"`);
  }
  // Hosts added by events count as known from their event on.
  const added = new Set<string>();
  const ids = new Set(satelliteIds);
  const checkTarget = (target: Target, path: string) => {
    if ("satellite" in target && !ids.has(target.satellite)) {
      // A satellite of an added host is named TYPE@HOST or TYPE@HOST#N (as satelliteInstances does).
      const host = /^[^@]+@([^#]+)(#\d+)?$/.exec(target.satellite)?.[1];
      if (host === undefined || !added.has(host))
        fail(
          `${path}/satellite`,
          `expected a satellite of the topology (TYPE@HOST or TYPE@HOST#N, e.g. ${[...ids].slice(0, 3).join(", ")}), found "${target.satellite}"`,
        );
    }
    if ("host" in target && !hosts.has(target.host) && !added.has(target.host))
      fail(`${path}/host`, `expected a host of the topology or one added earlier, found "${target.host}"`);
    if ("domain" in target && !buckets.has(target.domain) && !added.has(target.domain))
      fail(`${path}/domain`, `expected a bucket of the topology's hierarchy, found "${target.domain}"`);
  };
  for (const [i, override] of (scenario.satellites ?? []).entries())
    checkTarget(override.target, `/satellites/${i}/target`);
  const above = topology.hierarchy.slice(0, -1);
  const events = [...(scenario.events ?? [])]
    .map((event, i) => ({ event, i }))
    .sort((a, b) => a.event.atMs - b.event.atMs);
  for (const { event, i } of events) {
    const path = `/events/${i}`;
    if (event.atMs > scenario.durationMs + (scenario.drainMs ?? DEFAULT_DRAIN_MS))
      fail(
        `${path}/atMs`,
        `expected a time within the run (at most durationMs + drainMs), found ${event.atMs}`,
      );
    if ("target" in event) checkTarget(event.target, `${path}/target`);
    if (event.action === "add-host") {
      if (hosts.has(event.host) || added.has(event.host))
        fail(`${path}/host`, `expected a new host name, found "${event.host}", already a host`);
      for (const level of above)
        if (event.location[level] === undefined)
          fail(`${path}/location/${level}`, `expected the host's ${level}, found nothing`);
      for (const level of Object.keys(event.location))
        if (!above.includes(level))
          fail(
            `${path}/location/${escapePointer(level)}`,
            `expected a level above host (${above.join(", ")}), found "${level}"`,
          );
      (event.types ?? []).forEach((type, t) => {
        if (!types.includes(type))
          fail(`${path}/types/${t}`, `expected a type of the topology, found "${type}"`);
      });
      added.add(event.host);
      for (const bucket of Object.values(event.location)) added.add(bucket);
    }
    if (event.action === "kill-leader" && nodes.length < 2)
      fail(
        `${path}/action`,
        `expected ${several} for kill-leader, found ${nodes.length === 0 ? "one" : "one node"}`,
      );
    if (event.action === "restart-orchestrator" && !nodes.includes(event.node))
      fail(`${path}/node`, `expected a node of ${several}, found "${event.node}"`);
    if (event.action === "set-timeout" && !types.includes(event.type))
      fail(`${path}/type`, `expected a type of the topology (${types.join(", ")}), found "${event.type}"`);
  }
}

export const DEFAULT_DRAIN_MS = 60_000;
/** Jobs one run may generate (each is held until answered, with its latency kept). */
const JOBS_MAX = 50_000_000;
/** Timeline intervals in one run. */
const INTERVALS_MAX = 100_000;

/** The scenario schema (scenarios/scenario.schema.json), its errors as one sentence. */
const schemaProblem = schemaChecker(SCENARIO_SCHEMA_FILE, { preferOneOf: true });
