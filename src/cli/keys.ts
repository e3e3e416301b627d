// `dsat keys gen NAME [--dir DIR]`: a CURVE key pair for an orchestrator, admin, client or satellite
// (docs/security.md). `dsat keys reload`: the orchestrator re-reads its allow-lists now (an admin
// command). The CLI finds its own keys on a secured topology through DSAT_KEY, and DSAT_ADMIN_KEY
// for control commands (src/cli/control.ts).
import { Command } from "commander";
import { generateKeyFiles } from "../security/index.ts";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

export function keysCommand(): Command {
  const keys = new Command("keys").description("CURVE keys for secured topologies (docs/security.md)");
  keys
    .command("gen")
    .description("write NAME.key (key pair, mode 0600) and NAME.pub (public key)")
    .argument("<name>", "key name, e.g. orchestrator, admin-ops (--dir keys/admins), client-web, sat-h1")
    .option("--dir <dir>", "directory to write to", ".")
    .option("--force", "overwrite existing files")
    .action((name: string, options: { dir: string; force?: boolean }) => {
      // A KeyFileError (bad name, existing file) is a user error: main prints it as one line.
      const written = generateKeyFiles(name, options.dir, { force: options.force === true });
      console.log(`wrote ${written.keyFile} (secret, 0600) and ${written.pubFile}`);
      console.log(`public key: ${written.publicKey}`);
    });
  keys.addCommand(
    topologyOption(
      new Command("reload").description(
        "make the orchestrator re-read its key directories now (needs an admin key: DSAT_ADMIN_KEY)",
      ),
    ).action(async (options: { topology: string }) => {
      const reply = await adminControl(options.topology, { cmd: "reload-keys" });
      const problems = Array.isArray(reply.problems) ? (reply.problems as string[]) : [];
      if (reply.ok !== true) throw new UsageError(`reload-keys: ${problems.join("; ") || "refused"}`);
      console.log(
        `allowed keys: ${String(reply.admins)} admins, ${String(reply.clients)} clients, ${String(reply.satellites)} satellites`,
      );
      for (const problem of problems) console.log(`problem: ${problem}`);
    }),
  );
  return keys;
}
