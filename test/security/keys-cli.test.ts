// `dsat keys gen NAME --dir D` as a real child process: the files it writes (NAME.key 0600, NAME.pub),
// the key it prints, refusal to overwrite without --force (one-line error, files untouched), --force,
// and bad names. The generated pair is also checked to work for a real CURVE handshake.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { curveKeyPair, Dealer, Router } from "zeromq";
import { readKeyPair, readPublicKey } from "../../src/security/keys.ts";
import { runDsat } from "../cli/helpers.ts";
import { freeEndpoints } from "../helpers/ports.ts";

// Z85 (ZeroMQ RFC 32) alphabet, written out here rather than taken from src.
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

const dir = mkdtempSync(join(tmpdir(), "dsat-keys-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function text(buffer: Buffer): string {
  return buffer.toString("utf8");
}

/** The key printed on the `public key: ...` line (exactly one such line). */
function printedKey(stdout: string): string {
  const matches = [...stdout.matchAll(/^public key: (.*)$/gm)];
  expect(matches).toHaveLength(1);
  return matches[0][1];
}

/** The value of the one `public-key = ...` line of a file. */
function publicKeyLine(file: string): string {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("public-key"));
  expect(lines).toHaveLength(1);
  return lines[0].replace(/^public-key\s*=\s*/, "");
}

/** A one-line `dsat: ...` error without a stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  expect(stderr.endsWith("\n")).toBe(true);
  const lines = stderr.slice(0, -1).split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^dsat: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toMatch(/internal error/);
}

/** True when a CURVE server with `secretKey` completes a handshake with a client that expects `publicKey`. */
async function curveHandshakeWorks(publicKey: string, secretKey: string): Promise<boolean> {
  const [endpoint] = await freeEndpoints(1);
  const server = new Router({
    linger: 0,
    receiveTimeout: 2000,
    curveServer: true,
    curveSecretKey: secretKey,
  });
  const clientKeys = curveKeyPair();
  const client = new Dealer({
    linger: 0,
    receiveTimeout: 2000,
    curveServerKey: publicKey,
    curvePublicKey: clientKeys.publicKey,
    curveSecretKey: clientKeys.secretKey,
  });
  try {
    await server.bind(endpoint);
    client.connect(endpoint);
    await client.send("ping");
    const served = (async () => {
      const [route, body] = await server.receive();
      await server.send([route, body]);
      return true;
    })().catch(() => false);
    const [echoed] = await client.receive();
    return (await served) && echoed.toString() === "ping";
  } catch {
    return false;
  } finally {
    client.close();
    server.close();
  }
}

describe("dsat keys gen", () => {
  const keyFile = join(dir, "sat-h1.key");
  const pubFile = join(dir, "sat-h1.pub");
  let firstKey = "";

  it("writes NAME.key (0600) and NAME.pub and prints the public key they hold", async () => {
    const run = await runDsat(["keys", "gen", "sat-h1", "--dir", dir]);
    expect(text(run.stderr)).toBe("");
    expect(run.code).toBe(0);
    const stdout = text(run.stdout);
    firstKey = printedKey(stdout);
    expect(firstKey).toMatch(Z85_KEY);
    expect(stdout).toContain(keyFile);
    expect(stdout).toContain(pubFile);
    expect(readdirSync(dir).sort()).toEqual(["sat-h1.key", "sat-h1.pub"]);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // The .pub file holds no secret, and its key is the one printed.
    expect(publicKeyLine(pubFile)).toBe(firstKey);
    expect(readFileSync(pubFile, "utf8")).not.toMatch(/secret/);
    expect(readPublicKey(pubFile)).toBe(firstKey);
    const pair = readKeyPair(keyFile);
    expect(pair.publicKey).toBe(firstKey);
    expect(pair.secretKey).toMatch(Z85_KEY);
    expect(pair.secretKey).not.toBe(pair.publicKey);
    // The two halves belong together: a CURVE server with the secret is reachable under the public key.
    expect(await curveHandshakeWorks(pair.publicKey, pair.secretKey)).toBe(true);
  });

  it("refuses to overwrite without --force: exit 1, one line, files unchanged", async () => {
    const keyBefore = readFileSync(keyFile);
    const pubBefore = readFileSync(pubFile);
    const modeBefore = statSync(keyFile).mode;
    const run = await runDsat(["keys", "gen", "sat-h1", "--dir", dir]);
    expect(run.code).toBe(1);
    expect(text(run.stdout)).toBe("");
    expectOneLineError(text(run.stderr), /sat-h1\.key exists/);
    expect(readFileSync(keyFile).equals(keyBefore)).toBe(true);
    expect(readFileSync(pubFile).equals(pubBefore)).toBe(true);
    expect(statSync(keyFile).mode).toBe(modeBefore);
    expect(readdirSync(dir).sort()).toEqual(["sat-h1.key", "sat-h1.pub"]);
  });

  it("refuses when only NAME.pub exists, and writes no NAME.key", async () => {
    rmSync(keyFile);
    const pubBefore = readFileSync(pubFile);
    const run = await runDsat(["keys", "gen", "sat-h1", "--dir", dir]);
    expect(run.code).toBe(1);
    expectOneLineError(text(run.stderr), /sat-h1\.pub exists/);
    expect(existsSync(keyFile)).toBe(false);
    expect(readFileSync(pubFile).equals(pubBefore)).toBe(true);
  });

  it("--force overwrites with a new key pair and makes an existing NAME.key 0600 again", async () => {
    // Put a NAME.key back with a loose mode: --force must tighten it (writeFileSync's mode does not).
    const restore = await runDsat(["keys", "gen", "sat-h1", "--dir", dir, "--force"]);
    expect(restore.code).toBe(0);
    const restoredKey = printedKey(text(restore.stdout));
    chmodSync(keyFile, 0o644);
    const run = await runDsat(["keys", "gen", "sat-h1", "--dir", dir, "--force"]);
    expect(text(run.stderr)).toBe("");
    expect(run.code).toBe(0);
    const newKey = printedKey(text(run.stdout));
    expect(newKey).toMatch(Z85_KEY);
    expect(newKey).not.toBe(firstKey);
    expect(newKey).not.toBe(restoredKey);
    expect(publicKeyLine(pubFile)).toBe(newKey);
    expect(readKeyPair(keyFile).publicKey).toBe(newKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it.each([
    ["a slash", "../evil"],
    ["a space", "my key"],
    ["an empty name", ""],
    ["over 100 characters", "k".repeat(101)],
  ])("refuses a name with %s: exit 1, a clear one-line message, nothing written", async (_what, name) => {
    const target = join(dir, "bad-names");
    const run = await runDsat(["keys", "gen", name, "--dir", target]);
    expect(run.code).toBe(1);
    expect(text(run.stdout)).toBe("");
    expectOneLineError(text(run.stderr), /key name .*expected 1-100 letters, digits/);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(dir, "evil.key"))).toBe(false);
  });
});
