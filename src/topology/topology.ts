// Topology files: where the orchestrator listens, the failure-domain hierarchy and where each host
// sits, the job types and the satellites that serve them. This is the minimal form the messaging
// core needs; errors name the file, the JSON path, what was expected and what was found.
//
// {
//   "orchestrator": { "frontend": "tcp://127.0.0.1:5555", "intake": "...", "events": "...", "control": "...",
//                     "heartbeatMs": 1000 },
//   "hierarchy": ["rack", "host"],
//   "hosts": { "h1": { "rack": "r1" }, "h2": { "rack": "r2" } },
//   "types": { "echo": { "module": "satellites/echo.ts", "instancesPerHost": 1, "concurrency": 8,
//                        "replicas": 3, "failureDomain": "host", "timeoutMs": 5000, "next": "store" } }
// }
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { JobTypeConfig, OrchestratorConfig } from "../orchestrator/config.ts";
import type { Limits } from "../protocol/limits.ts";
import type { TrackerConfig } from "../tracker/index.ts";

export interface TopologyType extends JobTypeConfig {
  /** Satellite program (a module whose default export is defineSatellite(...)), relative to the file. */
  module?: string;
  instancesPerHost?: number;
  /** Hosts this type runs on (default: every host). */
  hosts?: string[];
  concurrency?: number;
  weight?: number;
  env?: Record<string, string>;
}

export interface Topology {
  /** Absolute path of the file it came from. */
  file: string;
  orchestrator: {
    frontend: string;
    intake?: string;
    events?: string;
    control?: string;
    heartbeatMs?: number;
    limits?: Partial<Limits>;
    /** Tracker settings (docs/tracker.md): ackTimeoutMs, stallTimeoutMs, breaker..., backoff... */
    tracker?: Partial<TrackerConfig>;
  };
  hierarchy: string[];
  hosts: Record<string, Record<string, string>>;
  types: Record<string, TopologyType>;
}

export interface SatelliteInstance {
  id: string;
  type: string;
  host: string;
  /** Absolute module path. */
  module: string;
  location: Array<[string, string]>;
  concurrency: number;
  weight: number;
  env: Record<string, string>;
}

export class TopologyError extends Error {
  override name = "TopologyError";
  constructor(
    readonly file: string,
    readonly path: string,
    message: string,
  ) {
    super(`${file}: ${path}: ${message}`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, expected: string, found: unknown): never {
    throw new TopologyError(this.file, path, `expected ${expected}, found ${describe(found)}`);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      this.fail(path, "an object", value);
    return value as Record<string, unknown>;
  }

  string(value: unknown, path: string, pattern?: RegExp): string {
    if (typeof value !== "string" || value.length === 0 || (pattern !== undefined && !pattern.test(value))) {
      this.fail(path, pattern === undefined ? "a non-empty string" : `a string matching ${pattern}`, value);
    }
    return value as string;
  }

  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined ? undefined : this.string(value, path);
  }

  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `an integer in ${min}..${max}`, value);
    }
    return value as number;
  }

  optionalInteger(value: unknown, path: string, min: number, max: number): number | undefined {
    return value === undefined ? undefined : this.integer(value, path, min, max);
  }

  stringArray(value: unknown, path: string): string[] {
    if (!Array.isArray(value)) this.fail(path, "an array of strings", value);
    return (value as unknown[]).map((item, index) => this.string(item, `${path}/${index}`));
  }
}

const ENDPOINT = /^(tcp|ipc|inproc):\/\/.+$/;
const NAME = /^[\x21-\x7e]{1,255}$/;

/** Reads and checks a topology file. */
export function loadTopology(file: string): Topology {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TopologyError(
      path,
      "/",
      `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TopologyError(path, "/", `not valid JSON: ${(error as Error).message}`);
  }
  return parseTopology(json, path);
}

export function parseTopology(json: unknown, file: string): Topology {
  const check = new Checker(file);
  const root = check.object(json, "/");
  const orchestrator = check.object(root.orchestrator, "/orchestrator");
  const endpoints = {
    frontend: check.string(orchestrator.frontend, "/orchestrator/frontend", ENDPOINT),
    intake:
      orchestrator.intake === undefined
        ? undefined
        : check.string(orchestrator.intake, "/orchestrator/intake", ENDPOINT),
    events:
      orchestrator.events === undefined
        ? undefined
        : check.string(orchestrator.events, "/orchestrator/events", ENDPOINT),
    control:
      orchestrator.control === undefined
        ? undefined
        : check.string(orchestrator.control, "/orchestrator/control", ENDPOINT),
    heartbeatMs: check.optionalInteger(orchestrator.heartbeatMs, "/orchestrator/heartbeatMs", 10, 600_000),
    limits:
      orchestrator.limits === undefined
        ? undefined
        : (check.object(orchestrator.limits, "/orchestrator/limits") as Partial<Limits>),
    tracker:
      orchestrator.tracker === undefined
        ? undefined
        : (numbersOnly(check, orchestrator.tracker, "/orchestrator/tracker") as Partial<TrackerConfig>),
  };
  const hierarchy = root.hierarchy === undefined ? ["host"] : check.stringArray(root.hierarchy, "/hierarchy");
  if (!hierarchy.includes("host")) check.fail("/hierarchy", 'a list of levels ending with "host"', hierarchy);
  if (hierarchy[hierarchy.length - 1] !== "host")
    check.fail("/hierarchy", 'the innermost level to be "host"', hierarchy);
  const hosts: Record<string, Record<string, string>> = {};
  const hostsJson = check.object(root.hosts, "/hosts");
  for (const [host, placement] of Object.entries(hostsJson)) {
    check.string(host, `/hosts/${host}`, NAME);
    const levels = check.object(placement, `/hosts/${host}`);
    const located: Record<string, string> = {};
    for (const [level, name] of Object.entries(levels)) {
      if (!hierarchy.includes(level) || level === "host") {
        check.fail(
          `/hosts/${host}/${level}`,
          `a level of the hierarchy above host (${hierarchy.slice(0, -1).join(", ") || "none"})`,
          level,
        );
      }
      located[level] = check.string(name, `/hosts/${host}/${level}`, NAME);
    }
    hosts[host] = located;
  }
  if (Object.keys(hosts).length === 0) check.fail("/hosts", "at least one host", hostsJson);
  const types: Record<string, TopologyType> = {};
  const typesJson = check.object(root.types, "/types");
  for (const [name, raw] of Object.entries(typesJson)) {
    const path = `/types/${name}`;
    check.string(name, path, NAME);
    const type = check.object(raw, path);
    const next =
      type.next === undefined
        ? undefined
        : Array.isArray(type.next)
          ? check.stringArray(type.next, `${path}/next`)
          : check.string(type.next, `${path}/next`);
    for (const step of next === undefined ? [] : Array.isArray(next) ? next : [next]) {
      if (!Object.hasOwn(typesJson, step))
        check.fail(
          `${path}/next`,
          `a type declared under /types (${Object.keys(typesJson).join(", ")})`,
          step,
        );
    }
    const typeHosts = type.hosts === undefined ? undefined : check.stringArray(type.hosts, `${path}/hosts`);
    for (const [index, host] of (typeHosts ?? []).entries()) {
      if (!Object.hasOwn(hosts, host))
        check.fail(`${path}/hosts/${index}`, `a host declared under /hosts`, host);
    }
    const failureDomain = check.optionalString(type.failureDomain, `${path}/failureDomain`);
    if (failureDomain !== undefined && failureDomain !== "satellite" && !hierarchy.includes(failureDomain)) {
      check.fail(
        `${path}/failureDomain`,
        `a hierarchy level (${[...hierarchy, "satellite"].join(", ")})`,
        failureDomain,
      );
    }
    const overflow = type.overflow;
    if (overflow !== undefined && overflow !== "queue" && overflow !== "spill")
      check.fail(`${path}/overflow`, '"queue" or "spill"', overflow);
    types[name] = {
      module: check.optionalString(type.module, `${path}/module`),
      instancesPerHost: check.optionalInteger(type.instancesPerHost, `${path}/instancesPerHost`, 0, 64),
      hosts: typeHosts,
      concurrency: check.optionalInteger(type.concurrency, `${path}/concurrency`, 1, 100_000),
      weight:
        type.weight === undefined
          ? undefined
          : typeof type.weight === "number" && type.weight > 0
            ? type.weight
            : check.fail(`${path}/weight`, "a positive number", type.weight),
      replicas: check.optionalInteger(type.replicas, `${path}/replicas`, 1, 16),
      failureDomain,
      next,
      timeoutMs: check.optionalInteger(type.timeoutMs, `${path}/timeoutMs`, 1, 86_400_000),
      attemptsMax: check.optionalInteger(type.attemptsMax, `${path}/attemptsMax`, 1, 100),
      runTimeoutMs: check.optionalInteger(type.runTimeoutMs, `${path}/runTimeoutMs`, 1, 86_400_000),
      overflow: overflow as TopologyType["overflow"],
      env:
        type.env === undefined
          ? undefined
          : (check.object(type.env, `${path}/env`) as Record<string, string>),
    };
  }
  return { file, orchestrator: endpoints, hierarchy, hosts, types };
}

/** An object of numbers (tracker settings are all numbers; the tracker checks their ranges). */
function numbersOnly(check: Checker, value: unknown, path: string): Record<string, number> {
  const object = check.object(value, path);
  for (const [name, field] of Object.entries(object)) {
    if (typeof field !== "number" || !Number.isFinite(field))
      check.fail(`${path}/${name}`, "a number", field);
  }
  return object as Record<string, number>;
}

/** The orchestrator's configuration from a topology. */
export function orchestratorConfig(topology: Topology): OrchestratorConfig {
  const { orchestrator } = topology;
  const types: Record<string, JobTypeConfig> = {};
  for (const [name, type] of Object.entries(topology.types)) {
    types[name] = {
      replicas: type.replicas,
      failureDomain: type.failureDomain,
      next: type.next,
      timeoutMs: type.timeoutMs,
      attemptsMax: type.attemptsMax,
      overflow: type.overflow,
      runTimeoutMs: type.runTimeoutMs,
    };
  }
  return {
    frontend: orchestrator.frontend,
    intake: orchestrator.intake,
    events: orchestrator.events,
    control: orchestrator.control,
    hierarchy: topology.hierarchy,
    types,
    tracker: orchestrator.tracker,
    limits: {
      ...orchestrator.limits,
      ...(orchestrator.heartbeatMs !== undefined ? { heartbeatMs: orchestrator.heartbeatMs } : {}),
    },
  };
}

/** A host's path in the hierarchy, outermost first, ending with the host itself. */
export function hostLocation(topology: Topology, host: string): Array<[string, string]> {
  const placement = topology.hosts[host];
  if (placement === undefined)
    throw new TopologyError(topology.file, `/hosts/${host}`, "no such host in the topology");
  const location: Array<[string, string]> = [];
  for (const level of topology.hierarchy) {
    if (level === "host") location.push(["host", host]);
    else if (placement[level] !== undefined) location.push([level, placement[level]]);
  }
  return location;
}

/** Every satellite process the topology asks for: per type, instancesPerHost on each of its hosts. */
export function satelliteInstances(topology: Topology): SatelliteInstance[] {
  const instances: SatelliteInstance[] = [];
  const base = dirname(topology.file);
  for (const [type, config] of Object.entries(topology.types)) {
    if (config.module === undefined) continue;
    const count = config.instancesPerHost ?? 1;
    for (const host of config.hosts ?? Object.keys(topology.hosts)) {
      for (let index = 1; index <= count; index++) {
        instances.push({
          id: count === 1 ? `${type}@${host}` : `${type}@${host}#${index}`,
          type,
          host,
          module: resolve(base, config.module),
          location: hostLocation(topology, host),
          concurrency: config.concurrency ?? 1,
          weight: config.weight ?? 1,
          env: config.env ?? {},
        });
      }
    }
  }
  return instances;
}
