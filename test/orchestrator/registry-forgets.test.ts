// Issue 12, part A: placement forgets the dead and the registry is bounded. Junk registrations
// (10k READY/DISCONNECT pairs, one READY with a huge weight, plain MDP workers that come and go,
// 1,024 junk types) must leave no trace that stops a real satellite from serving its jobs.
import { afterEach, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.ts";
import type { Orchestrator, OrchestratorConfig } from "../../src/orchestrator/index.ts";
import type { SatelliteHello } from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { startWithClient } from "../helpers/orchestrator.ts";
import { RawWorker } from "../helpers/raw-worker.ts";
import { until } from "../helpers/wait.ts";

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

function start(
  config: Partial<OrchestratorConfig> = {},
): Promise<{ orchestrator: Orchestrator; client: Client }> {
  const defaults: Partial<OrchestratorConfig> = {
    hierarchy: ["rack", "host"],
    types: { echo: {} },
    limits: { heartbeatMs: 100, plainHeartbeatMs: 100, noSatelliteWaitMs: 3000 },
    log: () => {},
  };
  return startWithClient(cleanups, { ...defaults, ...config }, 20_000);
}

/** A raw DEALER speaking the worker protocol (no runtime), for junk registrations. */
function rawWorker(orchestrator: Orchestrator): RawWorker {
  const worker = new RawWorker(orchestrator.config.frontend[0], { sendHighWaterMark: 0 });
  cleanups.push(() => worker.close());
  return worker;
}

async function realEcho(orchestrator: Orchestrator, id: string, rack: string): Promise<void> {
  const before = orchestrator.registry.size;
  const runtime = await runSatellite(
    defineSatellite({ type: "echo", concurrency: 8, handle: (payload) => payload }),
    {
      endpoint: orchestrator.config.frontend[0],
      id,
      location: [
        ["rack", rack],
        ["host", `${rack}-h1`],
      ],
      heartbeatMs: 100,
      log: () => {},
    },
  );
  cleanups.push(() => runtime.stop());
  await until(() => orchestrator.registry.size > before, 10_000, `${id} to register`);
}

async function allServed(client: Client, count: number): Promise<number> {
  const results = await Promise.allSettled(
    Array.from({ length: count }, (_, n) => client.request("echo", n, { timeoutMs: 15_000 })),
  );
  return results.filter((result) => result.status === "fulfilled").length;
}

const junkHello = (n: number, weight = 1): SatelliteHello => ({
  id: `junk-${n}`,
  types: ["echo"],
  location: [
    ["rack", `junk-rack-${n % 50}`],
    ["host", `junk-host-${n}`],
  ],
  capacity: 1,
  weight,
});

describe("placement forgets the dead", () => {
  it("10,000 READY/DISCONNECT pairs leave no trace: 200 of 200 jobs served afterwards", async () => {
    const { orchestrator, client } = await start();
    const worker = rawWorker(orchestrator);
    for (let n = 0; n < 10_000; n++) {
      await worker.ready("echo", junkHello(n));
      await worker.disconnect();
    }
    // Every pair read (the registry is also empty between two of them, so that alone says little):
    // jobs are sent afterwards, as the attack has it.
    await until(
      () => orchestrator.status().counters.satellitesLost >= 10_000 && orchestrator.registry.size === 0,
      30_000,
      "the junk to be registered and lost",
    );
    await realEcho(orchestrator, "echo@r1", "r1");
    expect(await allServed(client, 200)).toBe(200);
    // Within one liveness window the dead are out of the registry's memory too.
    await until(() => orchestrator.registry.membersOf("echo").length === 1, 5000, "the dead to be forgotten");
  }, 60_000);

  it("one READY with weight 65535, then a disconnect: 200 of 200 jobs served", async () => {
    const { orchestrator, client } = await start();
    const worker = rawWorker(orchestrator);
    await worker.ready("echo", junkHello(0, 65535));
    await worker.disconnect();
    await realEcho(orchestrator, "echo@r1", "r1");
    expect(await allServed(client, 200)).toBe(200);
  }, 60_000);

  it("a weight above limits.satelliteWeightMax is capped", async () => {
    const { orchestrator } = await start({ limits: { heartbeatMs: 100, satelliteWeightMax: 10 } });
    const worker = rawWorker(orchestrator);
    await worker.ready("echo", junkHello(1, 65535));
    await until(() => orchestrator.registry.size === 1, 5000, "the satellite to register");
    expect(orchestrator.status().satellites[0]).toMatchObject({ id: "junk-1", weight: 10 });
  });

  it("plain MDP workers that come and go leave the map within one liveness window", async () => {
    const { orchestrator, client } = await start();
    for (let n = 0; n < 5; n++) {
      const worker = rawWorker(orchestrator);
      await worker.ready("echo");
      await until(() => orchestrator.registry.size === 1, 5000, "the plain worker to register");
      worker.close(); // gone without a word: its heartbeats stop
      await until(() => orchestrator.registry.size === 0, 5000, "the plain worker to be lost");
    }
    await realEcho(orchestrator, "echo@r1", "r1");
    expect(await allServed(client, 200)).toBe(200);
    await until(() => orchestrator.registry.membersOf("echo").length === 1, 5000, "the dead to be forgotten");
  }, 60_000);
});

describe("registration is bounded", () => {
  it("a satellite may not register a type the topology does not declare", async () => {
    const { orchestrator } = await start();
    const refused: string[] = [];
    orchestrator.onEvent((topic, event) => {
      if (topic === "satellite.refused") refused.push(String(event.reason));
    });
    const worker = rawWorker(orchestrator);
    await worker.ready("nosuch", { ...junkHello(2), types: ["nosuch"] });
    await until(() => refused.length === 1, 5000, "the refusal");
    expect(refused[0]).toMatch(/not declared/);
    expect(orchestrator.registry.size).toBe(0);
  });

  it("with dynamicTypes, 1,024 junk types do not lock out a real one once their satellites are gone", async () => {
    const { orchestrator, client } = await start({ types: {}, dynamicTypes: true });
    const worker = rawWorker(orchestrator);
    for (let n = 0; n < 16; n++) {
      const types = Array.from({ length: 64 }, (_, t) => `junk${n}-${t}`);
      await worker.ready(types[0], { ...junkHello(n), types });
      await worker.disconnect();
    }
    await until(() => orchestrator.status().counters.satellitesLost >= 16, 10_000, "the junk to go");
    await realEcho(orchestrator, "echo@r1", "r1");
    expect(await allServed(client, 20)).toBe(20);
    await until(() => orchestrator.status().typesKnown <= 1, 5000, "the junk types to be evicted");
  }, 60_000);

  it("the registry holds at most limits.satellitesMax satellites", async () => {
    const { orchestrator } = await start({ limits: { heartbeatMs: 1000, satellitesMax: 8 } });
    const refused: string[] = [];
    orchestrator.onEvent((topic, event) => {
      if (topic === "satellite.refused") refused.push(String(event.reason));
    });
    for (let n = 0; n < 10; n++) {
      const worker = rawWorker(orchestrator);
      await worker.ready("echo", junkHello(n));
    }
    await until(() => refused.length === 2, 5000, "two refusals");
    expect(orchestrator.registry.size).toBe(8);
    expect(refused[0]).toMatch(/satellitesMax/);
  });
});
