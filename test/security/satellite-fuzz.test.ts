// Fuzz the other way round: a fake orchestrator (a ROUTER) throws thousands of random and mutated
// worker-side messages (REQUEST, REQUEST-BATCH, CANCEL, HEARTBEAT, garbage) at a real satellite,
// then more with DISCONNECTs among them. The satellite must not crash, must answer the jobs it could
// read, must come back after each DISCONNECT, and must still run a well-formed job afterwards.
// Deterministic (fixed fast-check seed).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Router } from "zeromq";
import {
  encode,
  type FrontendMessage,
  type JobEntry,
  jobAddress,
  jobBatchFrames,
  jobRequestFrames,
  parseFrontend,
  WorkerCommand,
  workerCommandFrames,
} from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import {
  bytes,
  type Frames,
  jobToken,
  msgpackValue,
  mutate,
  mutation,
  printable,
  sample,
} from "../helpers/fuzz-frames.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";

const SEED = 20_261_201;
const MESSAGES = 20_000;

const header = fc.record(
  {
    id: fc.oneof(printable(12), fc.constant("")),
    type: fc.constantFrom("echo", "other", ""),
    a: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(Number.NaN)),
    d: fc.oneof(fc.integer(), fc.constant(Date.now() + 60_000)),
    k: printable(8),
    raw: fc.integer({ min: -1, max: 3 }),
  },
  { requiredKeys: [] },
);

const entry: fc.Arbitrary<JobEntry> = fc.tuple(
  printable(12),
  fc.integer({ min: -1, max: 5 }),
  fc.constantFrom("echo", "other"),
  fc.integer({ min: -5, max: 200 }),
  fc.integer({ min: -1, max: 5 }),
  fc.option(fc.integer(), { nil: null }),
  fc.option(printable(8), { nil: null }),
  fc.option(fc.integer({ min: -1, max: 3 }), { nil: null }),
);

/** What an orchestrator could send a satellite, valid or not. */
const toSatellite: fc.Arbitrary<Frames> = fc.oneof(
  fc.array(bytes(64), { minLength: 0, maxLength: 8 }),
  fc
    .tuple(jobToken, header, fc.array(fc.oneof(msgpackValue, bytes()), { maxLength: 3 }))
    .map(([address, fields, payload]) => jobRequestFrames(address, fields as never, payload)),
  fc
    .tuple(fc.array(entry, { maxLength: 6 }), fc.array(fc.oneof(msgpackValue, bytes()), { maxLength: 6 }))
    .map(([entries, payloads]) => jobBatchFrames(entries, payloads)),
  jobToken.map((address) => workerCommandFrames(WorkerCommand.cancel, address)),
  fc.constant(workerCommandFrames(WorkerCommand.heartbeat)),
);
const DISCONNECT = workerCommandFrames(WorkerCommand.disconnect);
const fuzzed = fc.oneof(
  { weight: 2, arbitrary: toSatellite },
  { weight: 3, arbitrary: fc.tuple(toSatellite, mutation).map(([frames, change]) => mutate(frames, change)) },
);

describe("satellite fuzz", () => {
  let orchestrator: Router;
  let satellite: SatelliteRuntime;
  let route: Buffer | null = null;
  const received: FrontendMessage[] = [];
  let readies = 0;
  let reading: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    const [endpoint] = await freeEndpoints(1);
    orchestrator = new Router({ linger: 0, sendHighWaterMark: 100_000, mandatory: false });
    await orchestrator.bind(endpoint);
    reading = (async () => {
      for await (const [from, ...frames] of orchestrator) {
        const message = parseFrontend(frames, 64);
        if (message.kind === "worker-ready") {
          route = from; // a DISCONNECT makes the satellite come back on a new connection
          readies++;
        }
        received.push(message);
      }
    })().catch(() => {});
    satellite = await runSatellite(
      defineSatellite({ type: "echo", concurrency: 8, handle: (payload: unknown) => payload }),
      {
        endpoint,
        id: "fz-satellite",
        location: [["host", "h1"]],
        heartbeatMs: 200,
        reconnectMs: 50,
        reconnectMaxMs: 200,
        log: () => {},
      },
    );
    await until(() => route !== null, 5000, "READY from the satellite");
  });

  afterAll(async () => {
    await satellite?.stop();
    orchestrator?.close();
    await reading;
  });

  /** Sends a well-formed job and waits for its reply. */
  const goodJob = async (id: string) => {
    const current = route as Buffer | null;
    if (current === null) throw new Error("the satellite never registered");
    const address = jobAddress(id, 1);
    await orchestrator.send([
      current,
      ...jobRequestFrames(address, { id, type: "echo", a: 1, d: Date.now() + 10_000 }, [
        encode("still here"),
      ]),
    ]);
    await until(
      () =>
        received.some(
          (m) =>
            (m.kind === "worker-reply" && m.address.equals(address)) ||
            (m.kind === "worker-reply-batch" && m.entries.some(([entryId]) => entryId === id)),
        ),
      5000,
      `the reply to ${id}`,
    );
  };

  it(`stays up through ${MESSAGES.toLocaleString("en-US")} hostile messages and still runs a good job`, async () => {
    const messages = sample(fuzzed, SEED, MESSAGES);
    for (let i = 0; i < messages.length; i++) {
      if (route !== null) await orchestrator.send([route, ...messages[i]]);
      if (i % 100 === 0) await sleep(0); // let the satellite (and our reader) keep up
    }
    await sleep(300);
    // It answered what it could read: jobs, or errors for jobs it could not decode.
    const answers = received.filter((m) => m.kind === "worker-reply" || m.kind === "worker-reply-batch");
    expect(answers.length).toBeGreaterThan(0);
    await goodJob("good-1");
    expect(satellite.counters.done).toBeGreaterThan(0);
  });

  it("obeys DISCONNECTs among hostile messages: it comes back each time and still runs a good job", async () => {
    const messages = sample(fuzzed, SEED + 1, 2000);
    const readiesBefore = readies;
    for (let round = 0; round < 5; round++) {
      const current = route as Buffer | null;
      if (current === null) throw new Error("the satellite never registered");
      for (const message of messages.slice(round * 400, round * 400 + 400))
        await orchestrator.send([current, ...message]);
      await orchestrator.send([current, ...DISCONNECT]);
      await until(() => readies > readiesBefore + round, 5000, `READY again after DISCONNECT ${round + 1}`);
    }
    await goodJob("good-2");
  });
});
