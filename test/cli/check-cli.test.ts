// `dsat check` (issue 15 item 4) as a real child process: each type's placement checked against the
// satellites the topology declares, or (--live) those a running orchestrator has registered. It
// exits 1 when a type gets fewer candidates than replicas, as when a rack is gone.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { loadTopology, orchestratorConfig } from "../../src/topology/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { ROOT, runDsat } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "dsat-check-cli-"));
const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const RACKS = { h1: { rack: "r1" }, h2: { rack: "r2" }, h3: { rack: "r3" } };

function topologyFile(
  name: string,
  orchestrator: Record<string, unknown>,
  hosts: Record<string, object>,
): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      orchestrator,
      hierarchy: ["rack", "host"],
      hosts,
      types: { echo: { module: join(ROOT, "satellites/echo.ts"), replicas: 3, failureDomain: "rack" } },
    }),
  );
  return file;
}

const text = (buffer: Buffer) => buffer.toString("utf8");

describe("dsat check", () => {
  it("declared satellites: ok over three racks, degraded (exit 1) over two", async () => {
    const frontend = "tcp://127.0.0.1:1";
    const three = await runDsat(["check", topologyFile("three", { frontend }, RACKS)], 30_000);
    expect(text(three.stderr)).toBe("");
    expect(three.code).toBe(0);
    expect(text(three.stdout)).toMatch(/echo\s+OK\s+3\s+3 rack\s+3\/3/);
    const { h3: _gone, ...twoRacks } = RACKS;
    const two = await runDsat(["check", topologyFile("two", { frontend }, twoRacks), "--json"], 30_000);
    expect(two.code).toBe(1);
    const [echo] = JSON.parse(text(two.stdout)) as Array<{
      type: string;
      verdict: string;
      candidatesMin: number;
    }>;
    expect(echo).toMatchObject({ type: "echo", verdict: "degraded", candidatesMin: 2 });
  }, 60_000);

  it("--live: ok while a satellite runs in each rack; exit 1 once a rack's satellite is gone", async () => {
    const [frontend, control] = await freeEndpoints(2);
    const file = topologyFile("live", { frontend, control, heartbeatMs: 200 }, RACKS);
    const orchestrator = new Orchestrator({ ...orchestratorConfig(loadTopology(file)), log: () => {} });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const echo = defineSatellite({ type: "echo", handle: (payload: unknown) => payload });
    const satellites: SatelliteRuntime[] = [];
    for (const [host, { rack }] of Object.entries(RACKS)) {
      const satellite = await runSatellite(echo, {
        endpoint: frontend,
        id: `echo-${host}`,
        location: [
          ["rack", rack],
          ["host", host],
        ],
        heartbeatMs: 200,
        log: () => {},
      });
      satellites.push(satellite);
      cleanups.push(() => satellite.stop());
    }
    await until(() => orchestrator.status().satellites.length === 3, 10_000, "three satellites");
    const healthy = await runDsat(["check", file, "--live"], 30_000);
    expect(text(healthy.stderr)).toBe("");
    expect(healthy.code).toBe(0);
    expect(text(healthy.stdout)).toMatch(/registered satellites/);
    await satellites[2].stop();
    await until(() => orchestrator.status().satellites.length === 2, 10_000, "the rack r3 satellite to go");
    const degraded = await runDsat(["check", file, "--live"], 30_000);
    expect(degraded.code).toBe(1);
    expect(text(degraded.stdout)).toMatch(/echo\s+DEGRADED\s+2\s+2 rack\s+2\/3/);
  }, 60_000);
});
