// `dsat keys gen --host H -t TOPOLOGY` as a real child process: host H's bundle (sat-H.key 0600,
// sat-H.pub, the orchestrator's .pub) in keys/hosts/H or --dir, sat-H.pub in the topology's
// satellite allow-list; refusals with one-line errors (unknown host, no security, no allow-list,
// a key already allowed, NAME and --host together) that write nothing.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateKeyFiles, readKeyPair, readPublicKey } from "../../src/security/keys.ts";
import { runDsat } from "../cli/helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "dsat-host-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function topology(name: string, security: Record<string, unknown> | undefined): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      orchestrator: { frontend: "tcp://10.0.0.1:5555", ...(security !== undefined ? { security } : {}) },
      hierarchy: ["rack", "host"],
      hosts: { h1: { rack: "r1" }, h2: { rack: "r2" } },
      types: { work: { module: "work.ts", replicas: 2, failureDomain: "rack" } },
    }),
  );
  return file;
}

generateKeyFiles("orchestrator", join(dir, "keys"));
const secured = topology("secured.json", {
  serverKey: "keys/orchestrator.key",
  satellites: "keys/satellites",
});

describe("dsat keys gen --host", () => {
  it("writes the host's bundle and allows its key", async () => {
    const bundle = join(dir, "bundle-h1");
    const result = await runDsat(["keys", "gen", "--host", "h1", "-t", secured, "--dir", bundle]);
    expect(result.stderr.toString()).toBe("");
    expect(result.code).toBe(0);
    expect(readdirSync(bundle).sort()).toEqual(["orchestrator.pub", "sat-h1.key", "sat-h1.pub"]);
    expect(statSync(join(bundle, "sat-h1.key")).mode & 0o777).toBe(0o600);
    const pair = readKeyPair(join(bundle, "sat-h1.key"));
    expect(readPublicKey(join(dir, "keys/satellites/sat-h1.pub"))).toBe(pair.publicKey);
    expect(readPublicKey(join(bundle, "orchestrator.pub"))).toBe(
      readPublicKey(join(dir, "keys/orchestrator.pub")),
    );
    const stdout = result.stdout.toString();
    expect(stdout).toContain(`public key: ${pair.publicKey}`);
    expect(stdout).toContain('"sat-h1": ["work"]');
    expect(stdout).toContain(`DSAT_HOST=h1 dsat up ${secured}`);
  });

  it("refuses, in one line and writing nothing: a key already allowed, an unknown host, NAME with --host", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--host", "h1", "-t", secured, "--dir", join(dir, "again")], /sat-h1\.pub exists .*--force/],
      [
        ["--host", "h9", "-t", secured, "--dir", join(dir, "h9")],
        /host "h9" is not under \/hosts \(h1, h2\)/,
      ],
      [
        ["sat-x", "--host", "h2", "-t", secured, "--dir", join(dir, "both")],
        /a key NAME or --host HOST, not both/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const result = await runDsat(["keys", "gen", ...args]);
      expect(result.code).not.toBe(0);
      const stderr = result.stderr.toString();
      expect(stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(pattern);
    }
    for (const name of ["again", "h9", "both"]) expect(existsSync(join(dir, name))).toBe(false);
  });

  it("needs a secured topology with a satellite allow-list and the orchestrator's key", async () => {
    const open = topology("open.json", undefined);
    const noAllowList = topology("no-allow.json", { serverKey: "keys/orchestrator.key" });
    mkdirSync(join(dir, "other"), { recursive: true });
    const noServerKey = topology("no-server.json", {
      serverKey: "other/orchestrator.key",
      satellites: "keys/sats2",
    });
    const cases: Array<[string, RegExp]> = [
      [open, /no orchestrator\.security/],
      [noAllowList, /names no satellite allow-list/],
      [noServerKey, /other\/orchestrator\.pub: cannot read the key file/],
    ];
    for (const [file, pattern] of cases) {
      const result = await runDsat(["keys", "gen", "--host", "h2", "-t", file, "--dir", join(dir, "h2")]);
      expect(result.code).not.toBe(0);
      expect(result.stderr.toString()).toMatch(pattern);
    }
    expect(existsSync(join(dir, "h2"))).toBe(false);
    expect(existsSync(join(dir, "keys/sats2"))).toBe(false);
  });
});
