// `dsat jobs` and `dsat retry`: query and re-run jobs through the orchestrator's control socket
// (finished jobs are kept by a durable orchestrator for journal.retentionMs; docs/journal.md).
// Both are admin commands: on a secured topology they sign with $DSAT_ADMIN_KEY (control.ts).
import { Command } from "commander";
import type { JobSummary } from "../orchestrator/index.ts";
import { formatTable } from "../util/index.ts";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

const STATES = ["live", "finished", "received", "placed", "sent", "acked", "running", "retry-wait"];
const OUTCOMES = ["done", "failed", "cancelled", "expired", "accepted", "recovering"];

/** The orchestrator's largest page (src/orchestrator/jobs-page.ts). */
const PAGE_MAX = 1000;

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
    .option("--limit <n>", `at most this many (1..${PAGE_MAX})`, "50")
    .option("--after <cursor>", "the next page: the cursor the previous page printed")
    .option("--json", "print JSON")
    .action(async (id: string | undefined, options) => {
      const state = options.state as string | undefined;
      if (state !== undefined && !STATES.includes(state) && !OUTCOMES.includes(state))
        throw new UsageError(
          `--state: unknown state "${state}"; one of ${[...STATES, ...OUTCOMES].join(", ")}`,
        );
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX)
        throw new UsageError(`--limit: expected an integer in 1..${PAGE_MAX} (more with --after)`);
      const after = options.after as string | undefined;
      const reply = (await adminControl(options.topology, { cmd: "jobs", state, id, limit, after })) as {
        ok: boolean;
        error?: string;
        jobs: JobSummary[];
        total: number;
        next?: string | null;
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
        console.log(
          `(${reply.jobs.length} of ${reply.total} shown; --limit${typeof reply.next === "string" ? `, next page: --after '${reply.next}'` : ""})`,
        );
    });
}

export function retryCommand(): Command {
  return topologyOption(
    new Command("retry")
      .description("run a failed (dead-lettered) job again from the step that failed")
      .argument("<id>", "the job's id"),
  ).action(async (id: string, options) => {
    const reply = (await adminControl(options.topology, { cmd: "retry", id })) as {
      ok: boolean;
      error?: string;
    };
    if (!reply.ok) throw new UsageError(`retry ${id}: ${reply.error ?? "refused"}`);
    console.log(
      `job ${id} is running again; its result goes to its client or to the events socket (result.<type>)`,
    );
  });
}
