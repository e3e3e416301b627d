// dsat's client and satellite in "mdp" mode through a foreign 7/MDP broker: test/interop/
// mdp_broker.py (pyzmq, written from RFC 7; it never retries and heartbeats idle workers only, like
// the guide's broker), and through the dsat orchestrator, where the satellite is a plain MDP worker.
// Needs Debian's /usr/bin/python3 with python3-zmq (.ci/run installs it).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  CancelledError,
  type Client,
  connect,
  DsatError,
  JobFailedError,
  type MdpClient,
  TimeoutError,
} from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import {
  defineSatellite,
  type JobContext,
  type MdpSatelliteRuntime,
  runSatellite,
  type SatelliteDefinition,
  SatelliteRuntime,
} from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { PythonPeers } from "../helpers/python.ts";
import { until } from "../helpers/wait.ts";

const BROKER_PY = fileURLToPath(new URL("./mdp_broker.py", import.meta.url));
const CLIENT_PY = fileURLToPath(new URL("./mdp_client.py", import.meta.url));
const ROOT = resolve(import.meta.dirname, "../..");
const HEARTBEAT_MS = 250;

/** Everything a test starts, stopped after it (processes by PID). */
const peers = new PythonPeers();
const satellites: Array<{ stop(): Promise<void> }> = [];
const clients: Array<{ close(): Promise<void> }> = [];
const orchestrators: Orchestrator[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const satellite of satellites.splice(0)) await satellite.stop();
  for (const orchestrator of orchestrators.splice(0)) await orchestrator.stop();
  peers.killAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A child process whose stdout lines are kept, with a way to wait for one. */
interface Watched {
  child: ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function watch(child: ChildProcess): Watched {
  peers.adopt(child);
  const lines: string[] = [];
  let rest = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return {
    child,
    lines,
    async waitFor(pattern, timeoutMs = 10_000) {
      await until(
        () => lines.some((line) => pattern.test(line)) || child.exitCode !== null,
        timeoutMs,
        `a line matching ${pattern}`,
      );
      const line = lines.find((candidate) => pattern.test(candidate));
      if (line === undefined) throw new Error(`exited (${child.exitCode}) before ${pattern}: ${stderr}`);
      return line;
    },
  };
}

async function startBroker(endpoint?: string): Promise<{ endpoint: string; broker: Watched }> {
  const address = endpoint ?? (await freeEndpoints(1))[0];
  const broker = watch(peers.spawn(BROKER_PY, ["--heartbeat-ms", String(HEARTBEAT_MS), address]));
  await broker.waitFor(/^ready$/);
  return { endpoint: address, broker };
}

function countLines(watched: Watched, line: string): number {
  return watched.lines.filter((candidate) => candidate === line).length;
}

async function mdpSatellite(
  endpoint: string,
  id: string,
  definition: SatelliteDefinition,
  heartbeatMs = HEARTBEAT_MS,
): Promise<MdpSatelliteRuntime> {
  const satellite = await runSatellite(definition, {
    endpoint,
    id,
    protocol: "mdp",
    heartbeatMs,
    log: () => {},
  });
  satellites.push(satellite);
  return satellite;
}

async function mdpClient(endpoint: string, inFlightMax = 1): Promise<MdpClient> {
  const client = await connect(endpoint, { protocol: "mdp", inFlightMax, timeoutMs: 10_000 });
  clients.push(client);
  return client;
}

/** One request from the Python RFC-7 client; the reply's body frames as latin-1 strings. */
async function pyRequest(endpoint: string, service: string, body: string[]): Promise<string[]> {
  // The client gives up after its own 10 s; the guard only kills one that hangs past that.
  const args = ["--timeout-ms", "10000", endpoint, service, ...body];
  const { code, stdout, stderr } = await peers.run(CLIENT_PY, args, 15_000);
  if (code !== 0) throw new Error(`mdp_client.py exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as string[];
}

const delayed = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a foreign 7/MDP broker (Python, RFC 7) between dsat's client and satellite in mdp mode", () => {
  it("a MessagePack payload reaches the handler decoded, and its result comes back decoded", async () => {
    const { endpoint, broker } = await startBroker();
    const seen: Array<{ payload: unknown; context: JobContext }> = [];
    await mdpSatellite(
      endpoint,
      "calc-1",
      defineSatellite({
        type: "calc",
        handle: (payload: { n: number; bytes: Buffer }, context) => {
          seen.push({ payload, context });
          return { doubled: payload.n * 2, bytes: payload.bytes, by: context.satelliteId };
        },
      }),
    );
    await broker.waitFor(/^worker calc$/);
    const client = await mdpClient(endpoint);
    const bytes = Buffer.from([0, 255, 1]);
    expect(await client.request("calc", { n: 21, bytes }, { timeoutMs: 5000 })).toEqual({
      doubled: 42,
      bytes,
      by: "calc-1",
    });
    expect(seen[0].payload).toEqual({ n: 21, bytes });
    expect(seen[0].context).toMatchObject({ type: "calc", satelliteId: "calc-1", attempt: 1 });
    // Window 1: three requests at once wait their turn on the one socket and all come back right.
    const results = await Promise.all([1, 2, 3].map((n) => client.request("calc", { n, bytes })));
    expect(results.map((result) => (result as { doubled: number }).doubled)).toEqual([2, 4, 6]);
    expect(client.counters).toMatchObject({ sent: 4, replies: 4, timeouts: 0, socketsReopened: 0 });
  });

  it("bytes from a plain Python client reach the handler raw and go back raw", async () => {
    const { endpoint } = await startBroker();
    const payloads: unknown[] = [];
    await mdpSatellite(
      endpoint,
      "raw-1",
      defineSatellite({
        type: "raw",
        handle: (payload: Buffer | Buffer[]) => {
          payloads.push(payload);
          return Buffer.isBuffer(payload) ? Buffer.concat([payload, Buffer.from("!")]) : payload;
        },
      }),
    );
    expect(await pyRequest(endpoint, "raw", ["hello"])).toEqual(["hello!"]);
    expect(await pyRequest(endpoint, "raw", ["one", "two"])).toEqual(["one", "two"]);
    const text = (part: unknown) => (Buffer.isBuffer(part) ? `Buffer(${part.toString()})` : typeof part);
    expect(payloads.map((payload) => (Array.isArray(payload) ? payload.map(text) : text(payload)))).toEqual([
      "Buffer(hello)",
      ["Buffer(one)", "Buffer(two)"],
    ]);
  });

  it("a handler error comes back as [DSAT_ERR_FAILED, message]: JobFailedError for the dsat client", async () => {
    const { endpoint } = await startBroker();
    await mdpSatellite(
      endpoint,
      "fail-1",
      defineSatellite({
        type: "account",
        handle: (payload: string) => {
          if (payload === "nobody") throw new Error("no such account: nobody");
          return `balance of ${payload}: 10`;
        },
      }),
    );
    const client = await mdpClient(endpoint);
    const failure = await client.request("account", "nobody").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JobFailedError);
    expect(failure).toMatchObject({ code: "DSAT_ERR_FAILED", message: "no such account: nobody" });
    // The satellite serves on, and a plain client sees the two frames.
    expect(await client.request("account", "ada")).toBe("balance of ada: 10");
    const nobody = `\u00a6nobody`; // MessagePack fixstr of 6 bytes, as latin-1
    expect(await pyRequest(endpoint, "account", [nobody])).toEqual([
      "DSAT_ERR_FAILED",
      "no such account: nobody",
    ]);
  });

  it("two satellites share the load, each running one request at a time", async () => {
    const { endpoint } = await startBroker();
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const share = defineSatellite({
      type: "share",
      handle: async (payload: number, context) => {
        const id = context.satelliteId;
        running.set(id, (running.get(id) ?? 0) + 1);
        most.set(id, Math.max(most.get(id) ?? 0, running.get(id) ?? 0));
        await delayed(100);
        running.set(id, (running.get(id) ?? 0) - 1);
        return { payload, by: id };
      },
    });
    const first = await mdpSatellite(endpoint, "share-1", share);
    const second = await mdpSatellite(endpoint, "share-2", share);
    const client = await mdpClient(endpoint, 4);
    const results = (await Promise.all(
      Array.from({ length: 12 }, (_, n) => client.request("share", n)),
    )) as Array<{ payload: number; by: string }>;
    expect(results.map((result) => result.payload)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    expect(new Set(results.map((result) => result.by))).toEqual(new Set(["share-1", "share-2"]));
    expect(first.counters.done + second.counters.done).toBe(12);
    expect(Math.max(...most.values())).toBe(1); // MDP: one request per worker at a time
    expect(first.counters.dropped + second.counters.dropped).toBe(0);
  });

  it("a definition with two types registers one MDP worker per type", async () => {
    const { endpoint, broker } = await startBroker();
    await mdpSatellite(
      endpoint,
      "two-1",
      defineSatellite({
        type: ["left", "right"],
        handle: (payload, context) => `${context.type}:${payload}`,
      }),
    );
    await broker.waitFor(/^worker left$/);
    await broker.waitFor(/^worker right$/);
    const client = await mdpClient(endpoint, 2);
    expect(await Promise.all([client.request("left", 1), client.request("right", 2)])).toEqual([
      "left:1",
      "right:2",
    ]);
  });

  it("a satellite killed mid-job: the request times out (the broker does not retry), the next one works", async () => {
    const { endpoint, broker } = await startBroker();
    const dir = mkdtempSync(join(tmpdir(), "dsat-foreign-"));
    dirs.push(dir);
    const topology = join(dir, "topology.json");
    writeFileSync(
      topology,
      JSON.stringify({
        orchestrator: { frontend: endpoint, heartbeatMs: HEARTBEAT_MS },
        hierarchy: ["host"],
        hosts: { h1: {} },
        types: { slow: { concurrency: 1 } },
      }),
    );
    // The CLI's --protocol mdp, in a real process that can be killed -9.
    const victim = watch(
      spawn(
        process.execPath,
        [
          join(ROOT, "bin/dsat"),
          "satellite",
          "test/e2e/satellites/slow.ts",
          "--protocol",
          "mdp",
          "--id",
          "victim",
          "--topology",
          topology,
        ],
        { cwd: ROOT, env: { ...process.env, DSAT_TEST_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    await broker.waitFor(/^worker slow$/, 30_000);
    const client = await mdpClient(endpoint);
    const lost = client.request("slow", { ms: 30_000, tag: "lost" }, { timeoutMs: 2000 });
    lost.catch(() => {});
    await until(() => existsSync(join(dir, "started-lost-1")), 5000, "the victim to start the job");
    process.kill(victim.child.pid as number, "SIGKILL");
    await expect(lost).rejects.toBeInstanceOf(TimeoutError);
    expect(countLines(broker, "dispatch slow")).toBe(1); // sent once, never again
    expect(client.counters.socketsReopened).toBe(1);
    await mdpSatellite(
      endpoint,
      "survivor",
      defineSatellite({ type: "slow", handle: (payload: { tag: string }) => ({ tag: payload.tag }) }),
    );
    expect(await client.request("slow", { tag: "next" }, { timeoutMs: 5000 })).toEqual({ tag: "next" });
  });

  it("a client timeout opens a fresh socket: the late reply is not taken for the next request's", async () => {
    const { endpoint } = await startBroker();
    await mdpSatellite(
      endpoint,
      "late-1",
      defineSatellite({
        type: "late",
        handle: async (payload: { ms: number; tag: string }) => {
          await delayed(payload.ms);
          return payload.tag;
        },
      }),
    );
    const client = await mdpClient(endpoint);
    const first = await client
      .request("late", { ms: 600, tag: "first" }, { timeoutMs: 200 })
      .catch((error: unknown) => error);
    expect(first).toBeInstanceOf(TimeoutError);
    // The worker is still busy with "first", so the broker holds "second" until "first" is answered:
    // "first"'s reply reaches the broker before "second"'s, and must not be taken for it.
    expect(await client.request("late", { ms: 0, tag: "second" }, { timeoutMs: 5000 })).toBe("second");
    expect(client.counters).toMatchObject({ timeouts: 1, socketsReopened: 1 });
    // A request given up with its signal is the same case.
    const controller = new AbortController();
    const third = client.request("late", { ms: 400, tag: "third" }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(third).rejects.toBeInstanceOf(CancelledError);
    expect(await client.request("late", { ms: 0, tag: "fourth" }, { timeoutMs: 5000 })).toBe("fourth");
  });

  it("the satellite stays registered through a job longer than its liveness window", async () => {
    // The broker heartbeats idle workers only: a satellite that counted silence while busy would
    // reconnect mid-job (here after 3 x 250 ms) and its reply would be lost.
    const { endpoint } = await startBroker();
    const satellite = await mdpSatellite(
      endpoint,
      "long-1",
      defineSatellite({
        type: "long",
        handle: async () => {
          await delayed(1500);
          return "done";
        },
      }),
    );
    const client = await mdpClient(endpoint);
    expect(await client.request("long", null, { timeoutMs: 5000 })).toBe("done");
    expect(satellite.counters).toMatchObject({ reconnects: 0, done: 1 });
  });

  it("after the broker restarts, the satellite registers again with a new socket", async () => {
    const first = await startBroker();
    const satellite = await mdpSatellite(
      first.endpoint,
      "again-1",
      defineSatellite({ type: "again", handle: (payload) => payload }),
    );
    await first.broker.waitFor(/^worker again$/);
    process.kill(first.broker.child.pid as number, "SIGKILL");
    // The new broker does not know the worker: it says DISCONNECT to its heartbeats (or stays
    // silent), and the satellite opens a new socket and sends READY.
    const second = await startBroker(first.endpoint);
    await second.broker.waitFor(/^worker again$/);
    expect(satellite.counters.reconnects).toBeGreaterThanOrEqual(1);
    const client = await mdpClient(first.endpoint);
    expect(await client.request("again", "back", { timeoutMs: 5000 })).toBe("back");
  });

  it("what plain MDP cannot carry is refused with a clear error", async () => {
    const { endpoint } = await startBroker();
    const client = await mdpClient(endpoint);
    expect(() => client.cancel("job-1")).toThrow(/not available with protocol "mdp"/);
    expect(() => client.publish("echo", 1)).toThrow(/not available with protocol "mdp"/);
    expect(() => client.events()).toThrow(/not available with protocol "mdp"/);
    await expect(client.request("echo", 1, { key: "k" })).rejects.toThrow(/key and id/);
    await expect(client.request("", 1)).rejects.toThrow(/printable ASCII/);
    await expect(connect(endpoint, { protocol: "mdp", publish: endpoint })).rejects.toThrow(/publish/);
    await expect(connect(endpoint, { protocol: "mdp", inFlightMax: 10_000 })).rejects.toThrow(/1\.\.256/);
    expect(
      () =>
        new SatelliteRuntime(defineSatellite({ type: "x", handle: () => 1 }), {
          endpoint,
          id: "x",
          protocol: "mdp",
        }),
    ).toThrow(/use runSatellite\(\) or MdpSatelliteRuntime/);
    await client.close();
    await expect(client.request("echo", 1)).rejects.toBeInstanceOf(DsatError);
  });
});

describe("a satellite in mdp mode behind the dsat orchestrator", () => {
  it("registers as a plain MDP worker and runs jobs from dsat and mdp clients", async () => {
    const [endpoint] = await freeEndpoints(1);
    const orchestrator = new Orchestrator({
      frontend: endpoint,
      hierarchy: ["rack", "host"],
      types: { echo: {} },
      log: () => {}, // heartbeats: MDP's 2500 ms on both sides (the defaults)
    });
    orchestrators.push(orchestrator);
    await orchestrator.start();
    const satellite = await mdpSatellite(
      endpoint,
      "plain-1",
      defineSatellite({
        type: "echo",
        concurrency: 2,
        handle: (payload: unknown, context) => {
          if (payload === "boom") throw new Error("exploded");
          return { echo: payload, job: context.id };
        },
      }),
      2500,
    );
    const plainWorkers = () =>
      orchestrator.status().satellites.filter((s) => String(s.id).startsWith("mdp-")).length;
    await until(() => plainWorkers() === 2, 5000, "two plain MDP workers (concurrency 2) to register");

    const dsatClient: Client = await connect(endpoint);
    clients.push(dsatClient);
    expect(await dsatClient.request("echo", { a: 1 }, { id: "job-a", timeoutMs: 5000 })).toEqual({
      echo: { a: 1 },
      job: "job-a", // the orchestrator's job address names the job
    });
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, n) => dsatClient.request("echo", n, { timeoutMs: 10_000 })),
    );
    expect(many.map((result) => (result as { echo: number }).echo)).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );

    const plainClient = await mdpClient(endpoint, 2);
    expect(await plainClient.request("echo", "via mdp")).toMatchObject({ echo: "via mdp" });
    const failure = await plainClient.request("echo", "boom").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JobFailedError);
    // The orchestrator reads [DSAT_ERR_FAILED, message] from a plain worker as a (retryable)
    // handler error, as it would a dsat satellite's: retried, then failed with the message.
    expect((failure as Error).message).toMatch(/exploded$/);
    expect(satellite.counters).toMatchObject({ done: 22, errors: 3, reconnects: 0, dropped: 0 });
  });
});
