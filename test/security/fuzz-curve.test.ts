// Fuzz on a CURVE topology (issue 6): 100,000 random and mutated messages at the frontend, intake
// and control sockets of a secured orchestrator, from authenticated fuzzers (an allow-listed
// client key) and from unauthenticated ones (an unknown key, plain NULL sockets), while a good
// client keeps asking a good satellite for work. The orchestrator must keep serving: no good
// request lost, malformed / peer-blocked / refused counters move, the satellite stays registered.
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Publisher } from "zeromq";
import { type Client, connect, controlRequest } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { workerReadyFrames } from "../../src/protocol/frames.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { type CurveOptions, curveClientOptions } from "../../src/security/keys.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import {
  controlMessage,
  drain,
  type Frames,
  frontendMessage,
  intakeMessage,
  mutate,
  mutation,
  sample,
  validMessage,
} from "../helpers/fuzz-frames.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";

const SEED = 20_250_601;
/** Per authenticated socket (4 of them). */
const AUTHENTICATED = 20_000;
/** Per unauthenticated socket (6 of them: unknown key and NULL, on each of the 3 sockets). */
const UNAUTHENTICATED = 3_334;
const GOOD_DURING = 500;
const GOOD_AFTER = 100;
const GOOD_TYPE = `echo-good-${randomBytes(8).toString("hex")}`;
const HWM = { sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 };

describe("orchestrator fuzz over CURVE", () => {
  const keys = new TestKeys("dsat-fuzz-curve-");
  const curve = (name: string): CurveOptions => keys.curve(name);
  let orchestrator: Orchestrator;
  let good: SatelliteRuntime;
  let client: Client;
  let endpoints: { frontend: string; intake: string; events: string; control: string };

  beforeAll(async () => {
    keys.add("client-ok", "clients");
    keys.add("client-fuzz", "clients");
    keys.add("sat-ok", "satellites");
    keys.add("client-unknown", "other");
    const [frontend, intake, events, control] = await freeEndpoints(4);
    endpoints = { frontend, intake, events, control };
    orchestrator = new Orchestrator({
      ...endpoints,
      hierarchy: ["host"],
      limits: { heartbeatMs: 500 },
      security: keys.security(),
      log: () => {},
    });
    await orchestrator.start();
    good = await runSatellite(
      defineSatellite({ type: GOOD_TYPE, concurrency: 4, handle: (payload) => payload }),
      {
        endpoint: frontend,
        id: "good-1",
        location: [["host", "h1"]],
        heartbeatMs: 500,
        curve: curve("sat-ok"),
        log: () => {},
      },
    );
    await until(() => orchestrator.status().satellites.length === 1, 5000, "the good satellite");
    client = await connect(frontend, { timeoutMs: 15_000, curve: curve("client-ok") });
    expect(await client.request(GOOD_TYPE, "warm-up")).toBe("warm-up");
  });

  afterAll(async () => {
    await client?.close();
    await good?.stop();
    await orchestrator?.stop();
    keys.remove();
  });

  it("keeps serving through 100,000 messages from authenticated and unauthenticated peers", async () => {
    const started = Date.now();
    const before = orchestrator.status().counters;
    const goodRequests: Array<Promise<void>> = [];
    let goodSent = 0;
    const sendGood = () => {
      const n = goodSent++;
      const value = { n, s: `v${n}`, b: n % 3 === 0 ? [n, null, true] : "x".repeat(n % 50) };
      goodRequests.push(
        client.request(GOOD_TYPE, value, { key: `k${n % 17}` }).then((result) => {
          expect(result).toEqual(value);
        }),
      );
    };

    // Authenticated fuzzers: an allow-listed client key on every socket; on the frontend one
    // anonymous and one claiming to be a satellite (its READY is refused: the key is a client's).
    const fuzzCurve = curveClientOptions(curve("client-fuzz"));
    const dealer = (endpoint: string, options: object) => {
      const socket = new Dealer({ linger: 0, ...HWM, ...options });
      socket.connect(endpoint);
      return socket;
    };
    const publisher = (options: object) => {
      const socket = new Publisher({ linger: 0, sendHighWaterMark: 100_000, ...options });
      socket.connect(endpoints.intake);
      return socket;
    };
    const anonymous = dealer(endpoints.frontend, fuzzCurve);
    const anonymousSeen = drain(anonymous);
    const fake = dealer(endpoints.frontend, fuzzCurve);
    const fakeSeen = drain(fake);
    const intake = publisher(fuzzCurve);
    const control = dealer(endpoints.control, fuzzCurve);
    const controlSeen = drain(control);
    const fakeReady = workerReadyFrames("fz-fake-type", {
      id: "fz-fake-satellite",
      types: ["fz-fake-type"],
      location: [["host", "hz"]],
      capacity: 3,
      weight: 1,
    });
    const workerMessage = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.tuple(validMessage, mutation).map(([frames, change]) => mutate(frames, change)),
      },
      { weight: 1, arbitrary: frontendMessage },
    );

    // Unauthenticated fuzzers: an unknown key and plain NULL, on each socket. Their handshakes
    // fail, so nothing they send reaches the orchestrator (sends time out at once: EAGAIN).
    const unknownCurve = curveClientOptions(curve("client-unknown"));
    const strangers: Array<{ socket: Dealer | Publisher; messages: Frames[] }> = [];
    let seed = SEED + 10;
    for (const options of [unknownCurve, {}]) {
      const frontendStranger = dealer(endpoints.frontend, { ...options, sendTimeout: 0 });
      drain(frontendStranger);
      const controlStranger = dealer(endpoints.control, { ...options, sendTimeout: 0 });
      drain(controlStranger);
      strangers.push(
        { socket: frontendStranger, messages: sample(frontendMessage, seed++, UNAUTHENTICATED) },
        { socket: publisher(options), messages: sample(intakeMessage, seed++, UNAUTHENTICATED) },
        { socket: controlStranger, messages: sample(controlMessage, seed++, UNAUTHENTICATED) },
      );
    }
    await sleep(200); // handshakes, and the PUB's subscription from the intake

    const anonymousMessages = sample(frontendMessage, SEED, AUTHENTICATED);
    const fakeMessages = sample(workerMessage, SEED + 1, AUTHENTICATED);
    const intakeMessages = sample(intakeMessage, SEED + 2, AUTHENTICATED);
    const controlMessages = sample(controlMessage, SEED + 3, AUTHENTICATED);
    let total = 0;
    const every = Math.ceil(AUTHENTICATED / GOOD_DURING);
    const strangerEvery = Math.floor(AUTHENTICATED / UNAUTHENTICATED);
    await fake.send(fakeReady);
    for (let i = 0; i < AUTHENTICATED; i++) {
      if (i % every === 0) sendGood();
      if (i % 1000 === 0) await fake.send(fakeReady);
      await anonymous.send(anonymousMessages[i]);
      await fake.send(fakeMessages[i]);
      await intake.send(intakeMessages[i]);
      await control.send(controlMessages[i]);
      total += 4;
      if (i % strangerEvery === 0) {
        const index = i / strangerEvery;
        for (const stranger of strangers) {
          const message = stranger.messages[index];
          if (message === undefined) continue;
          total++;
          await stranger.socket.send(message).catch(() => {}); // EAGAIN: never authenticated
        }
      }
      if (i % 100 === 0) await sleep(0);
    }
    expect(total).toBeGreaterThanOrEqual(100_000);
    for (let i = 0; i < GOOD_AFTER; i++) sendGood();
    expect(goodSent).toBe(GOOD_DURING + GOOD_AFTER);

    const outcomes = await Promise.allSettled(goodRequests);
    const failures = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(failures.map((failure) => String((failure as PromiseRejectedResult).reason))).toEqual([]);
    expect(await client.request(GOOD_TYPE, { after: true })).toEqual({ after: true });

    await until(
      () =>
        orchestrator.status().counters.malformed.intake > before.malformed.intake &&
        orchestrator.status().counters.malformed.control > before.malformed.control,
      5000,
      "intake and control fuzz to be counted",
    );
    const status = orchestrator.status();
    const counters = status.counters;
    expect(counters.malformed.frontend).toBeGreaterThan(before.malformed.frontend);
    expect(counters.security.peersBlocked).toBeGreaterThan(before.security.peersBlocked);
    expect(counters.security.refused).toBeGreaterThan(before.security.refused);
    expect(counters.security.satelliteKeyRefused).toBeGreaterThan(before.security.satelliteKeyRefused);
    expect(status.satellites.map((satellite) => satellite.id)).toEqual(["good-1"]);
    expect(status.stats[GOOD_TYPE]?.received).toBeGreaterThanOrEqual(GOOD_DURING + GOOD_AFTER);
    expect(anonymousSeen.received + fakeSeen.received).toBeGreaterThan(0);
    expect(controlSeen.received).toBeGreaterThan(0);

    // The control socket still answers an allowed key, and not a plain peer.
    const answer = (await controlRequest(endpoints.control, "status", 5000, curve("client-ok"))) as {
      ok: boolean;
      satellites: Array<{ id: string }>;
    };
    expect(answer.ok).toBe(true);
    expect(answer.satellites.map((satellite) => satellite.id)).toContain("good-1");

    for (const socket of [anonymous, fake, intake, control, ...strangers.map((entry) => entry.socket)])
      socket.close();
    expect(Date.now() - started).toBeLessThan(35_000);
  });
});
