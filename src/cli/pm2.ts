// `dsat up | down | logs | status`: a topology under pm2 (docs/pm2.md), with a project-local
// PM2_HOME (DSAT_PM2_HOME, default <repo>/.pm2) so the user's own pm2 is never touched.
import { Command, InvalidArgumentError } from "commander";
import { type DsatStatus, down, gatherStatus, logs, type Pm2Process, pm2Home, up } from "../pm2/index.ts";
import { UsageError } from "./errors.ts";

function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return parsed;
}

const DEFAULT_TOPOLOGY = "topologies/demo.json";

/** `[FILE]` or `-t FILE`, else DSAT_TOPOLOGY, else the demo. */
function topologyFile(file: string | undefined, options: { topology?: string }): string {
  if (file !== undefined && options.topology !== undefined && file !== options.topology)
    throw new UsageError(`two topology files given: ${file} and ${options.topology}`);
  return file ?? options.topology ?? process.env.DSAT_TOPOLOGY ?? DEFAULT_TOPOLOGY;
}

function withTopology(command: Command): Command {
  return command
    .argument("[file]", `topology JSON file (default: $DSAT_TOPOLOGY, else ${DEFAULT_TOPOLOGY})`)
    .option("-t, --topology <file>", "the same, as an option");
}

export function upCommand(): Command {
  return withTopology(
    new Command("up").description(
      "start a topology's orchestrator and satellites under pm2 (project-local PM2_HOME)",
    ),
  )
    .option(
      "--host <host>",
      "only this host's satellites (multi-host: one pm2 per machine)",
      process.env.DSAT_HOST,
    )
    .option("--orchestrator", "with --host: start the orchestrator here too")
    .option("--timeout <ms>", "how long to wait for everything to be up", nonNegativeInteger, 60_000)
    .action(async (file: string | undefined, options) => {
      const topology = topologyFile(file, options);
      const started = Date.now();
      const result = await up(topology, {
        host: options.host === "" ? undefined : options.host,
        orchestrator: options.orchestrator ?? (process.env.DSAT_ORCHESTRATOR === "1" ? true : undefined),
        timeoutMs: options.timeout,
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (result.removed.length > 0)
        console.log(`removed apps of another topology: ${result.removed.join(", ")}`);
      console.log(
        `dsat up: ${result.processes.length} apps online (${result.started.length} started, ${result.alreadyOnline.length} already running) in ${seconds} s; PM2_HOME ${result.home}`,
      );
      if (result.registered.length > 0)
        console.log(`orchestrator: ${result.registered.length} satellites registered`);
      if (result.unchecked !== undefined) console.log(`registrations not checked: ${result.unchecked}`);
      if (result.missing.length > 0) {
        console.log(`not registered yet: ${result.missing.join(", ")} (see \`dsat logs\`)`);
        process.exitCode = 1;
      }
      console.log("next: dsat status | dsat logs | dsat publish echo '\"hi\"' | dsat down");
    });
}

export function downCommand(): Command {
  return new Command("down")
    .description("stop the dsat apps (satellites drain first) and this PM2_HOME's pm2 daemon")
    .argument("[file]", "only this topology's apps (default: every dsat app)")
    .action(async (file: string | undefined) => {
      const result = await down(file);
      if (result.deleted.length === 0 && !result.daemonKilled) {
        console.log(`dsat down: nothing runs under ${result.home}`);
        return;
      }
      console.log(
        `dsat down: stopped ${result.deleted.length} apps${result.daemonKilled ? " and the pm2 daemon" : " (other apps still run; the daemon stays)"}`,
      );
    });
}

export function logsCommand(): Command {
  return new Command("logs")
    .description("the last lines of the dsat apps' logs (also after `dsat down`)")
    .argument("[name]", "an app (dsat-sat-echo-r1h1), a satellite id (echo@r1h1) or `orchestrator`")
    .option("-n, --lines <n>", "lines per log file", nonNegativeInteger, 20)
    .action(async (name: string | undefined, options) => {
      const lines = await logs(name, options.lines);
      if (lines.length === 0) {
        console.log(`no logs${name === undefined ? "" : ` for ${name}`} under ${pm2Home()}/logs`);
        return;
      }
      const width = Math.min(32, Math.max(...lines.map((l) => l.app.length)));
      for (const { app, stream, line } of lines) {
        console.log(`${app.padEnd(width)} ${stream === "error" ? "err" : "out"} | ${line}`);
      }
    });
}

export function statusCommand(): Command {
  return withTopology(
    new Command("status").description(
      "pm2's view of the apps merged with the orchestrator's registry and stats",
    ),
  )
    .option("--json", "print the merged status as JSON")
    .action(async (file: string | undefined, options) => {
      const status = await gatherStatus(topologyFile(file, options));
      if (options.json) {
        console.log(JSON.stringify(status, null, 2));
        return;
      }
      printStatus(status);
      if (status.orchestrator === null && !status.pm2.running) process.exitCode = 1;
    });
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function ago(at: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - at) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

function pm2Cells(p: Pm2Process | undefined): string[] {
  if (p === undefined) return ["-", "-", "-", "-", "-"];
  const online = p.status === "online";
  return [
    p.status,
    online ? String(p.pid) : "-",
    String(p.restarts),
    online ? megabytes(p.memory) : "-",
    online ? ago(p.startedAt) : "-",
  ];
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join("  ")
      .trimEnd(),
  );
}

/** "100", "60 (lag 240ms)", "0 locked" (docs/operations.md, "Scores"). */
function scoreCell(r: Record<string, unknown>): string {
  if (typeof r.score !== "number") return "-";
  const load = r.load as { queued?: number; lagMs?: number; errorRate?: number } | null | undefined;
  const notes: string[] = [];
  if (load != null) {
    if ((load.queued ?? 0) > 0) notes.push(`queued ${load.queued}`);
    if ((load.lagMs ?? 0) >= 1) notes.push(`lag ${Math.round(load.lagMs ?? 0)}ms`);
    if ((load.errorRate ?? 0) > 0) notes.push(`errors ${Math.round((load.errorRate ?? 0) * 100)}%`);
  }
  return `${r.score}${r.scoreLocked === true ? " locked" : ""}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
}

export function printStatus(status: DsatStatus): void {
  const { pm2, orchestrator } = status;
  console.log(`topology ${status.topology}`);
  console.log(
    pm2.running
      ? `pm2: daemon running (PM2_HOME ${pm2.home})${pm2.error !== undefined ? `; list failed: ${pm2.error}` : ""}`
      : `pm2: no daemon under ${pm2.home} (start one with \`dsat up\`)`,
  );
  if (orchestrator === null) {
    console.log(`orchestrator: not answering (${status.orchestratorError ?? "unknown"})`);
  } else {
    const breakers = orchestrator.tracker.breakersOpen ?? [];
    console.log(
      `orchestrator: ${orchestrator.satellites.length} satellites registered, jobs in flight ${orchestrator.jobs.inFlight}, waiting ${orchestrator.jobs.waiting}, breakers open: ${breakers.length === 0 ? "none" : breakers.join(", ")}`,
    );
    const journal = orchestrator.journal;
    if (journal !== undefined && journal !== null) {
      const spill = orchestrator.diskSpill;
      console.log(
        `journal: ${journal.dir ?? ""}, ${megabytes(journal.sizeBytes)}, committed seq ${journal.committedSeq}, ${journal.finishedKept} finished jobs kept, ${journal.recovered} replayed at start` +
          (spill !== undefined && spill !== null && spill.jobs > 0
            ? `, ${spill.jobs} jobs spilled to disk`
            : "") +
          (journal.error !== undefined ? `; FAILED: ${journal.error}` : ""),
      );
    }
  }
  const rows: string[][] = [
    [
      "",
      "app",
      "pm2",
      "pid",
      "restarts",
      "memory",
      "uptime",
      "registered",
      "in flight",
      "done",
      "failed",
      "score",
    ],
  ];
  if (status.orchestratorNodes.length === 0)
    rows.push(["orchestrator", "dsat-orchestrator", ...pm2Cells(status.orchestratorApp), "", "", "", "", ""]);
  for (const node of status.orchestratorNodes)
    rows.push([`orchestrator ${node.id}`, node.app, ...pm2Cells(node.pm2), "", "", "", "", ""]);
  for (const s of status.satellites) {
    const r = s.registry;
    const registered =
      r === undefined
        ? orchestrator === null
          ? "?"
          : "no"
        : `yes${r.draining ? " (draining)" : ""}${s.breakerOpen ? " (breaker open)" : ""}`;
    rows.push([
      s.id,
      s.app ?? "(not pm2)",
      ...pm2Cells(s.pm2),
      registered,
      r === undefined ? "-" : `${r.inFlight}/${r.capacity}`,
      r === undefined ? "-" : String(r.done),
      r === undefined ? "-" : String(r.failed),
      r === undefined ? "-" : scoreCell(r),
    ]);
  }
  for (const p of status.otherApps) rows.push([`(other topology)`, p.name, ...pm2Cells(p), "", "", "", ""]);
  console.log("");
  for (const line of table(rows)) console.log(`  ${line}`);
  if (orchestrator !== null && Object.keys(orchestrator.stats).length > 0) {
    console.log("\nper type:");
    const typeRows = [["", "received", "done", "failed", "in flight", "retries", "p50 ms", "p99 ms"]];
    for (const [type, stats] of Object.entries(orchestrator.stats)) {
      typeRows.push([
        type,
        String(stats.received ?? 0),
        String(stats.done ?? 0),
        String(stats.failed ?? 0),
        String(stats.inFlight ?? 0),
        String(stats.retries ?? 0),
        String(stats.latencyMsP50 ?? "-"),
        String(stats.latencyMsP99 ?? "-"),
      ]);
    }
    for (const line of table(typeRows)) console.log(`  ${line}`);
  }
  if (status.watchdog.length > 0) {
    console.log("\nwatchdog restarts (latest last):");
    for (const r of status.watchdog)
      console.log(`  ${new Date(r.at).toISOString()}  ${r.satellite} (${r.app}, pid ${r.pid}): ${r.reason}`);
  }
}
