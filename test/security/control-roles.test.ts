// Control commands by role (docs/security.md, "Control roles"). With CURVE on: a client or
// satellite key may read (ping, status) but not list or change jobs (jobs, retry, reload-keys,
// memory); an admin key (security.adminKeysDir) may do all; a signed request copied onto another
// connection with the same key is refused, and so is a request naming a key its sender does not
// hold. Refusals are counted and published as rate-limited security.refused events. Without CURVE:
// `jobs` pages are bounded, and control may not bind beyond this host unless insecureControl.
// The CLI signs with DSAT_ADMIN_KEY and refuses a wildcard control bind without --insecure.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import {
  type Client,
  connect,
  controlRequest,
  controlRoutingId,
  signControlRequest,
} from "../../src/client/index.ts";
import { endpointReach } from "../../src/orchestrator/control-binding.ts";
import { ConfigError, Orchestrator } from "../../src/orchestrator/index.ts";
import { decode, encode } from "../../src/protocol/index.ts";
import {
  type CurveOptions,
  curveClientOptions,
  generateKeyFiles,
  readKeyPair,
} from "../../src/security/index.ts";
import { loadTopology, orchestratorConfig } from "../../src/topology/index.ts";
import { ROOT, runDsat } from "../cli/helpers.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import { freeEndpoints, freePorts } from "../helpers/ports.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { until } from "../helpers/wait.ts";

interface Reply {
  ok: boolean;
  error?: string;
  code?: string;
  [field: string]: unknown;
}

const FORBIDDEN = "DSAT_ERR_FORBIDDEN";
const ADMIN_ONLY = ["jobs", "retry", "reload-keys", "memory"] as const;

/** A DEALER on the control socket with a routing id of our choosing; sends raw bytes. */
async function exchange(
  endpoint: string,
  routingId: string,
  body: Buffer,
  curve?: CurveOptions,
): Promise<Reply> {
  const socket = new Dealer({ linger: 0, receiveTimeout: 3000, routingId, ...curveClientOptions(curve) });
  socket.connect(endpoint);
  try {
    await socket.send(body);
    const [reply] = await socket.receive();
    return decode(reply) as Reply;
  } finally {
    socket.close();
  }
}

describe("control roles with CURVE", () => {
  const keys = new TestKeys("dsat-control-roles-");
  const adminsDir = join(keys.dir, "admins");
  let secure: SecureOrchestrator;
  let orchestrator: Orchestrator;
  let control: string;
  let admin: CurveOptions;
  const logs: string[] = [];

  const ask = (command: string | ({ cmd: string } & Record<string, unknown>), curve: CurveOptions) =>
    controlRequest(control, command, 3000, curve) as Promise<Reply>;
  const refused = () => orchestrator.status().counters.security.controlRefused;
  /** security.refused events for the control socket, oldest first. */
  const refusedEvents = () =>
    secure.published.filter((event) => event.topic === "security.refused" && event.address === "control");

  beforeAll(async () => {
    keys.add("client-ok", "clients");
    keys.add("sat-ok", "satellites");
    generateKeyFiles("admin-ops", adminsDir);
    admin = { ...readKeyPair(join(adminsDir, "admin-ops.key")), serverPublicKey: keys.server.publicKey };
    // A wildcard: allowed with CURVE, where roles decide (no insecureControl, no warning).
    const [controlPort] = await freePorts(1);
    control = `tcp://127.0.0.1:${controlPort}`;
    secure = await startSecureOrchestrator(
      keys,
      { control: `tcp://*:${controlPort}`, log: (line) => logs.push(line) },
      { adminKeysDir: adminsDir },
    );
    ({ orchestrator } = secure);
  });

  afterAll(async () => {
    await secure?.stop();
    keys.remove();
  });

  it("binds a wildcard control endpoint under CURVE without a warning", () => {
    expect(logs.filter((line) => line.includes("warning"))).toEqual([]);
  });

  it("lets a client key ping and read the status, and refuses it jobs, retry, reload-keys and memory", async () => {
    const client = keys.curve("client-ok");
    expect(await ask("ping", client)).toEqual({ ok: true });
    expect((await ask("status", client)).ok).toBe(true);
    expect((await ask("stats", client)).ok).toBe(true);
    const before = refused();
    for (const cmd of ADMIN_ONLY) {
      const reply = await ask({ cmd, id: "x" }, client);
      expect(reply, cmd).toMatchObject({ ok: false, code: FORBIDDEN });
      expect(reply.error).toContain(`"${cmd}" is not allowed for role client`);
    }
    expect(refused() - before).toBe(ADMIN_ONLY.length);
    expect(refusedEvents().some((event) => event.role === "client" && event.key === "client-ok")).toBe(true);
    expect(refusedEvents()[0]).toMatchObject({
      mechanism: "CURVE",
      command: "jobs",
      reason: expect.any(String),
    });
  });

  it("refuses a satellite key the admin commands, and lets it read", async () => {
    const satellite = keys.curve("sat-ok");
    expect((await ask("status", satellite)).ok).toBe(true);
    for (const cmd of ["jobs", "retry", "reload-keys"]) {
      const reply = await ask({ cmd, id: "x" }, satellite);
      expect(reply, cmd).toMatchObject({ ok: false, code: FORBIDDEN });
      expect(reply.error).toContain("role satellite");
    }
  });

  it("lets an admin key run every command", async () => {
    expect(await ask("ping", admin)).toEqual({ ok: true });
    expect((await ask("status", admin)).ok).toBe(true);
    expect(await ask("jobs", admin)).toMatchObject({ ok: true, jobs: [], total: 0, next: null });
    // Authorized, and answered on its merits: there is no such job.
    const retry = await ask({ cmd: "retry", id: "nope" }, admin);
    expect(retry.code).toBeUndefined();
    expect(retry.error).toMatch(/no finished job "nope"/);
    expect(await ask("reload-keys", admin)).toEqual({
      ok: true,
      admins: 1,
      clients: 1,
      satellites: 1,
      problems: [],
    });
    expect((await ask("memory", admin)).ok).toBe(true);
  });

  it("refuses a signed admin request replayed from another connection with the same key", async () => {
    const original = controlRoutingId();
    const bytes = encode(signControlRequest({ cmd: "jobs" }, admin, original));
    expect(await exchange(control, original, bytes, admin)).toMatchObject({ ok: true, total: 0 });
    const before = refused();
    // The same bytes from a new DEALER: the key passes ZAP, the routing id differs.
    const replayed = await exchange(control, controlRoutingId(), bytes, admin);
    expect(replayed).toMatchObject({ ok: false, code: FORBIDDEN });
    expect(replayed.error).toMatch(/proof does not hold for this connection/);
    expect(refused() - before).toBe(1);
  });

  it("refuses a client that names the admin's key, and an unsigned admin command", async () => {
    const client = keys.curve("client-ok");
    const routingId = controlRoutingId();
    // Signed with the client's secret key but claiming the admin's public key.
    const forged = { ...signControlRequest({ cmd: "jobs" }, client, routingId), key: admin.publicKey };
    const reply = await exchange(control, routingId, encode(forged), client);
    expect(reply).toMatchObject({ ok: false, code: FORBIDDEN });
    // Unsigned, even over an admin key's connection: nobody knows which key sent it.
    const unsigned = await exchange(control, controlRoutingId(), encode({ cmd: "jobs" }), admin);
    expect(unsigned).toMatchObject({ ok: false, code: FORBIDDEN });
    expect(unsigned.error).toContain("role peer");
    expect((await exchange(control, controlRoutingId(), encode({ cmd: "ping" }), admin)).ok).toBe(true);
  });

  it("counts every refusal and publishes at most one security.refused event a second per key", async () => {
    const client = keys.curve("client-ok");
    const before = refused();
    const eventsBefore = refusedEvents().length;
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await ask("jobs", client)).code).toBe(FORBIDDEN);
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(refused() - before).toBe(20);
    const fresh = refusedEvents()
      .slice(eventsBefore)
      .filter((event) => event.key === "client-ok");
    expect(fresh.length).toBeLessThanOrEqual(seconds + 1);
  });
});

describe("jobs pages (no CURVE: every control peer is an admin)", () => {
  const JOBS = 1_250;
  let orchestrator: Orchestrator;
  let client: Client;
  let control: string;
  const pending: Array<Promise<unknown>> = [];

  beforeAll(async () => {
    const [frontend, controlEndpoint] = await freeEndpoints(2);
    control = controlEndpoint;
    orchestrator = new Orchestrator({
      frontend,
      control,
      hierarchy: ["host"],
      // A declared type nobody serves: its jobs wait (live) for a satellite.
      types: { idle: {} },
      limits: { noSatelliteWaitMs: 60_000, requestTimeoutMs: 60_000 },
      log: () => {},
    });
    await orchestrator.start();
    client = await connect(frontend, { inFlightMax: JOBS + 10, timeoutMs: 60_000 });
    for (let i = 0; i < JOBS; i++) pending.push(client.request("idle", i).catch(() => {}));
    await until(() => orchestrator.status().jobs.inFlight === JOBS, 20_000, "the jobs to be held");
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all(pending);
    await orchestrator?.stop();
  });

  it("answers 100 jobs by default, refuses a limit over 1000, and pages through every job once", async () => {
    const first = (await controlRequest(control, "jobs")) as Reply & { jobs: unknown[]; total: number };
    expect(first.ok).toBe(true);
    expect(first.jobs).toHaveLength(100);
    expect(first.total).toBe(JOBS);
    const tooMany = (await controlRequest(control, { cmd: "jobs", limit: 5000 })) as Reply;
    expect(tooMany).toMatchObject({ ok: false });
    expect(tooMany.error).toMatch(/limit: expected an integer in 1\.\.1000/);
    const badCursor = (await controlRequest(control, { cmd: "jobs", after: "yesterday" })) as Reply;
    expect(badCursor.error).toMatch(/after: expected the "next" cursor/);
    const seen: string[] = [];
    const receivedAt: number[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const reply = (await controlRequest(control, { cmd: "jobs", limit: 1000, after })) as Reply & {
        jobs: Array<{ id: string; receivedAt: number }>;
        next: string | null;
      };
      expect(reply.ok).toBe(true);
      expect(reply.jobs.length).toBeLessThanOrEqual(1000);
      for (const job of reply.jobs) {
        seen.push(job.id);
        receivedAt.push(job.receivedAt);
      }
      after = reply.next;
      if (after === null) break;
    }
    expect(seen).toHaveLength(JOBS);
    expect(new Set(seen).size).toBe(JOBS);
    expect(receivedAt.every((at, i) => i === 0 || at <= receivedAt[i - 1])).toBe(true);
  });
});

describe("where control may bind without CURVE", () => {
  it("classifies endpoints", () => {
    expect(endpointReach("tcp://*:5558")).toBe("wildcard");
    expect(endpointReach("tcp://0.0.0.0:5558")).toBe("wildcard");
    expect(endpointReach("tcp://[::]:5558")).toBe("wildcard");
    expect(endpointReach("tcp://127.0.0.1:5558")).toBe("loopback");
    expect(endpointReach("tcp://127.1.2.3:5558")).toBe("loopback");
    expect(endpointReach("tcp://[::1]:5558")).toBe("loopback");
    expect(endpointReach("tcp://localhost:5558")).toBe("loopback");
    expect(endpointReach("tcp://10.0.0.5:5558")).toBe("network");
    expect(endpointReach("tcp://eth0:5558")).toBe("network");
    expect(endpointReach("ipc:///tmp/dsat.sock")).toBe("local");
    expect(endpointReach("inproc://control")).toBe("local");
  });

  it("refuses a wildcard or network control bind without CURVE, and allows loopback and ipc", () => {
    const config = (controlEndpoint: string, insecureControl?: boolean) => ({
      frontend: "tcp://127.0.0.1:1",
      control: controlEndpoint,
      hierarchy: ["host"],
      ...(insecureControl !== undefined ? { insecureControl } : {}),
      log: () => {},
    });
    for (const endpoint of ["tcp://*:1", "tcp://0.0.0.0:1", "tcp://10.0.0.5:1"]) {
      expect(() => new Orchestrator(config(endpoint)), endpoint).toThrow(ConfigError);
      expect(() => new Orchestrator(config(endpoint)), endpoint).toThrow(/without CURVE.*--insecure/);
    }
    for (const endpoint of ["tcp://127.0.0.1:1", "ipc:///tmp/dsat-control-roles.sock", "inproc://c"])
      expect(() => new Orchestrator(config(endpoint)), endpoint).not.toThrow();
    expect(new Orchestrator(config("tcp://*:1", true)).config.controlWarning).toMatch(
      /binds every interface/,
    );
  });

  it("starts a wildcard control with insecureControl, logs a warning, and answers", async () => {
    const [frontendPort, controlPort] = await freePorts(2);
    const logs: string[] = [];
    const orchestrator = new Orchestrator({
      frontend: `tcp://127.0.0.1:${frontendPort}`,
      control: `tcp://*:${controlPort}`,
      hierarchy: ["host"],
      insecureControl: true,
      log: (line) => logs.push(line),
    });
    await orchestrator.start();
    try {
      expect(logs.filter((line) => line.startsWith("warning: control tcp://*:"))).toHaveLength(1);
      expect(await controlRequest(`tcp://127.0.0.1:${controlPort}`, "ping")).toEqual({ ok: true });
    } finally {
      await orchestrator.stop();
    }
  });
});

describe("the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "dsat-control-roles-cli-"));
  const keysDir = join(dir, "keys");
  const topologyFile = join(dir, "secured.json");
  let orchestrator: Orchestrator;
  const env = { DSAT_KEY: process.env.DSAT_KEY, DSAT_ADMIN_KEY: process.env.DSAT_ADMIN_KEY };

  /** `dsat ARGS` with the given key variables (spawn copies process.env at the call). */
  const dsat = async (args: string[], keyEnv: { DSAT_KEY?: string; DSAT_ADMIN_KEY?: string }) => {
    delete process.env.DSAT_KEY;
    delete process.env.DSAT_ADMIN_KEY;
    Object.assign(process.env, keyEnv);
    try {
      const run = await runDsat(args, 30_000);
      return { code: run.code, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
    } finally {
      delete process.env.DSAT_KEY;
      delete process.env.DSAT_ADMIN_KEY;
      for (const [name, value] of Object.entries(env)) if (value !== undefined) process.env[name] = value;
    }
  };

  beforeAll(async () => {
    generateKeyFiles("orchestrator", keysDir);
    generateKeyFiles("web-1", join(keysDir, "clients"));
    const [frontend, control] = await freeEndpoints(2);
    const topology = {
      orchestrator: {
        frontend,
        control,
        security: { serverKey: "keys/orchestrator.key", clients: "keys/clients", admins: "keys/admins" },
      },
      hosts: { h1: {} },
      types: { echo: {} },
    };
    writeFileSync(topologyFile, JSON.stringify(topology));
  });

  afterAll(async () => {
    await orchestrator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keys gen writes an admin key; jobs and keys reload need it (DSAT_ADMIN_KEY)", async () => {
    const gen = await dsat(["keys", "gen", "ops", "--dir", join(keysDir, "admins")], {});
    expect(gen.code).toBe(0);
    orchestrator = new Orchestrator({ ...orchestratorConfig(loadTopology(topologyFile)), log: () => {} });
    await orchestrator.start();
    const clientKey = join(keysDir, "clients", "web-1.key");
    const asClient = await dsat(["jobs", "-t", topologyFile], { DSAT_KEY: clientKey });
    expect(asClient.code).toBe(1);
    expect(asClient.stderr.trim().split("\n")).toHaveLength(1);
    expect(asClient.stderr).toMatch(/not allowed for role client.*DSAT_ADMIN_KEY/);
    const asAdmin = await dsat(["jobs", "-t", topologyFile], {
      DSAT_KEY: clientKey,
      DSAT_ADMIN_KEY: join(keysDir, "admins", "ops.key"),
    });
    expect(asAdmin.stderr).toBe("");
    expect(asAdmin.code).toBe(0);
    const reload = await dsat(["keys", "reload", "-t", topologyFile], {
      DSAT_ADMIN_KEY: join(keysDir, "admins", "ops.key"),
    });
    expect(reload.stdout).toMatch(/allowed keys: 1 admins, 1 clients, 0 satellites/);
  }, 60_000);

  it("dsat orchestrator refuses a wildcard control without CURVE in one line, and starts with --insecure", async () => {
    const [frontendPort, controlPort] = await freePorts(2);
    const file = join(dir, "open.json");
    writeFileSync(
      file,
      JSON.stringify({
        orchestrator: { frontend: `tcp://127.0.0.1:${frontendPort}`, control: `tcp://*:${controlPort}` },
        hosts: { h1: {} },
        types: { echo: {} },
      }),
    );
    const refusedRun = await dsat(["orchestrator", "-t", file], {});
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim().split("\n")).toHaveLength(1);
    expect(refusedRun.stderr).toMatch(/^dsat: control: tcp:\/\/\*:\d+ binds every interface without CURVE/);
    // --insecure: it starts (warning first), answers on loopback, and stops on SIGTERM.
    const child = spawn(process.execPath, ["bin/dsat", "orchestrator", "-t", file, "--insecure"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      await until(() => output.includes("orchestrator: frontend"), 20_000, "the orchestrator to start");
      expect(output).toMatch(/warning: control tcp:\/\/\*:\d+ binds every interface without CURVE/);
      expect(await controlRequest(`tcp://127.0.0.1:${controlPort}`, "ping")).toEqual({ ok: true });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
