// Replicated orchestrators in a topology (docs/raft.md, "Replicated orchestrators"): `orchestrators`
// lists each node with its own endpoints and Raft address; `orchestrator` keeps what they share
// (types' settings, limits, tracker, journal retention, security). Clients, satellites and the CLI
// see the list as one comma-separated endpoint per socket, so they reach whichever node leads.
import { resolve } from "node:path";
import type { OrchestratorConfig } from "../orchestrator/index.ts";
import type { Mode } from "../raft/index.ts";

export interface TopologyOrchestratorNode {
  /** The node's id (a Raft node id: letters, digits, "-", "_", "."). */
  id: string;
  /** Candidacy policy (docs/raft.md, "Modes"); default "active". */
  mode?: Mode;
  /**
   * The machine it runs on: `DSAT_HOST=<host> dsat up` starts it there (with that host's
   * satellites). Without one, only a `dsat up` with no host (or with --orchestrator) starts it.
   */
  host?: string;
  /** Where the nodes talk Raft: this node binds it, the others connect to it. */
  raft: string;
  frontend: string;
  intake?: string;
  events?: string;
  control?: string;
  /** Its Raft log and hard state; default `<journal.dir>/<id>`, or `data/<id>` next to the topology. */
  dir?: string;
  /** Prometheus metrics, "host:port", for the node's life: Raft, and its orchestrator's while it leads. */
  metrics?: string;
  /** The node's admin socket for `dsat orch` (bound whether it leads or not). */
  admin?: string;
}

interface SharedEndpoints {
  frontend?: string;
  intake?: string;
  events?: string;
  control?: string;
}

/** Problems with the node list the schema cannot see: a path in the file and what was expected. */
export function orchestratorNodesProblem(
  nodes: readonly TopologyOrchestratorNode[],
  shared: SharedEndpoints,
): { path: string; message: string } | undefined {
  for (const key of ["frontend", "intake", "events", "control"] as const)
    if (shared[key] !== undefined)
      return {
        path: `/orchestrator/${key}`,
        message: `expected no ${key} here: with "orchestrators", each node lists its own (/orchestrators/N/${key})`,
      };
  const seen = new Map<string, number>();
  for (const [index, node] of nodes.entries()) {
    const before = seen.get(node.id);
    if (before !== undefined)
      return {
        path: `/orchestrators/${index}/id`,
        message: `expected a unique id, found "${node.id}" again (also /orchestrators/${before}/id)`,
      };
    seen.set(node.id, index);
  }
  for (const key of ["intake", "events", "control"] as const) {
    const given = nodes.filter((node) => node[key] !== undefined).length;
    if (given !== 0 && given !== nodes.length)
      return {
        path: `/orchestrators/${nodes.findIndex((node) => node[key] === undefined)}`,
        message: `expected ${key} on every node or on none (clients reach whichever node leads)`,
      };
  }
  return undefined;
}

/** The nodes with their directories made absolute. */
export function resolveOrchestratorNodes(
  nodes: readonly TopologyOrchestratorNode[],
  topologyDir: string,
  journalDir: string | undefined,
): TopologyOrchestratorNode[] {
  return nodes.map((node) => ({
    ...node,
    dir:
      node.dir !== undefined
        ? resolve(topologyDir, node.dir)
        : resolve(journalDir ?? resolve(topologyDir, "data"), node.id),
  }));
}

/** One endpoint per socket for clients, satellites and the CLI: every node's, comma-separated. */
export function sharedEndpoints(
  nodes: readonly TopologyOrchestratorNode[],
): SharedEndpoints & { frontend: string } {
  const list = (key: keyof SharedEndpoints) =>
    nodes.every((node) => node[key] !== undefined) ? nodes.map((node) => node[key]).join(",") : undefined;
  return {
    frontend: nodes.map((node) => node.frontend).join(","),
    intake: list("intake"),
    events: list("events"),
    control: list("control"),
  };
}

/** A node's orchestrator: the shared configuration with this node's own endpoints. */
export function nodeOrchestratorConfig(
  shared: OrchestratorConfig,
  node: TopologyOrchestratorNode,
): OrchestratorConfig {
  return {
    ...shared,
    frontend: node.frontend,
    intake: node.intake,
    events: node.events,
    control: node.control,
  };
}
