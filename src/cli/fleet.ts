// `dsat drain TARGET` and `dsat undrain TARGET` (docs/operations.md): an operator takes satellites
// out of placement (an id, a host, a rack, or level=name) and, with --wait, watches their jobs
// finish, so their pm2 apps can then be stopped without a job failing.
import { Command, InvalidArgumentError } from "commander";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

interface SatelliteLine {
  id: string;
  inFlight: number;
  queued: number;
}

function millis(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError(`expected milliseconds, got "${value}"`);
  return parsed;
}

export function drainCommand(): Command {
  return topologyOption(
    new Command("drain")
      .description(
        "no new jobs for the satellites TARGET names (id, host, rack, level=name); running jobs finish",
      )
      .argument("<target>", "a satellite id, a host or rack name, or level=name")
      .option("--wait", "wait until their jobs have finished, showing progress")
      .option("--timeout <ms>", "with --wait: give up after this long (exit 1)", millis, 600_000),
  ).action(async (target: string, options: { topology: string; wait?: boolean; timeout: number }) => {
    const reply = (await adminControl(options.topology, { cmd: "drain", target })) as {
      ok: boolean;
      satellites?: string[];
      error?: string;
    };
    if (!reply.ok) throw new UsageError(`drain ${target}: ${reply.error ?? "refused"}`);
    const named = reply.satellites ?? [];
    console.log(
      `drained ${target}: ${named.length === 0 ? "no satellite registered now (later ones will be drained)" : named.join(", ")}`,
    );
    if (options.wait === true && named.length > 0) await waitEmpty(options.topology, named, options.timeout);
  });
}

export function undrainCommand(): Command {
  return topologyOption(
    new Command("undrain")
      .description("the satellites TARGET names take new jobs again")
      .argument("<target>", "what `dsat drain` was given"),
  ).action(async (target: string, options: { topology: string }) => {
    const reply = (await adminControl(options.topology, { cmd: "undrain", target })) as {
      ok: boolean;
      satellites?: string[];
      error?: string;
    };
    if (!reply.ok) throw new UsageError(`undrain ${target}: ${reply.error ?? "refused"}`);
    console.log(
      `undrained ${target}: ${(reply.satellites ?? []).join(", ") || "no satellite registered now"}`,
    );
  });
}

/** Polls `satellites` until the drained ones hold no job (or are gone), printing when it changes. */
async function waitEmpty(topology: string, ids: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const reply = (await adminControl(topology, { cmd: "satellites" })) as { satellites?: SatelliteLine[] };
    const left = (reply.satellites ?? []).filter((satellite) => ids.includes(satellite.id));
    const jobs = left.reduce((sum, satellite) => sum + satellite.inFlight + satellite.queued, 0);
    const line = `${jobs} jobs left on ${left.length} satellites`;
    if (line !== last) console.log(line);
    last = line;
    if (jobs === 0) {
      console.log("empty: their apps can be stopped");
      return;
    }
    if (Date.now() > deadline)
      throw new UsageError(`drain: ${jobs} jobs still running after ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
