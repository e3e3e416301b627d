// The pm2 app list of a topology (src/pm2/apps.ts, what ecosystem.config.js yields): names, commands,
// env, the per-host filter, and ecosystem.config.js itself as pm2 loads it (require of an ES module).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appsFromEnv, buildApps, ORCHESTRATOR_APP, satelliteAppName } from "../../src/pm2/apps.ts";
import { loadTopology, parseTopology, satelliteInstances } from "../../src/topology/index.ts";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "dsat-apps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A fixed topology (the demo's may change): 3 racks x 2 hosts, echo everywhere, cpu on the second
// host of each rack, store on one host.
const file = join(dir, "topology.json");
writeFileSync(
  file,
  JSON.stringify({
    orchestrator: { frontend: "tcp://127.0.0.1:5555", control: "tcp://127.0.0.1:5558" },
    hierarchy: ["rack", "host"],
    hosts: Object.fromEntries(
      [1, 2, 3].flatMap((r) => [1, 2].map((h) => [`r${r}h${h}`, { rack: `rack${r}` }])),
    ),
    types: {
      echo: { module: join(root, "satellites/echo.ts"), concurrency: 64 },
      cpu: { module: join(root, "satellites/cpu.ts"), hosts: ["r1h2", "r2h2", "r3h2"] },
      store: { module: join(root, "satellites/store.ts"), hosts: ["r3h2"] },
    },
  }),
);
const topology = loadTopology(file);

describe("pm2 apps of a topology", () => {
  it("topologies/demo.json: the orchestrator, then one app per satellite instance", () => {
    const demo = loadTopology(join(root, "topologies/demo.json"));
    const apps = buildApps(demo, { root });
    expect(apps.map((app) => app.name)).toEqual([
      ORCHESTRATOR_APP,
      ...satelliteInstances(demo).map((instance) => satelliteAppName(instance.id)),
    ]);
    expect(apps[0].args).toEqual(["orchestrator", "--topology", demo.file]);
    expect(apps.slice(1).every((app) => app.args[0] === "satellite")).toBe(true);
  });

  it("the orchestrator first, then one app per satellite instance", () => {
    const apps = buildApps(topology, { root });
    expect(apps).toHaveLength(1 + 6 + 3 + 1);
    expect(apps[0].name).toBe(ORCHESTRATOR_APP);
    expect(apps[0].args).toEqual(["orchestrator", "--topology", file]);
    expect(apps[0].env.DSAT_WATCHDOG).toBe("1");
    const names = apps.map((app) => app.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("dsat-sat-echo-r1h1");
    expect(names).toContain("dsat-sat-store-r3h2");
    for (const app of apps) {
      expect(app.script).toBe(join(root, "bin/dsat"));
      expect(app).toMatchObject({
        interpreter: "node",
        exec_mode: "fork",
        cwd: root,
        wait_ready: true,
        autorestart: true,
        kill_timeout: 10_000,
        kill_signal: "SIGTERM",
      });
      expect(app.listen_timeout).toBeGreaterThan(0);
      expect(app.restart_delay).toBeLessThan(1000);
    }
    const echo = apps.find((app) => app.name === "dsat-sat-echo-r2h1")!;
    expect(echo.args).toEqual([
      "satellite",
      join(root, "satellites/echo.ts"),
      "--topology",
      file,
      "--host",
      "r2h1",
      "--id",
      "echo@r2h1",
    ]);
    expect(echo.env).toMatchObject({
      DSAT_SATELLITE_ID: "echo@r2h1",
      DSAT_SATELLITE_TYPE: "echo",
      DSAT_HOST: "r2h1",
      DSAT_LOCATION: "rack=rack2,host=r2h1",
      DSAT_TOPOLOGY: file,
    });
  });

  it("a host filter yields that host's satellites only, and the orchestrator only when asked", () => {
    const apps = buildApps(topology, { root, host: "r3h2" });
    expect(apps.map((app) => app.name)).toEqual([
      "dsat-sat-echo-r3h2",
      "dsat-sat-cpu-r3h2",
      "dsat-sat-store-r3h2",
    ]);
    expect(apps.every((app) => app.env.DSAT_HOST === "r3h2")).toBe(true);
    const withOrchestrator = buildApps(topology, { root, host: "r3h2", orchestrator: true });
    expect(withOrchestrator[0].name).toBe(ORCHESTRATOR_APP);
    expect(withOrchestrator).toHaveLength(4);
    expect(() => buildApps(topology, { root, host: "nope" })).toThrow(/host "nope".*not under \/hosts/);
  });

  it("replicated orchestrators: DSAT_HOST starts the nodes on that host, with its satellites", () => {
    const replicatedFile = join(dir, "replicated.json");
    const node = (id: string, port: number, host?: string) => ({
      id,
      ...(host !== undefined ? { host } : {}),
      raft: `tcp://127.0.0.1:${port}`,
      frontend: `tcp://127.0.0.1:${port + 1}`,
    });
    writeFileSync(
      replicatedFile,
      JSON.stringify({
        orchestrator: { journal: { dir: "data" } },
        // o1 shares a host with satellites, o2 has a machine of its own (not under /hosts), o3 names none.
        orchestrators: [node("o1", 5601, "r1h1"), node("o2", 5611, "orch2"), node("o3", 5621)],
        hierarchy: ["rack", "host"],
        hosts: { r1h1: { rack: "rack1" }, r2h1: { rack: "rack2" } },
        types: { echo: { module: join(root, "satellites/echo.ts") } },
      }),
    );
    const replicated = loadTopology(replicatedFile);
    const names = (options: { host?: string; orchestrator?: boolean }) =>
      buildApps(replicated, { root, ...options }).map((app) => app.name);
    expect(names({})).toEqual([
      "dsat-orchestrator-o1",
      "dsat-orchestrator-o2",
      "dsat-orchestrator-o3",
      "dsat-sat-echo-r1h1",
      "dsat-sat-echo-r2h1",
    ]);
    expect(names({ host: "r1h1" })).toEqual(["dsat-orchestrator-o1", "dsat-sat-echo-r1h1"]);
    expect(names({ host: "r2h1" })).toEqual(["dsat-sat-echo-r2h1"]);
    // A machine with an orchestrator and no satellite is a valid DSAT_HOST.
    expect(names({ host: "orch2" })).toEqual(["dsat-orchestrator-o2"]);
    // --orchestrator adds the nodes that name no host; --no-orchestrator starts none.
    expect(names({ host: "r2h1", orchestrator: true })).toEqual([
      "dsat-orchestrator-o3",
      "dsat-sat-echo-r2h1",
    ]);
    expect(names({ host: "r1h1", orchestrator: false })).toEqual(["dsat-sat-echo-r1h1"]);
    expect(() => names({ host: "nope" })).toThrow(/host "nope".*expected one of r1h1, r2h1, orch2/);
    // The schema checks the field: a host is a name.
    expect(() =>
      parseTopology(
        {
          orchestrator: {},
          orchestrators: [{ ...node("o1", 5601), host: "" }],
          hierarchy: ["host"],
          hosts: { h1: {} },
          types: { echo: { module: join(root, "satellites/echo.ts") } },
        },
        replicatedFile,
      ),
    ).toThrow(/\/orchestrators\/0\/host/);
  });

  it("names: @ and # become -, ids with several instances stay distinct, the type's env is passed", () => {
    expect(satelliteAppName("echo@h1#2")).toBe("dsat-sat-echo-h1-2");
    const topology = parseTopology(
      {
        orchestrator: { frontend: "tcp://127.0.0.1:1" },
        hosts: { h1: {}, h2: {} },
        types: {
          work: { module: "w.ts", instancesPerHost: 2, env: { WORK_MODE: "fast", DSAT_HOST: "ignored" } },
        },
      },
      "/tmp/t/topology.json",
    );
    const apps = buildApps(topology, { root, env: { EXTRA: "1" } });
    expect(apps.map((app) => app.name)).toEqual([
      ORCHESTRATOR_APP,
      "dsat-sat-work-h1-1",
      "dsat-sat-work-h1-2",
      "dsat-sat-work-h2-1",
      "dsat-sat-work-h2-2",
    ]);
    expect(apps[1].env).toMatchObject({
      WORK_MODE: "fast",
      DSAT_HOST: "h1",
      DSAT_SATELLITE_ID: "work@h1#1",
      EXTRA: "1",
    });
    expect(apps[1].args).toContain("/tmp/t/w.ts");
  });

  it("appsFromEnv reads DSAT_TOPOLOGY, DSAT_HOST and DSAT_ORCHESTRATOR", () => {
    const demo = loadTopology(join(root, "topologies/demo.json"));
    expect(appsFromEnv({}, root)).toEqual(buildApps(demo, { root }));
    expect(appsFromEnv({ DSAT_TOPOLOGY: file, DSAT_HOST: "r1h2" }, root).map((a) => a.name)).toEqual([
      "dsat-sat-echo-r1h2",
      "dsat-sat-cpu-r1h2",
    ]);
    const remote = appsFromEnv({ DSAT_TOPOLOGY: file, DSAT_HOST: "r1h1", DSAT_ORCHESTRATOR: "1" }, root);
    expect(remote.map((a) => a.name)).toEqual([ORCHESTRATOR_APP, "dsat-sat-echo-r1h1"]);
  });

  it("ecosystem.config.js loads through require() as pm2 7 does, and honours DSAT_HOST", () => {
    const script = `const c = require(${JSON.stringify(join(root, "ecosystem.config.js"))});
      process.stdout.write(JSON.stringify(c.apps.map((a) => a.name)));`;
    const run = (env: Record<string, string>) =>
      JSON.parse(
        execFileSync(process.execPath, ["-e", script], {
          cwd: root,
          env: { ...process.env, DSAT_TOPOLOGY: "", DSAT_HOST: "", ...env },
          encoding: "utf8",
        }),
      ) as string[];
    expect(run({ DSAT_TOPOLOGY: file })).toEqual(buildApps(topology, { root }).map((app) => app.name));
    expect(run({ DSAT_TOPOLOGY: file, DSAT_HOST: "r3h2" })).toEqual([
      "dsat-sat-echo-r3h2",
      "dsat-sat-cpu-r3h2",
      "dsat-sat-store-r3h2",
    ]);
  });
});
