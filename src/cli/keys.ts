// `dsat keys gen NAME [--dir DIR]`: a CURVE key pair for an orchestrator, client or satellite
// (docs/security.md). Also the CLI's way to find its own keys on a secured topology: DSAT_KEY.
import { Command } from "commander";
import {
  type CurveOptions,
  generateKeyFiles,
  KeyFileError,
  readKeyPair,
  readPublicKey,
} from "../security/keys.ts";
import { serverPublicKeyFile, type Topology } from "../topology/topology.ts";
import { UsageError } from "./errors.ts";

export function keysCommand(): Command {
  const keys = new Command("keys").description("CURVE keys for secured topologies (docs/security.md)");
  keys
    .command("gen")
    .description("write NAME.key (key pair, mode 0600) and NAME.pub (public key)")
    .argument("<name>", "key name, e.g. orchestrator, client-web, sat-h1")
    .option("--dir <dir>", "directory to write to", ".")
    .option("--force", "overwrite existing files")
    .action((name: string, options: { dir: string; force?: boolean }) => {
      try {
        const written = generateKeyFiles(name, options.dir, { force: options.force === true });
        console.log(`wrote ${written.keyFile} (secret, 0600) and ${written.pubFile}`);
        console.log(`public key: ${written.publicKey}`);
      } catch (error) {
        if (error instanceof KeyFileError) throw new UsageError(error.message);
        throw error;
      }
    });
  return keys;
}

/**
 * CURVE keys for a client or satellite of `topology`: undefined when the topology is not secured;
 * else own keys from $DSAT_KEY (a NAME.key) and the orchestrator's from the .pub next to serverKey.
 */
export function curveFromEnv(topology: Topology): CurveOptions | undefined {
  const security = topology.orchestrator.security;
  if (security === undefined) return undefined;
  const keyFile = process.env.DSAT_KEY;
  if (keyFile === undefined || keyFile === "")
    throw new UsageError(
      `${topology.file}: the topology turns security on: set DSAT_KEY to this program's NAME.key (dsat keys gen NAME)`,
    );
  try {
    const own = readKeyPair(keyFile);
    return { ...own, serverPublicKey: readPublicKey(serverPublicKeyFile(security)) };
  } catch (error) {
    if (error instanceof KeyFileError) throw new UsageError(error.message);
    throw error;
  }
}
