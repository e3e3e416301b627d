// `dsat config get [KEY]` / `dsat config set KEY VALUE` (docs/operations.md, "Live config"): the
// running orchestrator's settings that change without a restart. VALUE is JSON (5000, true,
// "text"), or else a plain string.
import { Command } from "commander";
import { saveLiveSetting } from "../topology/index.ts";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

/** `dsat cache flush`: the orchestrator forgets its placement caches (after an external change). */
export function cacheCommand(): Command {
  const command = new Command("cache").description("the running orchestrator's placement caches");
  command.addCommand(
    topologyOption(
      new Command("flush").description(
        "forget every remembered CRUSH candidate list (after an external change)",
      ),
    ).action(async (options: { topology: string }) => {
      const reply = await adminControl(options.topology, { cmd: "cache-flush" });
      if (reply.ok !== true) throw new UsageError(`cache flush: ${String(reply.error ?? "refused")}`);
      console.log(`placement caches flushed: ${String(reply.value)} candidate lists forgotten`);
    }),
  );
  return command;
}

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
        .argument("<value>", "its value, as JSON (5000, true) or text")
        .option("--save", "also write it into the topology file, so it survives a restart"),
    ).action(async (key: string, text: string, options: { topology: string; save?: boolean }) => {
      const value = parseValue(text);
      const reply = await adminControl(options.topology, { cmd: "config-set", key, value });
      if (reply.ok !== true) throw new UsageError(`config set: ${String(reply.error ?? "refused")}`);
      if (options.save === true) {
        saveLiveSetting(options.topology, key, value);
        console.log(`${key} = ${JSON.stringify(value)} (saved in ${options.topology})`);
      } else console.log(`${key} = ${JSON.stringify(value)}`);
    }),
  );
  for (const sub of command.commands) sub.exitOverride();
  return command;
}
