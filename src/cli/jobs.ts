// `dsat jobs` and `dsat retry`: query and re-run jobs through the orchestrator's control socket
// (finished jobs are kept by a durable orchestrator for journal.retentionMs; docs/journal.md).
import { Command } from "commander";
import { controlRequest } from "../client/index.ts";
import type { JobSummary } from "../orchestrator/index.ts";
import { curveFromEnv, loadTopology } from "../topology/index.ts";
import { formatTable } from "../util/index.ts";
import { UsageError } from "./errors.ts";
import { need, topologyOption } from "./messaging.ts";

const STATES = ["live", "finished", "received", "placed", "sent", "acked", "running", "retry-wait"];
const OUTCOMES = ["done", "failed", "cancelled", "expired", "accepted", "recovering"];

async function control(file: string, request: { cmd: string } & Record<string, unknown>): Promise<unknown> {
  const topology = loadTopology(file);
  return controlRequest(
    need(topology.orchestrator.control, "control", topology),
    request,
    5000,
    curveFromEnv(topology),
  );
}

function time(at: number | null): string {
  return at === null ? "-" : new Date(at).toISOString().replace("T", " ").slice(0, 19);
}

export function jobsCommand(): Command {
  return topologyOption(
    new Command("jobs")
      .description("list live and finished jobs, newest first (finished ones need a journal)")
      .argument("[id]", "only this job (prints its details)"),
  )
    .option("--state <state>", `filter: ${[...STATES, ...OUTCOMES].join(", ")}`)
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "print JSON")
    .action(async (id: string | undefined, options) => {
      const state = options.state as string | undefined;
      if (state !== undefined && !STATES.includes(state) && !OUTCOMES.includes(state))
        throw new UsageError(
          `--state: unknown state "${state}"; one of ${[...STATES, ...OUTCOMES].join(", ")}`,
        );
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit: expected a positive integer");
      const reply = (await control(options.topology, { cmd: "jobs", state, id, limit })) as {
        ok: boolean;
        error?: string;
        jobs: JobSummary[];
        total: number;
      };
      if (!reply.ok) throw new UsageError(reply.error ?? "the orchestrator refused");
      if (options.json) {
        console.log(JSON.stringify(reply, null, 2));
        return;
      }
      if (id !== undefined && reply.jobs.length === 0) {
        console.log(`no job "${id}" (never seen, or finished longer ago than the journal keeps)`);
        process.exitCode = 1;
        return;
      }
      const rows = [["ID", "TYPE", "STATE", "ATTEMPT", "SATELLITE", "RECEIVED", "ENDED", "ERROR"]];
      for (const job of reply.jobs) {
        rows.push([
          job.id,
          job.type,
          job.state,
          String(job.attempt),
          job.satellite ?? "-",
          time(job.receivedAt),
          time(job.completedAt),
          job.message ?? "",
        ]);
      }
      for (const line of formatTable(rows, [false, false, false, true, false, false, false, false]))
        console.log(line);
      if (reply.total > reply.jobs.length)
        console.log(`(${reply.jobs.length} of ${reply.total} shown; --limit)`);
    });
}

export function retryCommand(): Command {
  return topologyOption(
    new Command("retry")
      .description("run a failed (dead-lettered) job again from the step that failed")
      .argument("<id>", "the job's id"),
  ).action(async (id: string, options) => {
    const reply = (await control(options.topology, { cmd: "retry", id })) as { ok: boolean; error?: string };
    if (!reply.ok) throw new UsageError(`retry ${id}: ${reply.error ?? "refused"}`);
    console.log(
      `job ${id} is running again; its result goes to its client or to the events socket (result.<type>)`,
    );
  });
}
