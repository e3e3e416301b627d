// `dsat score lock TARGET N`, `dsat score unlock TARGET`, `dsat score list` (docs/operations.md,
// "Scores"): pin a satellite's score (0: no new job), give it back to the formula, or show them.
import { Command, InvalidArgumentError } from "commander";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

function score(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 100)
    throw new InvalidArgumentError(`expected a score, an integer in 0..100, got "${value}"`);
  return parsed;
}

interface ScoreLine {
  id: string;
  score?: number;
  scoreLocked?: boolean;
  inFlight?: number;
  capacity?: number;
  load?: { inFlight: number; queued: number; lagMs: number; errorRate: number } | null;
}

export function scoreCommand(): Command {
  const command = new Command("score").description(
    "satellites' scores from their load: lock one (0: no new job), unlock it, list them",
  );
  command.addCommand(
    topologyOption(
      new Command("lock")
        .description("pin the score of the satellites TARGET names (id, host, rack, level=name)")
        .argument("<target>", "a satellite id, a host or rack name, or level=name")
        .argument("<score>", "0..100; 0 takes no new job", score),
    ).action(async (target: string, value: number, options: { topology: string }) => {
      const reply = await adminControl(options.topology, { cmd: "score-lock", target, score: value });
      if (reply.ok !== true)
        throw new UsageError(`score lock ${target}: ${String(reply.error ?? "refused")}`);
      const named = (reply.satellites as string[] | undefined) ?? [];
      console.log(
        `locked ${target} at ${value}: ${named.length === 0 ? "no satellite registered now (it is locked when it registers)" : named.join(", ")}`,
      );
    }),
  );
  command.addCommand(
    topologyOption(
      new Command("unlock")
        .description("the satellites TARGET names take the formula's score again")
        .argument("<target>", "what `dsat score lock` was given"),
    ).action(async (target: string, options: { topology: string }) => {
      const reply = await adminControl(options.topology, { cmd: "score-unlock", target });
      if (reply.ok !== true)
        throw new UsageError(`score unlock ${target}: ${String(reply.error ?? "refused")}`);
      const named = (reply.satellites as string[] | undefined) ?? [];
      console.log(`unlocked ${target}: ${named.join(", ") || "no satellite registered now"}`);
    }),
  );
  command.addCommand(
    topologyOption(
      new Command("list").description("each registered satellite's score, lock and load"),
    ).action(async (options: { topology: string }) => {
      const reply = await adminControl(options.topology, { cmd: "satellites" });
      const satellites = (reply.satellites as ScoreLine[] | undefined) ?? [];
      const rows = [["satellite", "score", "in flight", "queued", "lag ms", "errors"]];
      for (const s of satellites)
        rows.push([
          s.id,
          `${s.score ?? "-"}${s.scoreLocked === true ? " locked" : ""}`,
          s.load != null ? String(s.load.inFlight) : `${s.inFlight ?? "-"}/${s.capacity ?? "-"}`,
          s.load != null ? String(s.load.queued) : "-",
          s.load != null ? String(Math.round(s.load.lagMs)) : "-",
          s.load != null ? `${Math.round(s.load.errorRate * 100)}%` : "-",
        ]);
      const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
      for (const row of rows)
        console.log(
          row
            .map((cell, i) => cell.padEnd(widths[i]))
            .join("  ")
            .trimEnd(),
        );
    }),
  );
  for (const sub of command.commands) sub.exitOverride();
  return command;
}
