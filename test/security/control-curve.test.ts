// controlRequest on a CURVE orchestrator (allowed key: answered; no keys: times out), and the
// rate limit of security.refused events (counter counts every refusal, events at most 1/s/address).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/client/index.ts";
import type { CurveOptions } from "../../src/security/keys.ts";
import { RefusalLimiter } from "../../src/security/refusal-limiter.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { until } from "../helpers/wait.ts";

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
  const keys = new TestKeys("dsat-control-curve-");
  let secure: SecureOrchestrator;
  let curve: CurveOptions;
  const refusedEvents = () => secure.published.filter((event) => event.topic === "security.refused");

  beforeAll(async () => {
    keys.add("client-ok", "clients");
    keys.add("sat-ok", "satellites");
    curve = keys.curve("client-ok");
    secure = await startSecureOrchestrator(keys);
  });

  afterAll(async () => {
    await secure?.stop();
    keys.remove();
  });

  it("gets the status with an allowed key", async () => {
    const reply = (await controlRequest(secure.control, "status", 3000, curve)) as { ok: boolean };
    expect(reply.ok).toBe(true);
  });

  it("gets no answer without keys, and refusal events are rate-limited", async () => {
    const refused = () => secure.orchestrator.status().counters.security.refused;
    const before = refused();
    const eventsBefore = refusedEvents().length;
    // Ten plain peers at once: every handshake is refused and counted, one event per second.
    const attempts = Array.from({ length: 10 }, () => controlRequest(secure.control, "status", 1000));
    for (const attempt of attempts) await expect(attempt).rejects.toThrow(/no answer/);
    // Every refusal has been handled (and its event published, or muted) once all ten are counted.
    await until(() => refused() - before >= 10, 5000, "ten refusals counted");
    const events = refusedEvents().slice(eventsBefore);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThanOrEqual(2);
    expect(events[0]).toMatchObject({ reason: "handshake failed (no CURVE?)" });
  });
});
