// Replicated orchestrators on the dashboard (docs/observability.md, "Dashboard"): each node's admin
// socket is asked `orch-status` once per tick, all at once, as `dsat orch status` does. A node that
// does not answer within the tick is shown unreachable; the answers are kept as the page shows them.
import { controlRequest } from "../client/index.ts";
import type { OrchestratorRow } from "./model.ts";

export interface OrchestratorNodeEndpoint {
  id: string;
  /** Its admin socket (connect address). */
  admin: string;
}

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);
const count = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;

/** One `orch-status` reply as a row; anything missing or of the wrong type is null. */
export function orchestratorRow(id: string, reply: unknown): OrchestratorRow {
  if (typeof reply !== "object" || reply === null || Array.isArray(reply))
    return unreachable(id, "malformed orch-status reply");
  const status = reply as Record<string, unknown>;
  if (status.ok === false) return unreachable(id, text(status.error) ?? "orch-status refused");
  const health = text(status.health);
  return {
    id,
    role: text(status.role) ?? "?",
    mode: text(status.mode),
    term: count(status.term),
    commit: count(status.commit),
    applied: count(status.applied),
    lag: count(status.lag),
    serving: status.serving === true,
    health: health === "green" || health === "yellow" || health === "red" ? health : "red",
    leader: text(status.leader),
    error: null,
  };
}

function unreachable(id: string, error: string): OrchestratorRow {
  return {
    id,
    role: "unreachable",
    mode: null,
    term: null,
    commit: null,
    applied: null,
    lag: null,
    serving: false,
    health: "red",
    leader: null,
    error,
  };
}

/** Asks every node at once; resolves with one row per node, in the topology's order. */
export function pollOrchestratorNodes(
  nodes: readonly OrchestratorNodeEndpoint[],
  timeoutMs: number,
): Promise<OrchestratorRow[]> {
  return Promise.all(
    nodes.map((node) =>
      controlRequest(node.admin, "orch-status", timeoutMs).then(
        (reply) => orchestratorRow(node.id, reply),
        (error: unknown) => unreachable(node.id, (error as Error).message),
      ),
    ),
  );
}
