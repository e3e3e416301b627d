// Interop with plain 7/MDP + 8/MMI peers in another language: test/interop/mdp_client.py and
// mdp_worker.py (pyzmq, written from the RFCs) against the orchestrator, a TS satellite and the
// TS client. Needs Debian's /usr/bin/python3 with python3-zmq (.ci/run installs it).
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { PythonPeers, waitForLine } from "../helpers/python.ts";

const CLIENT_PY = fileURLToPath(new URL("./mdp_client.py", import.meta.url));
const WORKER_PY = fileURLToPath(new URL("./mdp_worker.py", import.meta.url));
const HEARTBEAT_MS = 500;

/** Every process this file starts, killed by PID after each test. */
const peers = new PythonPeers();

interface ClientResult {
  code: number | null;
  body: string[] | null;
  stderr: string;
}

/** Runs mdp_client.py once; body frames are latin-1 strings (one char per byte). */
async function pyRequest(
  service: string,
  body: string[],
  options: { timeoutMs?: number; hex?: boolean; endpoint?: string } = {},
): Promise<ClientResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const args = [
    "--timeout-ms",
    String(timeoutMs),
    ...(options.hex ? ["--hex"] : []),
    options.endpoint ?? endpoint,
    service,
    ...body,
  ];
  const { code, stdout, stderr } = await peers.run(CLIENT_PY, args, timeoutMs + 3000);
  return { code, body: code === 0 ? (JSON.parse(stdout) as string[]) : null, stderr };
}

/** Starts a Python worker and waits until the orchestrator has registered it. */
async function startWorker(service: string, flags: string[] = [], on = orchestrator): Promise<ChildProcess> {
  const before = servingCount(service, on);
  const address = on.config.frontend[0];
  const child = peers.spawn(WORKER_PY, ["--heartbeat-ms", String(HEARTBEAT_MS), ...flags, address, service]);
  await waitForLine(child, /^ready$/);
  await until(() => servingCount(service, on) > before, `a worker for "${service}" to register`);
  return child;
}

function servingCount(service: string, on = orchestrator): number {
  return on.status().satellites.filter((s) => (s.types as string[]).includes(service)).length;
}

function newOrchestrator(frontend: string): Orchestrator {
  return new Orchestrator({
    frontend,
    hierarchy: ["rack", "host"],
    types: { echo: {} },
    dynamicTypes: true, // the Python workers bring their own service names
    limits: { heartbeatMs: HEARTBEAT_MS, plainHeartbeatMs: HEARTBEAT_MS },
    log: () => {},
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let endpoint = "";
let orchestrator: Orchestrator;
let satellite: Awaited<ReturnType<typeof runSatellite>>;
let client: Client | null = null;

beforeAll(async () => {
  [endpoint] = await freeEndpoints(1);
  orchestrator = newOrchestrator(endpoint);
  await orchestrator.start();
  satellite = await runSatellite(
    defineSatellite({ type: "echo", concurrency: 2, handle: (payload) => payload }),
    {
      endpoint,
      id: "s1",
      location: [
        ["rack", "r1"],
        ["host", "h1"],
      ],
      heartbeatMs: HEARTBEAT_MS,
      log: () => {},
    },
  );
  await until(() => servingCount("echo") === 1, "the TS echo satellite to register");
});

afterEach(async () => {
  peers.killAll();
  await client?.close();
  client = null;
});

afterAll(async () => {
  peers.killAll();
  await satellite?.stop();
  await orchestrator?.stop();
});

describe("plain 7/MDP peers in Python", () => {
  it("Python client -> TS satellite: raw frames come back as sent", async () => {
    expect(await pyRequest("echo", ["hello"])).toMatchObject({ code: 0, body: ["hello"] });
    // Bytes that are neither UTF-8 nor MessagePack, including NUL: the raw path must not touch them.
    const binary = await pyRequest("echo", ["00ff80c1de"], { hex: true });
    expect(binary).toMatchObject({ code: 0, body: ["\u0000\u00ff\u0080\u00c1\u00de"] });
    expect(await pyRequest("echo", [""])).toMatchObject({ code: 0, body: [""] });
  });

  // 7/MDP passes body frames through unchanged: a multi-frame body comes back as the same frames
  // (an earlier version packed them into one MessagePack array).
  it("Python client -> TS satellite: a multi-frame body comes back as the same frames", async () => {
    expect(await pyRequest("echo", ["one", "two", "\u00ff"])).toMatchObject({
      code: 0,
      body: ["one", "two", "\u00ff"],
    });
  });

  it("TS client -> Python worker: the MessagePack payload is echoed and decoded", async () => {
    await startWorker("pyecho");
    client = await connect(endpoint);
    const value = { text: "héllo", n: 42, list: [1, 2.5, null, true], bytes: Buffer.from([0, 255]) };
    expect(await client.request("pyecho", value, { timeoutMs: 5000 })).toEqual(value);
    expect(await client.request("pyecho", "second", { timeoutMs: 5000 })).toBe("second");
  });

  it("Python client -> Python worker", async () => {
    await startWorker("pyupper", ["--upper"]);
    expect(await pyRequest("pyupper", ["hello"])).toMatchObject({ code: 0, body: ["HELLO"] });
    // Bytes outside ASCII pass through; only a-z are uppercased.
    const binary = await pyRequest("pyupper", ["00ff61"], { hex: true });
    expect(binary).toMatchObject({ code: 0, body: ["\u0000\u00ffA"] });
  });

  // A plain worker's multi-frame REPLY reaches a plain client frame for frame.
  it("Python client -> Python worker: a multi-frame body comes back as the same frames", async () => {
    await startWorker("pymulti", ["--upper"]);
    expect(await pyRequest("pymulti", ["a", "b", "c"])).toMatchObject({ code: 0, body: ["A", "B", "C"] });
  });

  it("8/MMI: mmi.service answers 200 / 404, other mmi.* 501", async () => {
    await startWorker("pymmi");
    expect(await pyRequest("mmi.service", ["echo"])).toMatchObject({ code: 0, body: ["200"] });
    expect(await pyRequest("mmi.service", ["pymmi"])).toMatchObject({ code: 0, body: ["200"] });
    expect(await pyRequest("mmi.service", ["nosuchservice"])).toMatchObject({ code: 0, body: ["404"] });
    expect(await pyRequest("mmi.foo", ["echo"])).toMatchObject({ code: 0, body: ["501"] });
  });

  it("mmi.service answers 404 once the only worker has gone", async () => {
    const worker = await startWorker("pygone");
    expect(await pyRequest("mmi.service", ["pygone"])).toMatchObject({ code: 0, body: ["200"] });
    worker.kill("SIGTERM"); // the worker sends DISCONNECT on SIGTERM
    await until(() => servingCount("pygone") === 0, "the worker to be forgotten");
    expect(await pyRequest("mmi.service", ["pygone"])).toMatchObject({ code: 0, body: ["404"] });
  });

  it("Python client asking an unknown type gets [DSAT_ERR_UNKNOWN_TYPE, message]", async () => {
    const result = await pyRequest("nosuchtype", ["x"]);
    expect(result.code).toBe(0);
    expect(result.body).toHaveLength(2);
    expect(result.body?.[0]).toBe("DSAT_ERR_UNKNOWN_TYPE");
    expect(result.body?.[1]).toContain("nosuchtype");
  });

  it("a Python worker re-registers after DISCONNECT from a restarted orchestrator", async () => {
    const [address] = await freeEndpoints(1);
    let other = newOrchestrator(address);
    await other.start();
    try {
      const worker = await startWorker("pyrestart", [], other);
      expect(await pyRequest("pyrestart", ["before"], { endpoint: address })).toMatchObject({
        code: 0,
        body: ["before"],
      });
      const reconnected = waitForLine(worker, /^reconnected$/);
      reconnected.catch(() => {});
      await other.stop(); // sends DISCONNECT to every registered worker
      await reconnected;
      other = newOrchestrator(address);
      await other.start();
      const restarted = other;
      await until(() => servingCount("pyrestart", restarted) > 0, "the worker to send READY again");
      expect(await pyRequest("pyrestart", ["after"], { endpoint: address })).toMatchObject({
        code: 0,
        body: ["after"],
      });
    } finally {
      await other.stop();
    }
  });

  it("a Python worker's job longer than the ack and stall timeouts runs once: its heartbeats keep it alive", async () => {
    // A plain MDP worker cannot ACK or report progress: the orchestrator stands in the ack when it
    // sends the request, and counts the worker's heartbeats (every 500 ms here) as progress.
    const [address] = await freeEndpoints(1);
    const patient = new Orchestrator({
      frontend: address,
      hierarchy: ["rack", "host"],
      types: { pylong: {} },
      limits: { heartbeatMs: HEARTBEAT_MS },
      tracker: { ackTimeoutMs: 300, stallTimeoutMs: 1200, runTimeoutMs: 20_000 },
      log: () => {},
    });
    await patient.start();
    try {
      const worker = await startWorker("pylong", ["--delay-ms", "3000"], patient);
      const second = waitForLine(worker, /^request 2$/, 4000); // a retry would come within 1 s
      second.catch(() => {});
      expect(await pyRequest("pylong", ["slow"], { endpoint: address, timeoutMs: 10_000 })).toMatchObject({
        code: 0,
        body: ["slow"],
      });
      await expect(second).rejects.toThrow(); // the worker ran it once: no retry after an "ack timeout"
      expect(patient.status().stats.pylong).toMatchObject({ timeouts: 0, retries: 0, stalls: 0 });
    } finally {
      await patient.stop();
    }
  });

  it("a plain MDP worker silent mid-job (as 7/MDP's reference workers are) is governed by the run timeout", async () => {
    const [address] = await freeEndpoints(1);
    const strict = new Orchestrator({
      frontend: address,
      hierarchy: ["rack", "host"],
      types: { pystall: {} },
      limits: { heartbeatMs: 5000 },
      // No stall timer for a worker that cannot report progress; its silence while busy is no loss
      // either: the run timeout (8 s: ample time for the second worker to register first, even on a
      // loaded machine) sends the job elsewhere.
      tracker: { ackTimeoutMs: 300, stallTimeoutMs: 1000, runTimeoutMs: 8000 },
      log: () => {},
    });
    await strict.start();
    try {
      const silent = await startWorker("pystall", ["--delay-ms", "30000", "--heartbeat-ms", "60000"], strict);
      const gotIt = waitForLine(silent, /^request 1$/, 5000);
      gotIt.catch(() => {});
      const reply = pyRequest("pystall", ["again"], { endpoint: address, timeoutMs: 25_000 });
      await gotIt;
      // Registered well before the stall (8 s after the send), so the retry goes there.
      const healthy = await startWorker("pystall", ["--heartbeat-ms", "5000"], strict); // the orchestrator's period
      const rerouted = waitForLine(healthy, /^request 1$/, 15_000);
      rerouted.catch(() => {});
      await rerouted;
      expect(await reply).toMatchObject({ code: 0, body: ["again"] });
      expect(strict.status().stats.pystall).toMatchObject({ stalls: 0, timeouts: 1 });
      expect(strict.counters.satellitesLost).toBe(0); // not lost while it worked
    } finally {
      await strict.stop();
    }
  });

  it("a Python worker killed mid-request: the job is rerouted to the other worker", async () => {
    const first = await startWorker("pyslow", ["--delay-ms", "1500"]);
    const second = await startWorker("pyslow", ["--delay-ms", "1500"]);
    const firstGot = waitForLine(first, /^request 1$/, 5000).then(() => first);
    const secondGot = waitForLine(second, /^request 1$/, 5000).then(() => second);
    firstGot.catch(() => {});
    secondGot.catch(() => {});
    const reply = pyRequest("pyslow", ["survive"], { timeoutMs: 10_000 });
    const victim = await Promise.race([firstGot, secondGot]);
    const survivor = victim === first ? second : first;
    const rerouted = waitForLine(survivor, /^request 1$/, 8000);
    rerouted.catch(() => {});
    process.kill(victim.pid as number, "SIGKILL");
    await rerouted; // the orchestrator noticed the silence and sent the job to the survivor
    expect(await reply).toMatchObject({ code: 0, body: ["survive"] });
    expect(orchestrator.counters.satellitesLost).toBeGreaterThanOrEqual(1);
  });
});
