// `dsat keys gen NAME [--dir DIR]`: a CURVE key pair for an orchestrator, client or satellite
// (docs/security.md). The CLI finds its own keys on a secured topology through DSAT_KEY
// (curveFromEnv in src/topology).
import { Command } from "commander";
import { generateKeyFiles } from "../security/index.ts";

export function keysCommand(): Command {
  const keys = new Command("keys").description("CURVE keys for secured topologies (docs/security.md)");
  keys
    .command("gen")
    .description("write NAME.key (key pair, mode 0600) and NAME.pub (public key)")
    .argument("<name>", "key name, e.g. orchestrator, client-web, sat-h1")
    .option("--dir <dir>", "directory to write to", ".")
    .option("--force", "overwrite existing files")
    .action((name: string, options: { dir: string; force?: boolean }) => {
      // A KeyFileError (bad name, existing file) is a user error: main prints it as one line.
      const written = generateKeyFiles(name, options.dir, { force: options.force === true });
      console.log(`wrote ${written.keyFile} (secret, 0600) and ${written.pubFile}`);
      console.log(`public key: ${written.publicKey}`);
    });
  return keys;
}
