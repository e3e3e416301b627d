// Security (issue 6): CURVE on every TCP endpoint with a ZAP allow-list, satellite keys limited to
// job types, ipc socket file modes, and the hostile-input guards (malformed budget per peer,
// in-flight limit per client). Keys are generated into a temp dir per run.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { workerReadyFrames } from "../../src/protocol/frames.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import type { CurveOptions } from "../../src/security/keys.ts";
import { orchestratorConfig, parseTopology } from "../../src/topology/index.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { until } from "../helpers/wait.ts";

const echo = (type: string | string[]) =>
  defineSatellite({ type, concurrency: 4, handle: (payload: unknown) => payload });

describe("CURVE + ZAP", () => {
  const keys = new TestKeys("dsat-security-");
  const { dir, clientsDir } = keys;
  let secure: SecureOrchestrator;
  let orchestrator: Orchestrator;
  let frontend: string;
  const clients: Client[] = [];

  const curve = (name: string): CurveOptions => keys.curve(name);
  /** A satellite with key `keyName`; its log lines go to `log`. */
  const satellite = (id: string, type: string | string[], keyName: string, log: string[] = []) =>
    secure.satellite(echo(type), id, keyName, { log: (line) => log.push(line) });
  const client = async (options: { curve?: CurveOptions; timeoutMs?: number }) => {
    const made = await connect(frontend, options);
    clients.push(made);
    return made;
  };
  const registered = () => secure.registered();

  beforeAll(async () => {
    keys.add("client-ok", "clients");
    for (const name of ["sat-ok", "sat-limited"]) keys.add(name, "satellites");
    // Keys nobody listed: generated elsewhere.
    for (const name of ["client-unknown", "sat-unknown", "client-late"]) keys.add(name, "other");
    secure = await startSecureOrchestrator(
      keys,
      { limits: { heartbeatMs: 200, noSatelliteWaitMs: 300 } },
      { satelliteTypes: { "sat-limited.pub": ["allowed"] } },
    );
    ({ orchestrator, frontend } = secure);
    await satellite("ok-1", "echo", "sat-ok");
    await until(() => registered().includes("ok-1"), 5000, "ok-1 to register");
  });

  afterAll(async () => {
    for (const made of clients) await made.close();
    await secure?.stop();
    keys.remove();
  });

  it("writes the secret key file with mode 0600", () => {
    expect(statSync(join(dir, "server.key")).mode & 0o777).toBe(0o600);
  });

  it("serves a client whose key is in the allow-list", async () => {
    const allowed = await client({ curve: curve("client-ok"), timeoutMs: 3000 });
    expect(await allowed.request("echo", { hello: 1 })).toEqual({ hello: 1 });
  });

  it("refuses a client with an unknown key, counts it and publishes security.refused", async () => {
    const before = orchestrator.status().counters.security.refused;
    const stranger = await client({ curve: curve("client-unknown"), timeoutMs: 500 });
    await expect(stranger.request("echo", 1)).rejects.toThrow();
    expect(orchestrator.status().counters.security.refused).toBeGreaterThan(before);
    const refused = secure.published.filter((event) => event.topic === "security.refused");
    expect(refused.some((event) => event.reason === "unknown public key")).toBe(true);
    expect(refused[0]).toMatchObject({ mechanism: "CURVE" });
  });

  it("refuses a plain client (no CURVE)", async () => {
    const before = orchestrator.status().counters.security.refused;
    const plain = await client({ timeoutMs: 500 });
    await expect(plain.request("echo", 1)).rejects.toThrow();
    // It never reaches ZAP; the frontend's handshake error counts it.
    expect(orchestrator.status().counters.security.refused).toBeGreaterThan(before);
  });

  it("does not register a satellite with an unknown key", async () => {
    const log: string[] = [];
    await satellite("stranger-1", "echo", "sat-unknown", log);
    // The orchestrator has answered its handshake (with a refusal) and the satellite has tried again
    // and been refused again: nothing more is coming that could register it.
    await until(
      () => log.filter((line) => line.includes("refused this satellite's CURVE key")).length >= 2,
      5000,
      "stranger-1 to be refused twice",
    );
    expect(registered()).not.toContain("stranger-1");
  });

  it("limits a satellite key to its job types", async () => {
    const before = orchestrator.status().counters.security.satelliteKeyRefused;
    await satellite("limited-bad", "forbidden", "sat-limited");
    await until(
      () => orchestrator.status().counters.security.satelliteKeyRefused > before,
      3000,
      "the refusal",
    );
    expect(registered()).not.toContain("limited-bad");
    expect(
      secure.published.some(
        (event) =>
          event.topic === "satellite.refused" &&
          event.satellite === "limited-bad" &&
          String(event.reason).includes('may not serve "forbidden"'),
      ),
    ).toBe(true);
    await satellite("limited-good", "allowed", "sat-limited");
    await until(() => registered().includes("limited-good"), 3000, "limited-good to register");
    const allowed = await client({ curve: curve("client-ok"), timeoutMs: 3000 });
    expect(await allowed.request("allowed", "x")).toBe("x");
  });

  it("refuses a client key that claims a satellite's public key in READY", async () => {
    const before = orchestrator.status().counters.security.satelliteKeyRefused;
    const { serverPublicKey, publicKey, secretKey } = curve("client-ok");
    const impostor = new Dealer({
      linger: 0,
      curveServerKey: serverPublicKey,
      curvePublicKey: publicKey,
      curveSecretKey: secretKey,
    });
    impostor.connect(frontend);
    try {
      const hello = {
        id: "impostor",
        types: ["echo"],
        location: [["host", "x"]] as Array<[string, string]>,
        capacity: 1,
        weight: 1,
        key: keys.pair("sat-ok").publicKey,
        proof: "0".repeat(64),
      };
      await impostor.send(workerReadyFrames("echo", hello));
      await until(
        () => orchestrator.status().counters.security.satelliteKeyRefused > before,
        3000,
        "the impostor's refusal",
      );
      expect(registered()).not.toContain("impostor");
    } finally {
      impostor.close();
    }
  });

  it("admits a new key after reload-keys, as key rotation needs", async () => {
    const late = await client({ curve: curve("client-late"), timeoutMs: 400 });
    await expect(late.request("echo", 1)).rejects.toThrow();
    writeFileSync(
      join(clientsDir, "client-late.pub"),
      `public-key = ${keys.pair("client-late").publicKey}\n`,
    );
    expect(orchestrator.reloadKeys().clients).toBe(2);
    // A new connection (the old one failed its handshake and retries on its own).
    const fresh = await client({ curve: curve("client-late"), timeoutMs: 3000 });
    expect(await fresh.request("echo", 2)).toBe(2);
  });

  it("reloads the allow-lists when a directory changes", async () => {
    const zap = orchestrator.zap;
    expect(zap?.clients.size).toBe(2);
    rmSync(join(clientsDir, "client-late.pub"));
    await until(() => zap?.clients.size === 1, 3000, "the watcher's reload");
  });
});

describe("topology security section", () => {
  it("resolves paths relative to the topology file and maps to the orchestrator config", () => {
    const topology = parseTopology(
      {
        orchestrator: {
          frontend: "tcp://127.0.0.1:5555",
          security: {
            serverKey: "keys/orchestrator.key",
            clients: "keys/clients",
            satellites: "keys/satellites",
            satelliteTypes: { "sat-h1": ["echo"] },
          },
        },
        hosts: { h1: {} },
        types: { echo: {} },
      },
      "/srv/dsat/topology.json",
    );
    expect(topology.orchestrator.security?.serverKey).toBe("/srv/dsat/keys/orchestrator.key");
    expect(orchestratorConfig(topology).security).toEqual({
      serverKey: "/srv/dsat/keys/orchestrator.key",
      clientKeysDir: "/srv/dsat/keys/clients",
      satelliteKeysDir: "/srv/dsat/keys/satellites",
      satelliteTypes: { "sat-h1": ["echo"] },
    });
    expect(() =>
      parseTopology(
        { orchestrator: { frontend: "tcp://127.0.0.1:5555", security: {} }, hosts: { h1: {} }, types: {} },
        "t.json",
      ),
    ).toThrow(/serverKey/);
  });
});

describe("ipc endpoints", () => {
  it("chmods the socket file to 0600 after bind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsat-ipc-"));
    const path = join(dir, "frontend.sock");
    const orchestrator = new Orchestrator({ frontend: `ipc://${path}`, log: () => {} });
    await orchestrator.start();
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const ipcClient = await connect(`ipc://${path}`, { timeoutMs: 2000 });
      expect(await ipcClient.request("mmi.service", "nope").catch(() => "answered")).toBeDefined();
      await ipcClient.close();
    } finally {
      await orchestrator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("hostile input", () => {
  let orchestrator: Orchestrator;
  let frontend: string;
  let good: Client;
  let runtime: SatelliteRuntime;
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const events: Array<{ topic: string; event: Record<string, unknown> }> = [];

  beforeAll(async () => {
    [frontend] = await freeEndpoints(1);
    orchestrator = new Orchestrator({
      frontend,
      hierarchy: ["host"],
      limits: {
        heartbeatMs: 200,
        malformedPerPeerMax: 10,
        malformedWindowMs: 5000,
        peerBlockMs: 60_000,
        inFlightPerClientMax: 5,
      },
      log: () => {},
    });
    orchestrator.onEvent((topic, event) => events.push({ topic, event }));
    await orchestrator.start();
    runtime = await runSatellite(
      defineSatellite({
        type: ["echo", "slow"],
        concurrency: 20,
        handle: async (payload: unknown, context) => {
          if (context.type === "slow") await gate;
          return payload;
        },
      }),
      { endpoint: frontend, id: "s1", heartbeatMs: 200, log: () => {} },
    );
    await until(() => orchestrator.status().satellites.length === 1, 5000, "the satellite");
    good = await connect(frontend, { timeoutMs: 5000 });
  });

  afterAll(async () => {
    release();
    await good?.close();
    await runtime?.stop();
    await orchestrator?.stop();
  });

  it("blocks a peer after a burst of malformed messages and keeps serving a good client", async () => {
    const bad = new Dealer({ linger: 0 });
    bad.connect(frontend);
    try {
      for (let i = 0; i < 50; i++) await bad.send([Buffer.alloc(0), Buffer.from(`garbage-${i}`)]);
      await until(() => orchestrator.status().counters.security.peersBlocked === 1, 3000, "the block");
      const counters = orchestrator.status().counters;
      expect(counters.malformed.frontend).toBe(11); // parsed until the budget ran out
      expect(counters.security.droppedWhileBlocked).toBe(39);
      expect(events.find((entry) => entry.topic === "security.peer-blocked")?.event).toMatchObject({
        forMs: 60_000,
      });
      for (let i = 0; i < 20; i++) expect(await good.request("echo", i)).toBe(i);
      // Still blocked: even a well-formed request from that peer is dropped unparsed.
      await bad.send([Buffer.alloc(0), Buffer.from("garbage-again")]);
      await until(() => orchestrator.status().counters.security.droppedWhileBlocked === 40, 3000, "the drop");
    } finally {
      bad.close();
    }
  });

  it("answers OVERLOADED beyond a client's in-flight limit", async () => {
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = orchestrator.status().counters.security.clientInFlightRefused;
    const held = Array.from({ length: 5 }, (_, i) => good.request("slow", i));
    await until(() => orchestrator.status().jobs.inFlight === 5, 3000, "five jobs in flight");
    await expect(good.request("slow", 99)).rejects.toMatchObject({ code: "DSAT_ERR_OVERLOADED" });
    // Another client is not affected.
    const other = await connect(frontend, { timeoutMs: 3000 });
    const otherResult = other.request("echo", "other");
    expect(await otherResult).toBe("other");
    await other.close();
    release();
    expect(await Promise.all(held)).toEqual([0, 1, 2, 3, 4]);
    expect(orchestrator.status().counters.security.clientInFlightRefused).toBe(before + 1);
  });
});
