// dsat under a real pm2 daemon, in a temp PM2_HOME: `up` starts the orchestrator and satellites and
// they register; kill -9 of a satellite is restarted by pm2 and loses no job; a satellite whose
// event loop hangs (alive to pm2, silent to dsat) is restarted by the watchdog, which says so in an
// event; `down` leaves no process behind. Only processes this file started are killed.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, type OrchestratorEvent } from "../../src/client/index.ts";
import {
  down,
  gatherStatus,
  list,
  logs,
  type Pm2Process,
  registeredSatellites,
  up,
} from "../../src/pm2/index.ts";
import { loadTopology } from "../../src/topology/index.ts";
import { freePorts } from "../helpers/ports.ts";
import { THREE_RACKS } from "../helpers/topology.ts";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "dsat-pm2-"));
const home = join(dir, "pm2");
const topologyFile = join(dir, "topology.json");
let endpoints: { frontend: string; intake: string; events: string; control: string };
/** Every pid pm2 ran for us, to make sure none is left. */
const pids = new Set<number>();
let client: Client | undefined;
const events: OrchestratorEvent[] = [];
let eventsDone: Promise<void> | undefined;

const SATELLITES = ["slow@h1", "slow@h2", "slow@h3", "stuck@h1"];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function processes(): Promise<Map<string, Pm2Process>> {
  const listed = await list({ home });
  for (const p of listed) if (p.pid > 0) pids.add(p.pid);
  return new Map(listed.map((p) => [p.name, p]));
}

beforeAll(async () => {
  const [frontend, intake, events, control] = await freePorts(4);
  endpoints = {
    frontend: `tcp://127.0.0.1:${frontend}`,
    intake: `tcp://127.0.0.1:${intake}`,
    events: `tcp://127.0.0.1:${events}`,
    control: `tcp://127.0.0.1:${control}`,
  };
  writeFileSync(
    topologyFile,
    JSON.stringify({
      orchestrator: { ...endpoints, heartbeatMs: 250, tracker: { backoffBaseMs: 20, backoffMaxMs: 200 } },
      ...THREE_RACKS,
      types: {
        slow: {
          module: join(root, "test/e2e/satellites/slow.ts"),
          replicas: 3,
          failureDomain: "rack",
          timeoutMs: 20_000,
        },
        stuck: {
          module: join(root, "test/pm2/satellites/stuck.ts"),
          hosts: ["h1"],
          replicas: 1,
          failureDomain: "host",
          timeoutMs: 30_000,
        },
      },
    }),
  );
});

afterAll(async () => {
  await client?.close().catch(() => {});
  await eventsDone?.catch(() => {});
  await down(undefined, { home }).catch(() => {});
  // Belt and braces: anything pm2 ran for this file and left alive (never other processes).
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  const daemonPid = join(home, "pm2.pid");
  if (existsSync(daemonPid)) {
    const pid = Number(readFileSync(daemonPid, "utf8"));
    if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("dsat under pm2 (real daemon, temp PM2_HOME)", () => {
  it("up: the orchestrator and every satellite are online under pm2 and registered", async () => {
    const result = await up(topologyFile, {
      home,
      timeoutMs: 40_000,
      apps: {
        killTimeoutMs: 3000,
        restartDelayMs: 100,
        env: { DSAT_WATCHDOG_GRACE_MS: "1500", DSAT_TEST_DIR: dir },
      },
    });
    expect(result.home).toBe(home);
    expect(result.missing).toEqual([]);
    expect(result.started.sort()).toEqual(
      [
        "dsat-orchestrator",
        "dsat-sat-slow-h1",
        "dsat-sat-slow-h2",
        "dsat-sat-slow-h3",
        "dsat-sat-stuck-h1",
      ].sort(),
    );
    const running = await processes();
    expect([...running.values()].every((p) => p.status === "online" && p.pid > 0)).toBe(true);
    expect(running.get("dsat-sat-slow-h2")?.satelliteId).toBe("slow@h2");
    expect(await registeredSatellites(loadTopology(topologyFile))).toEqual(SATELLITES);
    // The status merges both views.
    const status = await gatherStatus(topologyFile, { home });
    expect(status.pm2.running).toBe(true);
    expect(status.orchestratorApp?.status).toBe("online");
    expect(status.satellites.map((s) => [s.id, s.pm2?.status, s.registry !== undefined])).toEqual(
      SATELLITES.map((id) => [id, "online", true]),
    );
    // A second `up` leaves running apps alone.
    const again = await up(topologyFile, { home, timeoutMs: 20_000 });
    expect(again.started).toEqual([]);
    expect(again.alreadyOnline).toHaveLength(5);

    client = await connect(endpoints.frontend, { events: endpoints.events });
    eventsDone = (async () => {
      for await (const event of client!.events("")) events.push(event);
    })();
    await new Promise((done) => setTimeout(done, 300)); // SUB join
  }, 60_000);

  it("kill -9 of a satellite: pm2 restarts it and no job is lost", async () => {
    const before = (await processes()).get("dsat-sat-slow-h2")!;
    const send = (count: number, ms: number) =>
      Array.from({ length: count }, (_, i) =>
        client!.request<{ satellite: string; pid: number }>(
          "slow",
          { ms },
          { key: `k${i}-${Math.random()}` },
        ),
      );
    const early = await Promise.all(send(30, 5));
    expect(early.map((r) => r.satellite)).toContain("slow@h2");
    const during = Promise.allSettled(send(60, 400));
    await new Promise((done) => setTimeout(done, 150));
    process.kill(before.pid, "SIGKILL");
    await waitUntil("pm2 to restart slow@h2", async () => {
      const now = (await processes()).get("dsat-sat-slow-h2");
      return now !== undefined && now.status === "online" && now.pid !== before.pid && now.pid > 0;
    });
    const settled = await during;
    const failures = settled.filter((r) => r.status === "rejected");
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);
    const after = (await processes()).get("dsat-sat-slow-h2")!;
    expect(after.restarts).toBe(before.restarts + 1);
    await waitUntil("slow@h2 to register again", async () =>
      (await registeredSatellites(loadTopology(topologyFile))).includes("slow@h2"),
    );
    const late = await Promise.all(send(30, 5));
    expect(late).toHaveLength(30);
    // Jobs it had in flight were rerouted; the watchdog left the (already restarted) app alone.
    const { orchestrator } = await gatherStatus(topologyFile, { home });
    expect(orchestrator?.stats.slow.retries).toBeGreaterThan(0);
    expect(events.some((e) => e.topic === "satellite.lost" && e.satellite === "slow@h2")).toBe(true);
    // The restarted process takes jobs again.
    const again = await Promise.all(send(40, 5));
    expect(again.some((r) => r.satellite === "slow@h2" && r.pid === after.pid)).toBe(true);
  }, 40_000);

  it("a hung satellite (alive, heartbeats stopped) is restarted by the watchdog", async () => {
    const before = (await processes()).get("dsat-sat-stuck-h1")!;
    const result = client!.request<{ satellite: string; pid: number; attempt: number }>("stuck", {
      hang: true,
    });
    await waitUntil(
      "a satellite.restarted event",
      () => events.some((e) => e.topic === "satellite.restarted" && e.satellite === "stuck@h1"),
      25_000,
    );
    const restarted = events.find((e) => e.topic === "satellite.restarted")!;
    expect(events.filter((e) => e.topic === "satellite.restarted")).toHaveLength(1);
    expect(restarted).toMatchObject({ satellite: "stuck@h1", app: "dsat-sat-stuck-h1", pid: before.pid });
    expect(String(restarted.reason)).toMatch(/heartbeats stopped/);
    expect(events.some((e) => e.topic === "satellite.lost" && e.satellite === "stuck@h1")).toBe(true);
    // The job, rerouted when the satellite was lost, runs on the new process.
    const answer = await result;
    expect(answer.attempt).toBe(2);
    expect(answer.pid).not.toBe(before.pid);
    const after = (await processes()).get("dsat-sat-stuck-h1")!;
    expect(after.restarts).toBe(before.restarts + 1);
    expect(alive(before.pid)).toBe(false);
    const status = await gatherStatus(topologyFile, { home });
    expect(status.watchdog.map((r) => r.satellite)).toContain("stuck@h1");
    // Its log says what happened.
    const lines = await logs("orchestrator", 50, { home });
    expect(lines.some((l) => /watchdog: restarted dsat-sat-stuck-h1/.test(l.line))).toBe(true);
  }, 40_000);

  it("down: every app and the daemon are gone", async () => {
    await client?.close();
    await eventsDone;
    client = undefined;
    const running = await processes();
    expect(running.size).toBe(5);
    const daemonPid = Number(readFileSync(join(home, "pm2.pid"), "utf8"));
    const result = await down(undefined, { home });
    expect(result.deleted).toHaveLength(5);
    expect(result.daemonKilled).toBe(true);
    await waitUntil("every process to exit", () => [...pids, daemonPid].every((pid) => !alive(pid)), 10_000);
    expect(await list({ home })).toEqual([]);
    expect(await down(undefined, { home })).toMatchObject({ deleted: [], daemonKilled: false });
    // Logs stay readable after down.
    expect((await logs(undefined, 5, { home })).length).toBeGreaterThan(0);
  }, 30_000);
});
