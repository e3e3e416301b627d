// Loading a topology file (docs/topology.md) into a Topology (topology.ts): paths made absolute
// (relative to the file), replicated orchestrators' endpoints shared.
//
// Loading is three passes: JSON (with the position of a syntax error), the JSON Schema
// (topologies/topology.schema.json), then the checks the schema cannot express: names that must
// exist (hosts, types, levels, buckets), cycles in `next`, and rules (names, and that a rule gives
// its type's satellites candidates at all; fewer than replicas is only `check`'s "degraded"). Files
// the topology names (keys, modules) are not opened here: `check` looks for them (report.ts).
// Every error names the file, the JSON Pointer, what was expected and what was found.
import { dirname, resolve } from "node:path";
import { readJsonFile } from "./json-file.ts";
import { orchestratorNodesProblem, resolveOrchestratorNodes, sharedEndpoints } from "./orchestrators.ts";
import { schemaProblem } from "./schema.ts";
import { Semantics } from "./semantic-checks.ts";
import { type RawTopology, type Topology, TopologyError, type TopologySecurity } from "./topology.ts";

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

function resolveSecurityPaths(security: TopologySecurity, dir: string): TopologySecurity {
  return {
    ...security,
    serverKey: resolve(dir, security.serverKey),
    ...(security.admins !== undefined ? { admins: resolve(dir, security.admins) } : {}),
    ...(security.clients !== undefined ? { clients: resolve(dir, security.clients) } : {}),
    ...(security.satellites !== undefined ? { satellites: resolve(dir, security.satellites) } : {}),
  };
}
