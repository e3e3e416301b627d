// controlRequest on a CURVE orchestrator (allowed key: answered; no keys: times out), and the
// rate limit of security.refused events (counter counts every refusal, events at most 1/s/address).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { type CurveOptions, generateKeyFiles, readKeyPair } from "../../src/security/keys.ts";
import { RefusalLimiter } from "../../src/security/zap.ts";
import { freeEndpoints } from "../helpers/ports.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RefusalLimiter", () => {
  it("lets one event per address per interval through and reports the muted ones", () => {
    let now = 0;
    const limiter = new RefusalLimiter(1000, () => now);
    expect(limiter.allow("a")).toBe(0);
    expect(limiter.allow("a")).toBeNull();
    expect(limiter.allow("a")).toBeNull();
    expect(limiter.allow("b")).toBe(0); // per address
    now = 999;
    expect(limiter.allow("a")).toBeNull();
    now = 1000;
    expect(limiter.allow("a")).toBe(3);
    expect(limiter.allow("a")).toBeNull();
  });

  it("remembers a bounded number of addresses", () => {
    const limiter = new RefusalLimiter(1000, () => 0, 3);
    for (const address of ["a", "b", "c", "d"]) expect(limiter.allow(address)).toBe(0);
    expect(limiter.allow("a")).toBe(0); // forgotten: the oldest went first
    expect(limiter.allow("d")).toBeNull();
  });
});

describe("controlRequest with CURVE", () => {
  const dir = mkdtempSync(join(tmpdir(), "dsat-control-curve-"));
  const clientsDir = join(dir, "clients");
  let orchestrator: Orchestrator;
  let control: string;
  let curve: CurveOptions;
  const refusedEvents: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    generateKeyFiles("server", dir);
    generateKeyFiles("client-ok", clientsDir);
    const server = readKeyPair(join(dir, "server.key"));
    curve = { ...readKeyPair(join(clientsDir, "client-ok.key")), serverPublicKey: server.publicKey };
    const [frontend, events] = await freeEndpoints(2);
    [control] = await freeEndpoints(1);
    orchestrator = new Orchestrator({
      frontend,
      events,
      control,
      hierarchy: ["host"],
      security: { serverKey: join(dir, "server.key"), clientKeysDir: clientsDir },
      log: () => {},
    });
    orchestrator.onEvent((topic, event) => {
      if (topic === "security.refused") refusedEvents.push(event as Record<string, unknown>);
    });
    await orchestrator.start();
  });

  afterAll(async () => {
    await orchestrator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gets the status with an allowed key", async () => {
    const reply = (await controlRequest(control, "status", 3000, curve)) as { ok: boolean };
    expect(reply.ok).toBe(true);
  });

  it("gets no answer without keys, and refusal events are rate-limited", async () => {
    const before = orchestrator.status().counters.security.refused;
    const eventsBefore = refusedEvents.length;
    // Ten plain peers at once: every handshake is refused and counted, one event per second.
    const attempts = Array.from({ length: 10 }, () => controlRequest(control, "status", 1000));
    for (const attempt of attempts) await expect(attempt).rejects.toThrow(/no answer/);
    await sleep(100);
    const refusals = orchestrator.status().counters.security.refused - before;
    const events = refusedEvents.slice(eventsBefore);
    expect(refusals).toBeGreaterThanOrEqual(10);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThanOrEqual(2);
    expect(events[0]).toMatchObject({ reason: "handshake failed (no CURVE?)" });
  });
});
