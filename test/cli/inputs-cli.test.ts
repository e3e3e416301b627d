// `dsat inputs PATH` (docs/locality.md, "dsat inputs") as a real child process over a temp tree:
// replica lists from .dsat-replicas manifests (the nearest one wins), from user.dsat.replicas
// extended attributes when getfattr is installed, else the file itself on this host; the filters;
// and the pipe into `dsat publish --inputs -` against a running orchestrator.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { loadTopology, orchestratorConfig } from "../../src/topology/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { ROOT, runDsat } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "dsat-inputs-cli-"));
const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const text = (buffer: Buffer) => buffer.toString("utf8");
const hasGetfattr = spawnSync("getfattr", ["--version"]).error === undefined;

const tree = join(dir, "data");
mkdirSync(join(tree, "logs"), { recursive: true });
mkdirSync(join(tree, "other"), { recursive: true });
for (const file of ["logs/a.log", "logs/b.log", "logs/c.txt", "other/d.log", "other/e.log"])
  writeFileSync(join(tree, file), file);
writeFileSync(
  join(tree, ".dsat-replicas"),
  [
    "# path, then its replicas",
    "logs/a.log nas-1:/logs/a.log http://h22:8989/logs/a.log",
    "logs/b.log nas-1:/logs/b.log",
    "other/d.log h31:/d.log,h32:/d.log",
    "../outside.log h1:/x",
  ].join("\n"),
);
// Nearer than the root's manifest: its entry for b.log wins.
writeFileSync(join(tree, "logs", ".dsat-replicas"), "b.log disco://h12/logs/b.log h21:/logs/b.log\n");

describe("dsat inputs", () => {
  it("lists each file's replicas: the nearest manifest's, else the file on this host", async () => {
    const run = await runDsat(["inputs", tree, "--host", "here"]);
    expect(run.code).toBe(0);
    expect(text(run.stdout).split("\n").filter(Boolean)).toEqual([
      "nas-1:/logs/a.log http://h22:8989/logs/a.log",
      "disco://h12/logs/b.log h21:/logs/b.log",
      `here:${join(tree, "logs/c.txt")}`,
      "h31:/d.log h32:/d.log",
      `here:${join(tree, "other/e.log")}`,
    ]);
    // The manifest line that leaves the tree is skipped, and said so.
    expect(text(run.stderr)).toMatch(/\.dsat-replicas:5: expected "RELATIVE-PATH REPLICA\.\.\." \(skipped\)/);
    if (!hasGetfattr) expect(text(run.stderr)).toMatch(/getfattr is not installed: extended attributes/);
  });

  it("--filter, --regex and --json", async () => {
    const filtered = await runDsat(["inputs", tree, "--filter", ".log", "--json", "--host", "here"]);
    expect(JSON.parse(text(filtered.stdout))).toEqual([
      ["nas-1:/logs/a.log", "http://h22:8989/logs/a.log"],
      ["disco://h12/logs/b.log", "h21:/logs/b.log"],
      ["h31:/d.log", "h32:/d.log"],
      [`here:${join(tree, "other/e.log")}`],
    ]);
    const regex = await runDsat(["inputs", tree, "--regex", "^logs/[ab]\\.", "--json"]);
    expect(JSON.parse(text(regex.stdout))).toHaveLength(2);
  });

  it("refuses bad arguments in one line (exit 1)", async () => {
    const both = await runDsat(["inputs", tree, "--filter", "a", "--regex", "b"]);
    expect(both.code).toBe(1);
    expect(text(both.stderr)).toMatch(/--filter and --regex exclude each other/);
    const regex = await runDsat(["inputs", tree, "--regex", "("]);
    expect(regex.code).toBe(1);
    expect(text(regex.stderr)).toMatch(/inputs --regex: Invalid regular expression/);
    const missing = await runDsat(["inputs", join(dir, "nope")]);
    expect(missing.code).toBe(1);
    expect(text(missing.stderr)).toMatch(/ENOENT/);
  });

  it("takes user.dsat.replicas before the manifest (getfattr, Debian's attr: .ci/run installs it)", async () => {
    if (!hasGetfattr) throw new Error("getfattr is missing: apt-get install attr (.ci/run installs it)");
    const file = join(tree, "logs/a.log");
    const set = spawnSync("python3", [
      "-c",
      "import os,sys; os.setxattr(sys.argv[1], 'user.dsat.replicas', b'h99:/a.log, h98:/a.log')",
      file,
    ]);
    expect(set.status).toBe(0);
    try {
      const run = await runDsat(["inputs", tree, "--filter", "a.log", "--json"]);
      expect(JSON.parse(text(run.stdout))).toEqual([["h99:/a.log", "h98:/a.log"]]);
    } finally {
      // The tree is shared with the next tests, which read the manifest's replicas.
      spawnSync("python3", ["-c", "import os,sys; os.removexattr(sys.argv[1], 'user.dsat.replicas')", file]);
    }
  });

  it("feeds dsat publish: one job per input, each handler gets its replica list", async () => {
    const [frontend, control] = await freeEndpoints(2);
    const file = join(dir, "topology.json");
    writeFileSync(
      file,
      JSON.stringify({
        orchestrator: { frontend, control },
        hierarchy: ["host"],
        hosts: { h1: {} },
        types: { scan: { replicas: 1 } },
      }),
    );
    const orchestrator = new Orchestrator({ ...orchestratorConfig(loadTopology(file)), log: () => {} });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const seen: unknown[] = [];
    const satellite = await runSatellite(
      defineSatellite({
        type: "scan",
        handle: (_payload, context) => {
          seen.push(context.inputs);
          return null;
        },
      }),
      { endpoint: frontend, id: "scan@h1", location: [["host", "h1"]], log: () => {} },
    );
    cleanups.push(() => satellite.stop());
    await until(() => orchestrator.status().satellites.length === 1, 10_000, "the satellite");
    const dsat = `"${process.execPath}" bin/dsat`;
    const pipe = spawn(
      "sh",
      [
        "-c",
        `${dsat} inputs "${tree}" --filter .log --host here | ${dsat} publish scan --topology "${file}" --inputs - --split`,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    pipe.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((done) => pipe.on("close", done));
    expect(code).toBe(0);
    expect(out).toMatch(/4\/4 ok/);
    const sorted = (lists: unknown[]) => lists.map((list) => JSON.stringify(list)).sort();
    expect(sorted(seen)).toEqual(
      sorted([
        [["nas-1:/logs/a.log", "http://h22:8989/logs/a.log"]],
        [["disco://h12/logs/b.log", "h21:/logs/b.log"]],
        [["h31:/d.log", "h32:/d.log"]],
        [[`here:${join(tree, "other/e.log")}`]],
      ]),
    );
  }, 60_000);

  it("feeds dsat publish --no-wait: published (intake) jobs carry their inputs too", async () => {
    const [frontend, control, intake] = await freeEndpoints(3);
    const file = join(dir, "topology-intake.json");
    writeFileSync(
      file,
      JSON.stringify({
        orchestrator: { frontend, control, intake },
        hierarchy: ["host"],
        hosts: { h1: {} },
        types: { scan: { replicas: 1 } },
      }),
    );
    const orchestrator = new Orchestrator({ ...orchestratorConfig(loadTopology(file)), log: () => {} });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const seen = new Set<string>();
    const satellite = await runSatellite(
      defineSatellite({
        type: "scan",
        handle: (_payload, context) => {
          seen.add(JSON.stringify(context.inputs));
          return null;
        },
      }),
      { endpoint: frontend, id: "scan@h1", location: [["host", "h1"]], log: () => {} },
    );
    cleanups.push(() => satellite.stop());
    await until(() => orchestrator.status().satellites.length === 1, 10_000, "the satellite");
    const dsat = `"${process.execPath}" bin/dsat`;
    const command = `${dsat} inputs "${tree}" --filter other/ --host here | ${dsat} publish scan --topology "${file}" --inputs - --split --no-wait`;
    // PUB drops what it sends before its connection is up (the CLI waits 200 ms for it): once more
    // if a slow join lost some.
    for (let run = 0; run < 3 && seen.size < 2; run++) {
      const pipe = spawn("sh", ["-c", command], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      pipe.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      pipe.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      const code = await new Promise<number | null>((done) => pipe.on("close", done));
      expect(code, err).toBe(0);
      expect(out).toMatch(/published 2 scan job\(s\)/);
      await until(() => seen.size === 2, 5_000, "the published jobs").catch(() => {});
    }
    expect([...seen].sort()).toEqual(
      [
        JSON.stringify([["h31:/d.log", "h32:/d.log"]]),
        JSON.stringify([[`here:${join(tree, "other/e.log")}`]]),
      ].sort(),
    );
  }, 60_000);
});
