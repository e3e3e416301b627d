// `dsat config get [KEY]` / `dsat config set KEY VALUE` (docs/operations.md, "Live config"): the
// running orchestrator's settings that change without a restart. VALUE is JSON (5000, true,
// "text"), or else a plain string.
import { Command } from "commander";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

/** A command-line value: JSON when it parses as JSON, else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function configCommand(): Command {
  const command = new Command("config").description(
    "the running orchestrator's live settings: get them, or set one without a restart",
  );
  command.addCommand(
    topologyOption(
      new Command("get")
        .description("every live setting and its value, or one")
        .argument("[key]", "e.g. types.echo.timeoutMs, tracker.ackTimeoutMs, scores.weights.lag")
        .option("--json", "print them as JSON"),
    ).action(async (key: string | undefined, options: { topology: string; json?: boolean }) => {
      const reply = await adminControl(options.topology, {
        cmd: "config-get",
        ...(key !== undefined ? { key } : {}),
      });
      if (reply.ok !== true) throw new UsageError(`config get: ${String(reply.error ?? "refused")}`);
      const settings = (reply.settings as Record<string, unknown> | undefined) ?? {};
      if (options.json === true) {
        console.log(JSON.stringify(settings, null, 2));
        return;
      }
      if (key !== undefined) {
        console.log(JSON.stringify(settings[key]));
        return;
      }
      const width = Math.max(...Object.keys(settings).map((name) => name.length));
      for (const [name, value] of Object.entries(settings))
        console.log(`${name.padEnd(width)}  ${JSON.stringify(value)}`);
    }),
  );
  command.addCommand(
    topologyOption(
      new Command("set")
        .description("change a live setting now (checked against the topology's schema)")
        .argument("<key>", "a live setting (dsat config get lists them)")
        .argument("<value>", "its value, as JSON (5000, true) or text"),
    ).action(async (key: string, text: string, options: { topology: string }) => {
      const value = parseValue(text);
      const reply = await adminControl(options.topology, { cmd: "config-set", key, value });
      if (reply.ok !== true) throw new UsageError(`config set: ${String(reply.error ?? "refused")}`);
      console.log(`${key} = ${JSON.stringify(value)}`);
    }),
  );
  for (const sub of command.commands) sub.exitOverride();
  return command;
}
