// How the orchestrator applies the tracker's decisions, with a real orchestrator and satellites:
// attempts per type fall back to the tracker's setting, a half-open breaker lets one probe through,
// and every breaker or loss event goes out once.
import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect, JobFailedError, NoSatelliteError } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import {
  defineSatellite,
  runSatellite,
  type SatelliteDefinition,
  type SatelliteRuntime,
} from "../../src/satellite/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

interface Cluster {
  orchestrator: Orchestrator;
  client: Client;
  events: Array<{ topic: string } & Record<string, unknown>>;
  frontend: string;
}

async function cluster(config: Omit<OrchestratorConfig, "frontend">): Promise<Cluster> {
  const [frontend, intake, eventsEndpoint] = await freeEndpoints(3);
  const orchestrator = new Orchestrator({
    frontend,
    intake,
    events: eventsEndpoint,
    limits: { heartbeatMs: 200 },
    log: () => {},
    ...config,
  });
  const events: Cluster["events"] = [];
  orchestrator.onEvent((topic, event) => events.push({ topic, ...event }));
  await orchestrator.start();
  cleanups.push(() => orchestrator.stop());
  const client = await connect(frontend, { timeoutMs: 10_000, publish: intake, events: eventsEndpoint });
  cleanups.push(() => client.close());
  return { orchestrator, client, events, frontend };
}

async function satellite(
  on: Cluster,
  definition: SatelliteDefinition,
  id: string,
  host: string,
): Promise<SatelliteRuntime> {
  const before = on.orchestrator.status().satellites.length;
  const runtime = await runSatellite(definition, {
    endpoint: on.frontend,
    id,
    location: [["host", host]],
    heartbeatMs: 200,
    log: () => {},
  });
  cleanups.push(() => runtime.stop());
  await until(() => on.orchestrator.status().satellites.length > before, 5000, `${id} to register`);
  return runtime;
}

describe("attempts per type", () => {
  it("a type without attemptsMax gets orchestrator.tracker.attemptsMax; one with it keeps its own", async () => {
    const calls: Record<string, number> = { plain: 0, own: 0 };
    const c = await cluster({
      hierarchy: ["host"],
      types: { plain: {}, own: { attemptsMax: 2 } },
      tracker: { attemptsMax: 5, backoffBaseMs: 10, backoffMaxMs: 20, breakerFailuresThreshold: 100 },
    });
    for (const type of ["plain", "own"])
      await satellite(
        c,
        defineSatellite({
          type,
          handle: () => {
            calls[type]++;
            throw new Error("always fails (retryable)");
          },
        }),
        `${type}@h1`,
        "h1",
      );
    await expect(c.client.request("plain", 1)).rejects.toBeInstanceOf(JobFailedError);
    await expect(c.client.request("own", 1)).rejects.toBeInstanceOf(JobFailedError);
    expect(calls).toEqual({ plain: 5, own: 2 });
  });
});

describe("circuit breaker", () => {
  it("half-open: one probe at a time until its verdict; each breaker event is published once", async () => {
    let broken = true;
    let running = 0;
    const starts: number[] = []; // jobs already running when each healthy call started
    const c = await cluster({
      hierarchy: ["host"],
      types: { flaky: { attemptsMax: 1 } },
      tracker: { breakerFailuresThreshold: 2, breakerCooldownMs: 500, placeTimeoutMs: 10_000 },
    });
    await satellite(
      c,
      defineSatellite({
        type: "flaky",
        concurrency: 8,
        handle: async (payload: unknown) => {
          if (broken) throw new Error("broken (retryable)");
          starts.push(running);
          running++;
          await sleep(150);
          running--;
          return payload;
        },
      }),
      "flaky@h1",
      "h1",
    );
    for (let n = 0; n < 2; n++)
      await expect(c.client.request("flaky", n)).rejects.toBeInstanceOf(JobFailedError);
    await until(
      () => c.events.some((e) => e.topic === "satellite.breaker-open"),
      3000,
      "the breaker to open",
    );
    broken = false;
    await until(() => c.events.some((e) => e.topic === "satellite.breaker-half-open"), 3000, "half-open");
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => c.client.request("flaky", n)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The probe ran alone: nothing else was sent until it succeeded and closed the breaker, so the
    // second call too found nothing running (sent at once, it would have found the probe).
    expect(starts.length).toBe(8);
    expect(starts.slice(0, 2)).toEqual([0, 0]);
    // A later request answered: whatever the replies' turns published has been published.
    expect(await c.client.request("mmi.service", "flaky")).toBe("200");
    const count = (topic: string) => c.events.filter((e) => e.topic === topic).length;
    expect(count("satellite.breaker-open")).toBe(1);
    expect(count("satellite.breaker-half-open")).toBe(1);
    expect(count("satellite.breaker-closed")).toBe(1);
  });

  it("a satellite that leaves is published once as satellite.lost, with its reason", async () => {
    const c = await cluster({ hierarchy: ["host"], types: { echo: {} } });
    const runtime = await satellite(
      c,
      defineSatellite({ type: "echo", handle: (p: unknown) => p }),
      "e@h1",
      "h1",
    );
    await runtime.drain(1000); // says DRAIN, then DISCONNECT
    await until(() => c.events.some((e) => e.topic === "satellite.lost"), 3000, "satellite.lost");
    // A later request answered (handled after the DISCONNECT, whose effects are all out by then)
    // says no worker serves echo: e@h1 is out of the registry, so no tick can lose it again.
    expect(await c.client.request("mmi.service", "echo")).toBe("404");
    const lost = c.events.filter((e) => e.topic === "satellite.lost");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ satellite: "e@h1", reason: "disconnected", jobs: 0 });
  });
});

describe("satellite slots", () => {
  it("a job retried on the same satellite holds two slots until both attempts answer, then none", async () => {
    const c = await cluster({
      hierarchy: ["host"],
      types: { slow: { attemptsMax: 2 } },
      tracker: { stallTimeoutMs: 300, runTimeoutMs: 10_000, backoffBaseMs: 10, backoffMaxMs: 20 },
    });
    await satellite(
      c,
      defineSatellite({
        type: "slow",
        concurrency: 2,
        // The first attempt goes silent past stallTimeoutMs, so attempt 2 comes to the same (only)
        // satellite while attempt 1 still holds its slot; attempt 1 answers late.
        handle: async (payload: unknown, context) => {
          if (context.attempt === 1) await sleep(800);
          return payload;
        },
      }),
      "slow@h1",
      "h1",
    );
    expect(await c.client.request("slow", "once")).toBe("once");
    const slots = () => c.orchestrator.status().satellites[0]?.inFlight;
    await until(() => c.orchestrator.counters.lateResults > 0, 3000, "the late answer of attempt 1");
    expect(slots()).toBe(0);
    // And the satellite's full capacity serves again.
    expect(await Promise.all([1, 2].map((n) => c.client.request("slow", n)))).toEqual([1, 2]);
  });
});

describe("error codes and result topics", () => {
  it("a job that waited for a satellite, then failed in its handler, fails as FAILED (not NO_SATELLITE)", async () => {
    const c = await cluster({
      hierarchy: ["host"],
      types: { late: { attemptsMax: 1 } },
      limits: { heartbeatMs: 200, noSatelliteWaitMs: 5000 },
    });
    const failing = c.client.request("late", 1);
    failing.catch(() => {});
    await until(() => c.events.some((e) => e.topic === "job.unplaceable.late"), 3000, "the job to wait");
    await satellite(
      c,
      defineSatellite({
        type: "late",
        handle: () => {
          throw new Error("the handler's own failure");
        },
      }),
      "late@h1",
      "h1",
    );
    const error = await failing.then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).not.toBeInstanceOf(NoSatelliteError);
    expect((error as JobFailedError).code).toBe("DSAT_ERR_FAILED");
    expect((error as Error).message).toContain("the handler's own failure");
  });

  it("a published job refused at intake (unknown type) is answered on result.<its type>", async () => {
    const c = await cluster({ hierarchy: ["host"], types: { known: {} } });
    const results: Array<Record<string, unknown>> = [];
    const reading = (async () => {
      for await (const event of c.client.events("result.")) {
        results.push(event);
        if (results.length === 1) return;
      }
    })();
    await sleep(200); // the subscription reaches the orchestrator's XPUB
    c.client.publish("nobody-serves-this", { n: 1 });
    await Promise.race([reading, sleep(5000)]);
    expect(results[0]).toMatchObject({
      topic: "result.nobody-serves-this",
      type: "nobody-serves-this",
      status: "DSAT_ERR_UNKNOWN_TYPE",
    });
  });
});
