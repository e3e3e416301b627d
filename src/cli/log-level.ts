// `dsat log-level [LEVEL]`: reads or sets the orchestrator's log level at run time (the control
// command `log-level`, admin-only; docs/observability.md, "Logs").
import { Command, InvalidArgumentError } from "commander";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../log/index.ts";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

function logLevel(value: string): LogLevel {
  const lower = value.toLowerCase();
  if (!isLogLevel(lower))
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  return lower;
}

export function logLevelCommand(): Command {
  return topologyOption(
    new Command("log-level")
      .description(
        "show the orchestrator's log level, or set it (until it restarts; DSAT_LOG_LEVEL at start)",
      )
      .argument("[level]", `one of ${LOG_LEVELS.join(", ")}`, logLevel),
  ).action(async (level: LogLevel | undefined, options: { topology: string }) => {
    const reply = (await adminControl(options.topology, {
      cmd: "log-level",
      ...(level !== undefined ? { level } : {}),
    })) as { ok: boolean; level?: string; previous?: string; error?: string };
    if (!reply.ok) throw new UsageError(`log-level: ${reply.error ?? "refused"}`);
    console.log(
      reply.previous === undefined
        ? `log level: ${reply.level}`
        : `log level: ${reply.previous} -> ${reply.level}`,
    );
  });
}
