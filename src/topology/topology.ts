// Topology files: where the orchestrator listens, the failure-domain hierarchy and where each host
// sits, the job types and the satellites that serve them (docs/topology.md).
//
// {
//   "$schema": "./topology.schema.json",
//   "orchestrator": { "frontend": "tcp://127.0.0.1:5555", "intake": "...", "events": "...", "control": "...",
//                     "heartbeatMs": 1000 },
//   "hierarchy": ["rack", "host"],
//   "hosts": { "h1": { "rack": "r1" }, "h2": { "rack": "r2" } },
//   "types": { "echo": { "module": "../satellites/echo.ts", "instancesPerHost": 1, "concurrency": 8,
//                        "replicas": 3, "failureDomain": "host", "timeoutMs": 5000, "next": "store" } }
// }
//
// Loading is three passes: JSON (with the position of a syntax error), the JSON Schema
// (topologies/topology.schema.json), then the checks the schema cannot express: names that must
// exist (hosts, types, levels, buckets), cycles in `next`, and rules (names, and that a rule gives
// its type's satellites candidates at all; fewer than replicas is only `check`'s "degraded"). Files
// the topology names (keys, modules) are not opened here: `check` looks for them (report.ts).
// Every error names the file, the JSON Pointer, what was expected and what was found.
import { dirname, resolve } from "node:path";
import {
  type CrushMap,
  type RuleSpec,
  RuleSpecError,
  type RuleStepSpec,
  resolveRule,
} from "../crush/index.ts";
import type {
  DiskSpillConfig,
  JobTypeConfig,
  JournalConfig,
  LocalityConfig,
  ScoresConfig,
} from "../orchestrator/index.ts";
import { buildMap, type PlacementMember, TypePlacement } from "../orchestrator/index.ts";
import type { Limits } from "../protocol/index.ts";
import type { TrackerConfig } from "../tracker/index.ts";
import { sampleCandidates, whyNoCandidates } from "./candidates.ts";
import { readJsonFile } from "./json-file.ts";
import {
  orchestratorNodesProblem,
  resolveOrchestratorNodes,
  sharedEndpoints,
  type TopologyOrchestratorNode,
} from "./orchestrators.ts";
import { parseRuleText, RuleTextError } from "./rule-text.ts";
import { describe, escapePointer, schemaProblem } from "./schema.ts";

export interface TopologyType extends JobTypeConfig {
  /** Satellite program (a module whose default export is defineSatellite(...)), relative to the file. */
  module?: string;
  /** Satellites on each of the type's hosts (default 1). */
  instancesPerHost?: number;
  /** Satellites in all, spread over the type's hosts round-robin across failure domains. */
  instances?: number;
  /** Hosts this type runs on (default: every host). */
  hosts?: string[];
  concurrency?: number;
  weight?: number;
  env?: Record<string, string>;
  /** The rule as written, when it was crushtool text (`rule` holds it parsed). */
  ruleText?: string;
}

export interface Topology {
  /** Absolute path of the file it came from. */
  file: string;
  orchestrator: {
    frontend: string;
    intake?: string;
    events?: string;
    control?: string;
    /** Let control bind beyond this host without CURVE (docs/security.md, "Control roles"). */
    insecureControl?: boolean;
    /** Prometheus metrics, "host:port" (docs/observability.md); not part of OrchestratorConfig. */
    metrics?: string;
    /** Let metrics listen beyond this host. */
    insecureMetrics?: boolean;
    /** Accept satellites for undeclared job types (default false). */
    dynamicTypes?: boolean;
    heartbeatMs?: number;
    limits?: Partial<Limits>;
    /** Tracker settings (docs/tracker.md): ackTimeoutMs, stallTimeoutMs, breaker..., backoff... */
    tracker?: Partial<TrackerConfig>;
    /** CURVE + ZAP (docs/security.md); paths made absolute (relative to the file) on load. */
    security?: TopologySecurity;
    /** Durable jobs (docs/journal.md); `dir` made absolute (relative to the file) on load. */
    journal?: JournalConfig;
    /** Disk spill of queued jobs (docs/journal.md); `dir` made absolute (relative to the file) on load. */
    diskSpill?: DiskSpillConfig | false;
    /** Satellites' scores from their load (docs/operations.md, "Scores"). */
    scores?: ScoresConfig;
  };
  /**
   * Replicated orchestrators (orchestrators.ts), with absolute dirs; `orchestrator`'s endpoints are
   * then every node's, comma-separated.
   */
  orchestrators?: TopologyOrchestratorNode[];
  /** Failure-domain levels, outermost first, ending with "host". */
  hierarchy: string[];
  /** Host -> its bucket at each level above host. */
  hosts: Record<string, Record<string, string>>;
  types: Record<string, TopologyType>;
  /** Placement near the data (docs/locality.md); `hostnamesFile` made absolute on load. */
  locality?: LocalityConfig;
}

export interface TopologySecurity {
  /** The orchestrator's NAME.key; its NAME.pub (next to it) is what clients and satellites need. */
  serverKey: string;
  /** Directory of the admins' NAME.pub files (control commands jobs, retry, reload-keys, memory). */
  admins?: string;
  /** Directory of the allowed clients' NAME.pub files. */
  clients?: string;
  /** Directory of the allowed satellites' NAME.pub files. */
  satellites?: string;
  /** Satellite key name (NAME or NAME.pub) -> job types it may serve. */
  satelliteTypes?: Record<string, string[]>;
}

/** The orchestrator's public key file of a secured topology: serverKey with .key -> .pub. */
export function serverPublicKeyFile(security: TopologySecurity): string {
  return `${security.serverKey.replace(/\.key$/, "")}.pub`;
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

/** The bucket at the top of every type's map (CRUSH's root), which rules `take`. */
export const ROOT_BUCKET = "default";
/** Level names a rule may use besides the hierarchy's: devices and the root. */
export const EXTRA_LEVELS = ["satellite", "root"] as const;
/** A type's replicas when it names none (the orchestrator's default). */
export const DEFAULT_REPLICAS = 3;
/** Keys mapped at load time to tell a rule that gives no candidate at all (check maps 10,000). */
const LOAD_SAMPLES = 64;

/** Reads and checks a topology file. Errors name `file` as given. */
export function loadTopology(file: string): Topology {
  const json = readJsonFile(file, (path, message) => new TopologyError(file, path, message));
  return parseTopology(json, file);
}

/** Checks parsed JSON as a topology; `file` is where it came from (module paths are relative to it). */
export function parseTopology(json: unknown, file: string): Topology {
  const problem = schemaProblem(json);
  if (problem !== undefined) throw new TopologyError(file, problem.path, problem.message);
  const raw = json as RawTopology;
  const topology: Topology = {
    file: resolve(file),
    orchestrator: {
      ...raw.orchestrator,
      ...(raw.orchestrator.security !== undefined
        ? { security: resolveSecurityPaths(raw.orchestrator.security, dirname(resolve(file))) }
        : {}),
      ...(raw.orchestrator.journal !== undefined
        ? {
            journal: {
              ...raw.orchestrator.journal,
              dir: resolve(dirname(resolve(file)), raw.orchestrator.journal.dir),
            },
          }
        : {}),
      ...(raw.orchestrator.diskSpill !== undefined && raw.orchestrator.diskSpill !== false
        ? {
            diskSpill: {
              ...raw.orchestrator.diskSpill,
              ...(raw.orchestrator.diskSpill.dir !== undefined
                ? { dir: resolve(dirname(resolve(file)), raw.orchestrator.diskSpill.dir) }
                : {}),
            },
          }
        : {}),
    },
    hierarchy: raw.hierarchy ?? ["host"],
    hosts: raw.hosts,
    types: {},
    ...(raw.locality !== undefined
      ? {
          locality: {
            ...raw.locality,
            ...(raw.locality.hostnamesFile !== undefined
              ? { hostnamesFile: resolve(dirname(resolve(file)), raw.locality.hostnamesFile) }
              : {}),
          },
        }
      : {}),
  };
  if (raw.orchestrators !== undefined) {
    const nodesProblem = orchestratorNodesProblem(raw.orchestrators, raw.orchestrator);
    if (nodesProblem !== undefined) throw new TopologyError(file, nodesProblem.path, nodesProblem.message);
    const nodes = resolveOrchestratorNodes(
      raw.orchestrators,
      dirname(resolve(file)),
      topology.orchestrator.journal?.dir,
    );
    topology.orchestrators = nodes;
    topology.orchestrator = { ...topology.orchestrator, ...sharedEndpoints(nodes) };
  }
  const check = new Semantics(file, topology);
  check.hierarchy();
  check.hosts();
  for (const [name, type] of Object.entries(raw.types)) topology.types[name] = check.type(name, type, raw);
  check.pipelines();
  check.rulesFit();
  return topology;
}

interface RawType extends Omit<TopologyType, "rule" | "ruleText"> {
  rule?: string | RuleStepSpec[] | RuleSpec;
}

interface RawTopology {
  orchestrator: Topology["orchestrator"];
  orchestrators?: TopologyOrchestratorNode[];
  hierarchy?: string[];
  hosts: Record<string, Record<string, string>>;
  types: Record<string, RawType>;
  locality?: LocalityConfig;
}

/** At most `max` names, then "...". */
export function listNames(names: readonly string[], max = 12): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")}, ...`;
}

class Semantics {
  /** Bucket name -> its level and the host that first placed it (hosts are buckets too). */
  private readonly buckets = new Map<string, { level: string; parents: string; host: string }>();
  /** Rule path -> where its steps are, for checks after the rule was read. */
  readonly stepsOf = new Map<string, (index: number, key?: string) => [string, string]>();

  constructor(
    private readonly file: string,
    private readonly topology: Topology,
  ) {}

  fail(path: string, message: string): never {
    throw new TopologyError(this.file, path, message);
  }

  hierarchy(): void {
    const { hierarchy } = this.topology;
    if (hierarchy[hierarchy.length - 1] !== "host") {
      this.fail("/hierarchy", `expected levels ending with "host", found ${describe(hierarchy)}`);
    }
  }

  hosts(): void {
    const { hierarchy, hosts } = this.topology;
    const above = hierarchy.slice(0, -1);
    this.buckets.set(ROOT_BUCKET, { level: "root", parents: "", host: "" });
    for (const [host, placement] of Object.entries(hosts)) {
      for (const level of Object.keys(placement)) {
        if (!above.includes(level)) {
          this.fail(
            `/hosts/${escapePointer(host)}/${escapePointer(level)}`,
            `expected a level of the hierarchy above host (${above.join(", ") || "none"}), found ${describe(level)}`,
          );
        }
      }
      const parents: string[] = [];
      for (const level of hierarchy) {
        const name = level === "host" ? host : placement[level];
        if (name === undefined) continue;
        const path =
          level === "host" ? `/hosts/${escapePointer(host)}` : `/hosts/${escapePointer(host)}/${level}`;
        const seen = this.buckets.get(name);
        const where = parents.join("/");
        if (seen === undefined) {
          this.buckets.set(name, { level, parents: where, host });
        } else if (seen.level !== level) {
          const owner = seen.level === "root" ? "the root bucket" : `a ${seen.level} (host ${seen.host})`;
          this.fail(
            path,
            `expected a ${level} name not used for another bucket, found ${describe(name)}, already ${owner}`,
          );
        } else if (seen.parents !== where) {
          this.fail(
            path,
            `expected ${level} ${JSON.stringify(name)} in one place (${seen.parents || "the root"}, as for host ${seen.host}), found it under ${where || "the root"}`,
          );
        }
        parents.push(name);
      }
    }
  }

  type(name: string, raw: RawType, topology: RawTopology): TopologyType {
    const path = `/types/${escapePointer(name)}`;
    const { hierarchy } = this.topology;
    for (const [index, host] of (raw.hosts ?? []).entries()) {
      if (!Object.hasOwn(this.topology.hosts, host)) {
        this.fail(
          `${path}/hosts/${index}`,
          `expected a host declared under /hosts (${listNames(Object.keys(this.topology.hosts))}), found ${describe(host)}`,
        );
      }
    }
    const levels = [...hierarchy, "satellite"];
    if (raw.failureDomain !== undefined && !levels.includes(raw.failureDomain)) {
      this.fail(
        `${path}/failureDomain`,
        `expected a hierarchy level (${levels.join(", ")}), found ${describe(raw.failureDomain)}`,
      );
    }
    const next = raw.next === undefined ? [] : Array.isArray(raw.next) ? raw.next : [raw.next];
    next.forEach((step, index) => {
      if (!Object.hasOwn(topology.types, step)) {
        this.fail(
          Array.isArray(raw.next) ? `${path}/next/${index}` : `${path}/next`,
          `expected a type declared under /types (${listNames(Object.keys(topology.types))}), found ${describe(step)}`,
        );
      }
    });
    const { rule: rawRule, ...rest } = raw;
    const type: TopologyType = { ...rest };
    if (rawRule !== undefined) {
      const rule = this.rule(`${path}/rule`, rawRule);
      type.rule = rule;
      if (typeof rawRule === "string") type.ruleText = rawRule;
    }
    return type;
  }

  /** Reads a rule in any form and checks its names against the hierarchy. */
  private rule(path: string, raw: string | RuleStepSpec[] | RuleSpec): RuleSpec {
    let spec: RuleSpec;
    /** Where step `index` (its `key`) is: a JSON Pointer, and "line N: " for rule text. */
    let where: (index: number, key?: string) => [string, string];
    if (typeof raw === "string") {
      let lines: number[];
      try {
        ({ spec, lines } = parseRuleText(raw));
      } catch (error) {
        if (error instanceof RuleTextError) this.fail(path, error.message);
        throw error;
      }
      where = (index) => [path, `line ${lines[index]}: `];
    } else {
      spec = Array.isArray(raw) ? { steps: raw } : raw;
      const steps = Array.isArray(raw) ? path : `${path}/steps`;
      where = (index, key) => [`${steps}/${index}${key === undefined ? "" : `/${key}`}`, ""];
    }
    this.stepsOf.set(path, where);
    const levels = [...this.topology.hierarchy, ...EXTRA_LEVELS];
    let working = false;
    spec.steps.forEach((step, index) => {
      const at = (key?: string) => where(index, key);
      switch (step.op) {
        case "use": {
          if (!this.buckets.has(step.bucket)) {
            const [p, prefix] = at("bucket");
            this.fail(
              p,
              `${prefix}expected a bucket of the hierarchy (${listNames([...this.buckets.keys()])}), found ${describe(step.bucket)}`,
            );
          }
          working = true;
          break;
        }
        case "select":
        case "take":
        case "choose": {
          if (!working) {
            const [p, prefix] = at();
            this.fail(
              p,
              `${prefix}expected a take (op "use") before this step, found none since the last emit`,
            );
          }
          if (step.type !== undefined && !levels.includes(step.type)) {
            const [p, prefix] = at("type");
            this.fail(
              p,
              `${prefix}expected a bucket type (${levels.join(", ")}), found ${describe(step.type)}`,
            );
          }
          break;
        }
        case "emit":
          working = false;
          break;
        default:
          break;
      }
    });
    if (!spec.steps.some((step) => step.op === "emit")) {
      this.fail(path, "expected an emit step (without one the rule places nothing), found none");
    }
    return spec;
  }

  /**
   * Each rule against its type's own map (the buckets above the type's satellites only), as the
   * orchestrator will resolve it: a `take` of a bucket none of the type's hosts sit under fails there.
   */
  rulesFit(): void {
    const instances = satelliteInstances(this.topology);
    for (const [name, type] of Object.entries(this.topology.types)) {
      if (type.rule === undefined) continue;
      const members = instances.filter((instance) => instance.type === name);
      if (members.length === 0) continue;
      const path = `/types/${escapePointer(name)}/rule`;
      const map = typeMap(this.topology, members);
      const names = new Set<string>();
      const ids = [...map.itemNames.keys()].filter((id) => id < 0).sort((a, b) => b - a);
      for (const id of ids) names.add(map.itemNames.get(id) as string);
      type.rule.steps.forEach((step, index) => {
        if (step.op === "use" && !names.has(step.bucket)) {
          const [p, prefix] = this.stepsOf.get(path)?.(index, "bucket") ?? [path, ""];
          this.fail(
            p,
            `${prefix}expected a bucket holding some of ${name}'s satellites (${listNames([...names])}), found ${describe(step.bucket)}`,
          );
        }
      });
      try {
        resolveRule(type.rule, map, 0, path);
      } catch (error) {
        if (error instanceof RuleSpecError) this.fail(error.path, error.message.slice(error.path.length + 2));
        throw error;
      }
      // Valid names can still select nothing (`take r1; choose firstn 2 type rack` with r1 a rack):
      // every job would fail with no satellite. Fewer candidates than replicas is only degraded.
      const placement = typePlacement(this.topology, name, members);
      if (sampleCandidates(placement, LOAD_SAMPLES).max === 0) {
        const why = whyNoCandidates(placement.crushMap, type.replicas ?? DEFAULT_REPLICAS);
        const count = `${members.length} satellite${members.length === 1 ? "" : "s"}`;
        this.fail(
          path,
          `expected a rule that gives jobs candidates among ${name}'s ${count}, found 0 candidates for all ${LOAD_SAMPLES} keys mapped${why === undefined ? "" : `: ${why}`}`,
        );
      }
    }
  }

  pipelines(): void {
    const { types } = this.topology;
    const nextOf = (name: string): string[] => {
      const next = types[name]?.next;
      return next === undefined ? [] : Array.isArray(next) ? next : [next];
    };
    const done = new Set<string>();
    const visit = (name: string, stack: string[]): void => {
      const loop = stack.indexOf(name);
      if (loop >= 0) {
        const cycle = [...stack.slice(loop), name];
        this.fail(
          `/types/${escapePointer(stack[stack.length - 1])}/next`,
          `expected a pipeline that ends, found the loop ${cycle.join(" -> ")}`,
        );
      }
      if (done.has(name)) return;
      for (const step of nextOf(name)) visit(step, [...stack, name]);
      done.add(name);
    };
    for (const name of Object.keys(types)) visit(name, []);
  }
}

function resolveSecurityPaths(security: TopologySecurity, dir: string): TopologySecurity {
  return {
    ...security,
    serverKey: resolve(dir, security.serverKey),
    ...(security.admins !== undefined ? { admins: resolve(dir, security.admins) } : {}),
    ...(security.clients !== undefined ? { clients: resolve(dir, security.clients) } : {}),
    ...(security.satellites !== undefined ? { satellites: resolve(dir, security.satellites) } : {}),
  };
}

/** A host's path in the hierarchy, outermost first, ending with the host itself. */
export function hostLocation(topology: Topology, host: string): Array<[string, string]> {
  const placement = topology.hosts[host];
  if (placement === undefined)
    throw new TopologyError(topology.file, `/hosts/${escapePointer(host)}`, "no such host in the topology");
  const location: Array<[string, string]> = [];
  for (const level of topology.hierarchy) {
    if (level === "host") location.push(["host", host]);
    else if (placement[level] !== undefined) location.push([level, placement[level]]);
  }
  return location;
}

/**
 * `hosts` reordered so that consecutive hosts differ at the outermost level where they can:
 * round-robin over the datacenters, within each over its racks, and so on (declaration order).
 */
export function spreadOrder(topology: Topology, hosts: readonly string[]): string[] {
  const { hierarchy } = topology;
  const spread = (group: readonly string[], level: number): string[] => {
    if (level >= hierarchy.length - 1 || group.length <= 1) return [...group];
    const byBucket = new Map<string, string[]>();
    for (const host of group) {
      const key = topology.hosts[host]?.[hierarchy[level]] ?? "";
      const members = byBucket.get(key);
      if (members === undefined) byBucket.set(key, [host]);
      else members.push(host);
    }
    const ordered = [...byBucket.values()].map((members) => spread(members, level + 1));
    const result: string[] = [];
    for (let round = 0; result.length < group.length; round++) {
      for (const members of ordered) if (round < members.length) result.push(members[round]);
    }
    return result;
  };
  return spread(hosts, 0);
}

/**
 * Every satellite process the topology asks for. Per type: `instancesPerHost` (default 1) on each of
 * its hosts, or `instances` in all, dealt round-robin over spreadOrder(hosts) so consecutive
 * instances land in different datacenters/racks. A host with one instance of a type names it
 * `type@host`; with several, `type@host#1`, `type@host#2`, ...
 */
export function satelliteInstances(topology: Topology): SatelliteInstance[] {
  const instances: SatelliteInstance[] = [];
  const base = dirname(topology.file);
  for (const [type, config] of Object.entries(topology.types)) {
    if (config.module === undefined) continue;
    const hosts = config.hosts ?? Object.keys(topology.hosts);
    const make = (host: string, index: number, count: number): SatelliteInstance => ({
      id: count === 1 ? `${type}@${host}` : `${type}@${host}#${index}`,
      type,
      host,
      module: resolve(base, config.module as string),
      location: hostLocation(topology, host),
      concurrency: config.concurrency ?? 1,
      weight: config.weight ?? 1,
      env: config.env ?? {},
    });
    if (config.instances !== undefined) {
      const order = spreadOrder(topology, hosts);
      if (order.length === 0) continue;
      const countOn = (position: number) =>
        Math.floor(config.instances! / order.length) + (position < config.instances! % order.length ? 1 : 0);
      for (let n = 0; n < config.instances; n++) {
        const position = n % order.length;
        instances.push(make(order[position], Math.floor(n / order.length) + 1, countOn(position)));
      }
    } else {
      const count = config.instancesPerHost ?? 1;
      for (const host of hosts)
        for (let index = 1; index <= count; index++) instances.push(make(host, index, count));
    }
  }
  return instances;
}

/** The CRUSH map the orchestrator builds for a type whose satellites are `members` (devices 0..n-1). */
export function typeMap(topology: Topology, members: readonly SatelliteInstance[]): CrushMap {
  return buildMap(topology.hierarchy, placementMembers(members));
}

/** Satellite instances as CRUSH devices 0..n-1, all placeable. */
function placementMembers(members: readonly SatelliteInstance[]): PlacementMember[] {
  return members.map((member, device) => ({
    device,
    satelliteId: member.id,
    location: member.location,
    weight: member.weight,
    placeable: true,
  }));
}

/**
 * The placement the orchestrator builds for a type whose satellites are `members` (devices 0..n-1,
 * all placeable): its CRUSH map and rule, and `candidates(x)`.
 */
export function typePlacement(
  topology: Topology,
  name: string,
  members: readonly SatelliteInstance[],
): TypePlacement {
  const type = topology.types[name];
  return new TypePlacement(
    name,
    topology.hierarchy,
    {
      replicas: type.replicas ?? DEFAULT_REPLICAS,
      failureDomain: type.failureDomain ?? topology.hierarchy.at(-1) ?? "host",
      rule: type.rule,
    },
    placementMembers(members),
    1,
  );
}
