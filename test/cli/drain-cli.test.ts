// `dsat drain` / `dsat undrain` (issue 15 item 2) as real child processes against an in-process
// orchestrator under load: a drained host takes no new job, its running and queued jobs finish or
// move (none fails), a satellite restarting there stays drained, and undrain brings it back.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { loadTopology, orchestratorConfig } from "../../src/topology/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { runDsat } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "dsat-drain-cli-"));
const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Which satellite ran each job, and when. */
const ran: Array<{ satellite: string; at: number }> = [];

function slowEcho(id: string) {
  return defineSatellite({
    type: "echo",
    concurrency: 4,
    handle: async (payload: unknown) => {
      ran.push({ satellite: id, at: Date.now() });
      await new Promise((done) => setTimeout(done, 20));
      return payload;
    },
  });
}

const text = (buffer: Buffer) => buffer.toString("utf8");

describe("dsat drain", () => {
  it("drains a host under load without a failed job, keeps it drained across a restart, and undrains it", async () => {
    const [frontend, control] = await freeEndpoints(2);
    const file = join(dir, "topology.json");
    writeFileSync(
      file,
      JSON.stringify({
        orchestrator: { frontend, control, heartbeatMs: 200 },
        hierarchy: ["host"],
        hosts: { h1: {}, h2: {} },
        types: { echo: { replicas: 2 } },
      }),
    );
    const orchestrator = new Orchestrator({ ...orchestratorConfig(loadTopology(file)), log: () => {} });
    await orchestrator.start();
    cleanups.push(() => orchestrator.stop());
    const start = async (id: string, host: string): Promise<SatelliteRuntime> => {
      const satellite = await runSatellite(slowEcho(id), {
        endpoint: frontend,
        id,
        location: [["host", host]],
        heartbeatMs: 200,
        log: () => {},
      });
      cleanups.push(() => satellite.stop());
      return satellite;
    };
    const h1 = await start("echo-h1", "h1");
    await start("echo-h2", "h2");
    await until(() => orchestrator.status().satellites.length === 2, 10_000, "two satellites");
    const client = await connect(frontend, { timeoutMs: 60_000 });
    cleanups.push(() => client.close());
    const load = (n: number, tag: string) =>
      Promise.allSettled(
        Array.from({ length: n }, (_, i) => client.request("echo", i, { key: `${tag}-${i}` })),
      );

    const during = load(300, "a");
    await until(() => ran.length >= 40, 20_000, "the load to be under way");
    expect(ran.some((job) => job.satellite === "echo-h1")).toBe(true);
    const drained = await runDsat(["drain", "h1", "--wait", "--topology", file], 60_000);
    expect(text(drained.stderr)).toBe("");
    expect(drained.code).toBe(0);
    expect(text(drained.stdout)).toMatch(/drained h1: echo-h1/);
    expect(text(drained.stdout)).toMatch(/empty/);
    const drainedAt = Date.now();
    const results = await during;
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(ran.filter((job) => job.satellite === "echo-h1" && job.at > drainedAt)).toEqual([]);

    // A satellite restarting on the drained host registers, drained.
    await h1.stop();
    await until(() => orchestrator.status().satellites.length === 1, 10_000, "echo-h1 to leave");
    await start("echo-h1b", "h1");
    await until(() => orchestrator.status().satellites.length === 2, 10_000, "echo-h1b");
    expect(orchestrator.status().satellites.find((s) => s.id === "echo-h1b")).toMatchObject({
      drained: true,
    });
    const before = ran.length;
    expect((await load(100, "b")).every((result) => result.status === "fulfilled")).toBe(true);
    expect(ran.slice(before).every((job) => job.satellite === "echo-h2")).toBe(true);

    const undrained = await runDsat(["undrain", "h1", "--topology", file], 30_000);
    expect(undrained.code).toBe(0);
    expect(text(undrained.stdout)).toMatch(/undrained h1: echo-h1b/);
    const after = ran.length;
    expect((await load(100, "c")).every((result) => result.status === "fulfilled")).toBe(true);
    expect(ran.slice(after).some((job) => job.satellite === "echo-h1b")).toBe(true);
  }, 120_000);
});
