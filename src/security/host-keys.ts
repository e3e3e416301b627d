// One host's key bundle for a multi-host fleet (`dsat keys gen --host NAME`, docs/multi-host.md):
// the satellite key pair of that host (sat-NAME.key, 0600, and sat-NAME.pub) plus a copy of the
// orchestrator's public key, in a directory to copy to the host; and sat-NAME.pub in the
// orchestrator's satellite allow-list, which the orchestrator picks up by itself (it watches the
// directory). Nothing is written when any step would fail.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { checkKeyName, generateKeyFiles, KeyFileError, readPublicKey } from "./keys.ts";

export interface HostKeysOptions {
  host: string;
  /** Where the bundle goes (made if missing). */
  dir: string;
  /** The orchestrator's satellite allow-list directory (the topology's security.satellites). */
  allowDir: string | undefined;
  /** The orchestrator's NAME.pub (next to the topology's serverKey). */
  serverPublicKeyFile: string;
  force?: boolean;
}

export interface HostKeys {
  /** The satellite key's name: sat-<host>. */
  name: string;
  publicKey: string;
  keyFile: string;
  pubFile: string;
  /** The orchestrator's public key, copied into the bundle. */
  serverPubFile: string;
  /** sat-<host>.pub in the allow-list. */
  allowFile: string;
}

/** The key name of a host's satellites. */
export function hostKeyName(host: string): string {
  return `sat-${host}`;
}

export function generateHostKeys(options: HostKeysOptions): HostKeys {
  const name = hostKeyName(options.host);
  checkKeyName(name);
  if (options.allowDir === undefined)
    throw new KeyFileError(
      "the topology names no satellite allow-list (orchestrator.security.satellites): add one, so the orchestrator allows the host's key",
    );
  // Fails with the file's name when the orchestrator has no key yet.
  readPublicKey(options.serverPublicKeyFile);
  const allowFile = join(options.allowDir, `${name}.pub`);
  if (!options.force && existsSync(allowFile))
    throw new KeyFileError(`${allowFile} exists (host ${options.host} has a key); use --force to replace it`);
  const written = generateKeyFiles(name, options.dir, { force: options.force });
  const serverPubFile = join(options.dir, basename(options.serverPublicKeyFile));
  copyUnlessSame(options.serverPublicKeyFile, serverPubFile);
  mkdirSync(options.allowDir, { recursive: true });
  copyUnlessSame(written.pubFile, allowFile);
  return {
    name,
    publicKey: written.publicKey,
    keyFile: written.keyFile,
    pubFile: written.pubFile,
    serverPubFile,
    allowFile,
  };
}

function copyUnlessSame(from: string, to: string): void {
  if (resolve(from) !== resolve(to)) copyFileSync(from, to);
}
