// `dsat rebalance` without --dry-run (docs/operations.md, "Rebalance"): the change goes to the
// running orchestrator through the control commands an operator would type (drain, undrain,
// score-lock), then `rebalance` moves the queued keyed jobs whose first candidate changed.
import type { FleetChange } from "../topology/index.ts";
import { UsageError } from "./errors.ts";

/** A control request and its reply (adminControl, bound to a topology). */
export type Control = (
  request: { cmd: string } & Record<string, unknown>,
) => Promise<Record<string, unknown>>;

export interface AppliedMove {
  id: string;
  key: string;
  type: string;
  from: string;
  to: string;
}

export interface AppliedRebalance {
  /** One line per change sent ("drain h11: scan@h11"). */
  changes: string[];
  moves: AppliedMove[];
  /** Jobs that should move but whose new satellite's queue was full, and those left by maxMoves. */
  full: number;
  left: number;
}

/** How many pages of `jobs` liveKeys reads at most (1000 jobs each). */
const KEY_PAGES_MAX = 100;

/** The distinct keys of the live jobs the orchestrator holds (the control command `jobs`, admin). */
export async function liveKeys(control: Control): Promise<string[]> {
  const keys = new Set<string>();
  let after: string | null = null;
  for (let page = 0; page < KEY_PAGES_MAX; page++) {
    const reply = (await control({
      cmd: "jobs",
      state: "live",
      limit: 1000,
      ...(after === null ? {} : { after }),
    })) as {
      ok?: boolean;
      error?: string;
      jobs?: Array<{ key?: string | null }>;
      next?: string | null;
    };
    if (reply.ok !== true) throw new UsageError(`rebalance: jobs: ${reply.error ?? "refused"}`);
    for (const job of reply.jobs ?? []) if (typeof job.key === "string") keys.add(job.key);
    after = reply.next ?? null;
    if (after === null) break;
  }
  return [...keys];
}

/** Sends `change`, then `rebalance`; any refusal stops it with the command that was refused. */
export async function applyRebalance(
  control: Control,
  change: FleetChange,
  maxMoves: number | undefined,
): Promise<AppliedRebalance> {
  const changes: string[] = [];
  const send = async (what: string, request: { cmd: string } & Record<string, unknown>) => {
    const reply = await control(request);
    if (reply.ok !== true) throw new UsageError(`rebalance: ${what}: ${String(reply.error ?? "refused")}`);
    const named = (reply.satellites as string[] | undefined) ?? [];
    changes.push(`${what}: ${named.join(", ") || "no satellite registered now"}`);
  };
  for (const target of change.drain) await send(`drain ${target}`, { cmd: "drain", target });
  for (const target of change.undrain) await send(`undrain ${target}`, { cmd: "undrain", target });
  for (const [target, score] of change.scores)
    await send(`score lock ${target} ${score}`, { cmd: "score-lock", target, score });
  const reply = await control({ cmd: "rebalance", ...(maxMoves === undefined ? {} : { maxMoves }) });
  if (reply.ok !== true) throw new UsageError(`rebalance: ${String(reply.error ?? "refused")}`);
  return {
    changes,
    moves: (reply.moves as AppliedMove[] | undefined) ?? [],
    full: Number(reply.full ?? 0),
    left: Number(reply.left ?? 0),
  };
}
