// Replicated orchestrators (issue 14, item 8), in separate processes on loopback:
// - throughput: jobs/s at 1024 in flight through a 3-node set (every group commit replicated to a
//   majority) against one durable orchestrator (journal, fsync), rounds alternated, same run;
//   target >= 0.5x;
// - failover: a client keeps 16 requests in flight while the leader is killed with SIGKILL; the
//   time from the kill to the first answer of a request sent after it (a new leader serving, its
//   satellites back). The killed node is started again and caught up before the next round.
//   Target p99 < 2 s with the default timeouts (election 10 ticks of 50 ms).
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, controlRequest } from "../src/client/index.ts";
import { freePorts } from "../test/helpers/ports.ts";
import { type BenchResult, median } from "./stats.ts";

const NODES = ["o1", "o2", "o3"];
const FAILOVER_P99_TARGET_MS = 2000;
const THROUGHPUT_RATIO_TARGET = 0.5;

const processFile = (name: string) => fileURLToPath(new URL(`./processes/${name}`, import.meta.url));
const children: ChildProcess[] = [];

function spawn(name: string, args: string[]): ChildProcess {
  const child = fork(processFile(name), args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  children.push(child);
  return child;
}

function ready(child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("a benchmark process did not start")), timeoutMs);
    child.on("message", (message) => {
      if (message === "ready") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function output(child: ChildProcess): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout?.on("data", (chunk) => {
      text += chunk;
    });
    child.on("exit", () => {
      try {
        resolve(JSON.parse(text.trim().split("\n").pop() ?? "{}"));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function stopAll(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ClusterProcesses {
  frontends: string;
  admins: Map<string, string>;
  nodes: Map<string, ChildProcess>;
  start(id: string): Promise<void>;
}

/** Three node processes, each with its own directory under `dir`. */
async function startCluster(dir: string): Promise<ClusterProcesses> {
  const ports = await freePorts(NODES.length * 3);
  const endpoint = (i: number) => `tcp://127.0.0.1:${ports[i]}`;
  const peers = Object.fromEntries(NODES.map((id, i) => [id, endpoint(3 * i)]));
  const frontends = new Map(NODES.map((id, i) => [id, endpoint(3 * i + 1)]));
  const admins = new Map(NODES.map((id, i) => [id, endpoint(3 * i + 2)]));
  const nodes = new Map<string, ChildProcess>();
  const start = async (id: string) => {
    const child = spawn("orchestrator-node.ts", [
      id,
      JSON.stringify(peers),
      frontends.get(id) as string,
      admins.get(id) as string,
      join(dir, id),
    ]);
    nodes.set(id, child);
    await ready(child);
  };
  await Promise.all(NODES.map(start));
  return { frontends: [...frontends.values()].join(","), admins, nodes, start };
}

async function nodeStatus(admin: string): Promise<Record<string, unknown> | null> {
  try {
    return (await controlRequest(admin, "orch-status", 1000)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function leaderOf(cluster: ClusterProcesses): Promise<string | null> {
  for (const [id, admin] of cluster.admins) {
    const status = await nodeStatus(admin);
    if (status?.role === "leader" && status.serving === true) return id;
  }
  return null;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`benchmark: no ${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function startSatellites(frontend: string): Promise<void> {
  const satellites = ["r1", "r2", "r3"].map((rack, i) =>
    spawn("satellite.ts", [frontend, `s${i + 1}`, rack, "1024"]),
  );
  await Promise.all(satellites.map((satellite) => ready(satellite)));
}

/** Until a request of `type` is answered through `frontend` (satellites registered with the one serving). */
async function serving(frontend: string): Promise<void> {
  const client = await connect(frontend, { timeoutMs: 2000 });
  try {
    await waitFor("answer through the orchestrator", () =>
      client.request("echo", 1).then(
        () => true,
        () => false,
      ),
    );
  } finally {
    await client.close();
  }
}

async function clientRound(frontend: string, seconds: number, warm: number): Promise<number> {
  const result = await output(spawn("client.ts", [frontend, "echo", "1024", String(seconds), String(warm)]));
  if (result.failed > 0) throw new Error(`${result.failed} jobs failed`);
  return result.perSecond;
}

async function singleRound(dir: string, seconds: number, warm: number): Promise<number> {
  const [frontendPort, controlPort] = await freePorts(2);
  const frontend = `tcp://127.0.0.1:${frontendPort}`;
  const orchestrator = spawn("orchestrator.ts", [
    frontend,
    `tcp://127.0.0.1:${controlPort}`,
    join(dir, "single"),
  ]);
  await ready(orchestrator);
  await startSatellites(frontend);
  await serving(frontend);
  const rate = await clientRound(frontend, seconds, warm);
  stopAll();
  return rate;
}

async function clusterRound(dir: string, seconds: number, warm: number): Promise<number> {
  const cluster = await startCluster(dir);
  await waitFor("leader", async () => (await leaderOf(cluster)) !== null);
  await startSatellites(cluster.frontends);
  await serving(cluster.frontends);
  const rate = await clientRound(cluster.frontends, seconds, warm);
  stopAll();
  return rate;
}

/** Kill -9 the leader `rounds` times; ms from each kill to the first answer of a request sent after it. */
async function failovers(dir: string, rounds: number): Promise<number[]> {
  const cluster = await startCluster(dir);
  await waitFor("leader", async () => (await leaderOf(cluster)) !== null);
  await startSatellites(cluster.frontends);
  await serving(cluster.frontends);
  const client = await connect(cluster.frontends, { timeoutMs: 60_000 });
  let killedAt = Number.POSITIVE_INFINITY;
  let firstAfter = Number.NaN;
  let running = true;
  const loop = async () => {
    while (running) {
      const sentAt = Date.now();
      await client.request("echo", sentAt).catch(() => {});
      if (sentAt > killedAt && Number.isNaN(firstAfter)) firstAfter = Date.now();
    }
  };
  const loops = Array.from({ length: 16 }, loop);
  const times: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const leader = await leaderOf(cluster);
      if (leader === null) throw new Error("no leader");
      firstAfter = Number.NaN;
      killedAt = Date.now();
      cluster.nodes.get(leader)?.kill("SIGKILL");
      await waitFor("answer after the kill", async () => !Number.isNaN(firstAfter), 60_000);
      times.push(firstAfter - killedAt);
      killedAt = Number.POSITIVE_INFINITY;
      await cluster.start(leader);
      // Caught up again before the next kill: all three green.
      await waitFor("caught-up cluster", async () => {
        const statuses = await Promise.all([...cluster.admins.values()].map(nodeStatus));
        return statuses.every((status) => status?.health === "green");
      });
    }
  } finally {
    running = false;
    await Promise.race([Promise.all(loops), sleep(5000)]);
    await client.close();
    stopAll();
  }
  return times;
}

export async function benchReplicated(quick: boolean): Promise<BenchResult[]> {
  const seconds = quick ? 2 : 3;
  const warm = quick ? 0.5 : 1;
  const rounds = quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), "dsat-bench-replicated-"));
  try {
    const single: number[] = [];
    const cluster: number[] = [];
    for (let round = 0; round < rounds; round++) {
      rmSync(dir, { recursive: true, force: true });
      single.push(await singleRound(dir, seconds, warm));
      rmSync(dir, { recursive: true, force: true });
      cluster.push(await clusterRound(dir, seconds, warm));
    }
    const ratios = cluster.map((rate, round) => rate / single[round]);
    rmSync(dir, { recursive: true, force: true });
    const times = (await failovers(dir, quick ? 5 : 20)).sort((a, b) => a - b);
    const p99 = times[Math.min(times.length - 1, Math.ceil(0.99 * times.length) - 1)];
    return [
      { name: "replicated: one durable orchestrator, 1024 in flight", value: median(single), unit: "jobs/s" },
      { name: "replicated: 3 orchestrators (Raft), 1024 in flight", value: median(cluster), unit: "jobs/s" },
      {
        name: "replicated: 3 orchestrators / one durable",
        value: median(ratios),
        unit: `ratio (rounds: ${ratios.map((ratio) => ratio.toFixed(2)).join(", ")})`,
        target: { atLeast: THROUGHPUT_RATIO_TARGET },
      },
      {
        name: `replicated: leader kill -9 to the first answer, p99 of ${times.length}`,
        value: p99,
        unit: `ms (p50 ${median(times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`,
        target: { below: FAILOVER_P99_TARGET_MS },
      },
    ];
  } finally {
    stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
