// A satellite's capacity as the orchestrator enforces it, seen from fake satellites (raw DEALERs
// speaking the worker protocol) that count what they are sent and never answer: at most
// `capacity` jobs at once, a plain MDP worker one, overflow "queue" vs "spill", and what happens to
// the jobs queued behind a satellite that stops answering. "Nothing more was sent" is checked once
// the orchestrator has placed every job (its status says where each is) and a marker sent on the
// fake's own connection has been answered (everything sent before it has arrived).
import { afterEach, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.ts";
import type { Orchestrator, OrchestratorConfig } from "../../src/orchestrator/index.ts";
import type { SatelliteHello } from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { startWithClient } from "../helpers/orchestrator.ts";
import { isMarkerAnswer, isRequest, jobsIn, RawWorker } from "../helpers/raw-worker.ts";
import { until } from "../helpers/wait.ts";

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

function start(
  types: OrchestratorConfig["types"],
  tracker: OrchestratorConfig["tracker"] = {
    ackTimeoutMs: 20_000,
    stallTimeoutMs: 20_000,
    runTimeoutMs: 30_000,
  },
): Promise<{ orchestrator: Orchestrator; client: Client }> {
  const limits = { heartbeatMs: 200, noSatelliteWaitMs: 20_000 };
  return startWithClient(cleanups, { hierarchy: ["host"], types, limits, tracker, log: () => {} }, 30_000);
}

interface FakeSatellite {
  /** Jobs it was sent (REQUESTs, and the entries of any REQUEST-BATCH). */
  received(): number;
  /** Resolves once the answer to a marker sent now has arrived: all sent before it has too. */
  settled(): Promise<void>;
}

/** A satellite that registers, heartbeats (so it stays live) and counts the jobs it is sent. */
async function fakeSatellite(
  orchestrator: Orchestrator,
  type: string,
  hello: SatelliteHello | undefined,
  options: { ack?: boolean } = {},
): Promise<FakeSatellite> {
  const worker = new RawWorker(orchestrator.config.frontend[0]);
  let received = 0;
  let markersAnswered = 0;
  const reading = (async () => {
    for await (const frames of worker.socket) {
      if (isMarkerAnswer(frames)) markersAnswered++;
      received += jobsIn(frames);
      // ACK (frames[3] is the job's address), then silence: the handler "hangs".
      if (isRequest(frames) && options.ack === true) await worker.ack(frames[3]);
    }
  })().catch(() => {});
  const before = orchestrator.status().satellites.length;
  await worker.ready(type, hello);
  const heartbeat = setInterval(() => {
    worker.heartbeat().catch(() => {});
  }, 100);
  cleanups.push(async () => {
    clearInterval(heartbeat);
    worker.close();
    await reading;
  });
  await until(
    () => orchestrator.status().satellites.length > before,
    5000,
    `a ${type} satellite to register`,
  );
  return {
    received: () => received,
    async settled() {
      const before = markersAnswered;
      await worker.sendMarker();
      await until(() => markersAnswered > before, 5000, `the answer to ${type}'s marker`);
    },
  };
}

/** Satellite `id`'s jobs as the orchestrator's status lists them: sent and in flight, and queued. */
function slots(orchestrator: Orchestrator, id: string): { inFlight: number; queued: number } {
  const found = orchestrator.status().satellites.find((satellite) => satellite.id === id);
  if (found === undefined) throw new Error(`${id} is not registered`);
  return { inFlight: Number(found.inFlight), queued: Number(found.queued) };
}

const hello = (id: string, type: string, host: string, capacity: number): SatelliteHello => ({
  id,
  types: [type],
  location: [["host", host]],
  capacity,
  weight: 1,
});

describe("capacity", () => {
  it("a satellite of capacity 2 is sent 2 jobs at once; the rest wait in its queue", async () => {
    const { orchestrator, client } = await start({ held: {} });
    const fake = await fakeSatellite(orchestrator, "held", hello("held@h1", "held", "h1", 2));
    for (let n = 0; n < 10; n++) client.request("held", n).catch(() => {});
    const held = () => slots(orchestrator, "held@h1");
    await until(() => held().inFlight + held().queued === 10, 5000, "all ten jobs placed on held@h1");
    await fake.settled();
    expect(fake.received()).toBe(2);
    expect(held()).toMatchObject({ inFlight: 2, queued: 8 });
  });

  it("a plain MDP worker (READY without a hello) is sent one job at a time", async () => {
    const { orchestrator, client } = await start({ plain: {} });
    const fake = await fakeSatellite(orchestrator, "plain", undefined);
    for (let n = 0; n < 5; n++) client.request("plain", n).catch(() => {});
    const placed = () => {
      const status = orchestrator.status();
      return Number(status.satellites[0]?.inFlight) + status.waiting.jobs;
    };
    await until(() => placed() === 5, 5000, "all five jobs sent or waiting");
    await fake.settled();
    expect(fake.received()).toBe(1);
    // A plain worker gets no queue of its own: the rest wait in the waiting room for any worker.
    expect(orchestrator.status().satellites[0]).toMatchObject({ capacity: 1, inFlight: 1, queued: 0 });
    expect(orchestrator.status().waiting).toMatchObject({ jobs: 4, where: "memory" });
  });

  it('overflow "spill" sends past a full first candidate to the next one; "queue" waits for it', async () => {
    const { orchestrator, client } = await start({
      spills: { replicas: 2, overflow: "spill" },
      queues: { replicas: 2, overflow: "queue" },
    });
    const spills = [
      await fakeSatellite(orchestrator, "spills", hello("spills@h1", "spills", "h1", 1)),
      await fakeSatellite(orchestrator, "spills", hello("spills@h2", "spills", "h2", 1)),
    ];
    const queues = [
      await fakeSatellite(orchestrator, "queues", hello("queues@h1", "queues", "h1", 1)),
      await fakeSatellite(orchestrator, "queues", hello("queues@h2", "queues", "h2", 1)),
    ];
    // One key: both jobs of a type have the same candidates in the same order.
    for (const type of ["spills", "queues"])
      for (let n = 0; n < 2; n++) client.request(type, n, { key: "same-key" }).catch(() => {});
    await until(() => spills[0].received() + spills[1].received() >= 2, 5000, "both spills jobs sent");
    expect(spills.map((fake) => fake.received())).toEqual([1, 1]);
    // Both queues jobs are placed (one in flight, one queued behind it), and the fakes have had
    // everything sent to them so far.
    const placed = (id: string) => slots(orchestrator, id).inFlight + slots(orchestrator, id).queued;
    await until(() => placed("queues@h1") + placed("queues@h2") === 2, 5000, "both queues jobs placed");
    for (const fake of queues) await fake.settled();
    expect(queues.map((fake) => fake.received()).sort()).toEqual([0, 1]);
  });

  it("jobs queued behind a satellite whose attempt stalls are placed again, on another candidate", async () => {
    const { orchestrator, client } = await start(
      {
        // Every job's candidates are [stuck@h1, stuck@h2], in that order.
        stuck: {
          overflow: "queue",
          rule: {
            steps: [
              { op: "use", bucket: "h1" },
              { op: "take", count: 1 },
              { op: "emit" },
              { op: "use", bucket: "h2" },
              { op: "take", count: 1 },
              { op: "emit" },
            ],
          },
        },
      },
      { ackTimeoutMs: 2000, stallTimeoutMs: 800, runTimeoutMs: 30_000, backoffBaseMs: 10, backoffMaxMs: 20 },
    );
    // The first candidate acks its one job (capacity 1), then never answers: the rest queue on it.
    const stuck = await fakeSatellite(orchestrator, "stuck", hello("stuck@h1", "stuck", "h1", 1), {
      ack: true,
    });
    const healthy = await runSatellite(
      defineSatellite({ type: "stuck", concurrency: 8, handle: (payload: unknown) => payload }),
      {
        endpoint: orchestrator.config.frontend[0],
        id: "stuck@h2",
        location: [["host", "h2"]],
        heartbeatMs: 200,
        log: () => {},
      },
    );
    cleanups.push(() => healthy.stop());
    await until(() => orchestrator.status().satellites.length === 2, 5000, "both satellites");
    const started = Date.now();
    const requests = Array.from({ length: 6 }, (_, n) => client.request("stuck", n, { key: `k${n}` }));
    await until(
      () => orchestrator.status().satellites[0]?.queued === 5,
      3000,
      "five jobs queued on stuck@h1",
    );
    // One stall frees them all: the queued jobs do not wait for a slot that never frees.
    expect(await Promise.all(requests)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Date.now() - started).toBeLessThan(10_000);
    await stuck.settled();
    expect(stuck.received()).toBe(1);
    expect(orchestrator.status().stats.stuck).toMatchObject({ done: 6, stalls: 1 });
  });
});
