// CURVE key files for `dsat keys gen` and the security settings of a topology.
//
//   NAME.key (mode 0600): the key pair, secret    NAME.pub: the public key alone
//     # dsat CURVE key pair "NAME": keep secret     # dsat CURVE public key "NAME"
//     public-key = <40 Z85 characters>              public-key = <40 Z85 characters>
//     secret-key = <40 Z85 characters>
//
// Keys are the Z85 strings zeromq's curveKeyPair() makes. Every read error says which file and why.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { curveKeyPair } from "zeromq";
import { KeyFileError } from "./key-file-error.ts";
import { isZ85Key, z85Decode } from "./z85.ts";

export { isZ85Key, KeyFileError, z85Decode };

export interface KeyPair {
  publicKey: string;
  secretKey: string;
}

/** CURVE keys for a client of a secured orchestrator (docs/security.md). */
export interface CurveOptions {
  /** The orchestrator's public key (Z85). */
  serverPublicKey: string;
  publicKey: string;
  secretKey: string;
}

/** zeromq socket options for a CURVE client (none without keys). */
export function curveClientOptions(curve: CurveOptions | undefined): {
  curveServerKey?: string;
  curvePublicKey?: string;
  curveSecretKey?: string;
} {
  if (curve === undefined) return {};
  return {
    curveServerKey: curve.serverPublicKey,
    curvePublicKey: curve.publicKey,
    curveSecretKey: curve.secretKey,
  };
}

const KEY_NAME = /^[A-Za-z0-9._@-]{1,100}$/;

export function checkKeyName(name: string): void {
  if (!KEY_NAME.test(name))
    throw new KeyFileError(`key name "${name}": expected 1-100 letters, digits, ".", "_", "@" or "-"`);
}

/** Writes DIR/NAME.key (0600) and DIR/NAME.pub; refuses to overwrite. Returns the paths and keys. */
export function generateKeyFiles(
  name: string,
  dir = ".",
  options: { force?: boolean } = {},
): KeyPair & { keyFile: string; pubFile: string } {
  checkKeyName(name);
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, `${name}.key`);
  const pubFile = join(dir, `${name}.pub`);
  if (!options.force) {
    for (const file of [keyFile, pubFile]) {
      if (existsSync(file)) throw new KeyFileError(`${file} exists; remove it first or pick another name`);
    }
  }
  const { publicKey, secretKey } = curveKeyPair();
  writeFileSync(
    keyFile,
    `# dsat CURVE key pair "${name}": keep secret\npublic-key = ${publicKey}\nsecret-key = ${secretKey}\n`,
    { mode: 0o600 },
  );
  chmodSync(keyFile, 0o600); // the mode above is masked by umask and ignored when the file existed
  writeFileSync(pubFile, `# dsat CURVE public key "${name}"\npublic-key = ${publicKey}\n`, { mode: 0o644 });
  return { publicKey, secretKey, keyFile, pubFile };
}

function readFields(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(
      `${file}: cannot read the key file (${code === "ENOENT" ? "no such file" : code})`,
    );
  }
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const at = trimmed.indexOf("=");
    if (at < 0)
      throw new KeyFileError(`${file}: expected "name = value" lines, found "${trimmed.slice(0, 60)}"`);
    fields.set(trimmed.slice(0, at).trim(), trimmed.slice(at + 1).trim());
  }
  return fields;
}

function field(file: string, fields: Map<string, string>, name: string): string {
  const value = fields.get(name);
  if (value === undefined) throw new KeyFileError(`${file}: no "${name} = ..." line`);
  if (!isZ85Key(value)) throw new KeyFileError(`${file}: ${name} is not a 40-character Z85 key`);
  return value;
}

/** Reads a NAME.key file (public and secret key). */
export function readKeyPair(file: string): KeyPair {
  const fields = readFields(file);
  return { publicKey: field(file, fields, "public-key"), secretKey: field(file, fields, "secret-key") };
}

/** Reads the public key of a NAME.pub file (or of a NAME.key file). */
export function readPublicKey(file: string): string {
  return field(file, readFields(file), "public-key");
}

/** The name of a key from its file name: "sat-1.pub" -> "sat-1". */
export function keyName(file: string): string {
  return basename(file).replace(/\.(pub|key)$/, "");
}

/**
 * Every NAME.pub in `dir`: public key -> name. Files that do not parse are reported through
 * `problems` (and skipped) rather than failing the whole list.
 */
export function readPublicKeyDir(dir: string, problems: string[] = []): Map<string, string> {
  const keys = new Map<string, string>();
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new KeyFileError(
      `${dir}: cannot list the key directory (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  for (const entry of entries.sort()) {
    if (!entry.endsWith(".pub")) continue;
    try {
      keys.set(readPublicKey(join(dir, entry)), keyName(entry));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return keys;
}
