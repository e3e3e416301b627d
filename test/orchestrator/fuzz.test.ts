// Fuzz: thousands of random and mutated multipart messages at every socket of a running
// orchestrator (frontend ROUTER, intake XSUB, control ROUTER, events XPUB) while a good client keeps asking a
// real satellite for work. The orchestrator must keep serving: no good request lost, counters
// move, status() answers, the satellite stays registered. Deterministic (fixed fast-check seed).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Publisher, Request, Subscriber, XSubscriber } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { decode, encode } from "../../src/protocol/codec.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import {
  controlMessage,
  drain,
  eventsMessage,
  frontendMessage,
  intakeMessage,
  sample,
} from "../helpers/fuzz-frames.ts";
import { fakeReady, GoodTraffic, goodType, workerMessage } from "../helpers/fuzz-harness.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";

const SEED = 20_240_611;
const PER_SOCKET = 5000;
const GOOD_DURING = 500;
const GOOD_AFTER = 100;
const MESSAGE_BYTES_MAX = 65_536;
/** A job type no fuzz message can name: the good client's requests go only to the good satellite. */
const GOOD_TYPE = goodType();

describe("orchestrator fuzz", () => {
  // Drawn before anything starts: a process that stops for a second or more to draw them while the
  // satellites are connected makes them look gone.
  const anonymousMessages = sample(frontendMessage, SEED, PER_SOCKET);
  const fakeMessages = sample(workerMessage, SEED + 1, PER_SOCKET);
  const intakeMessages = sample(intakeMessage, SEED + 2, PER_SOCKET);
  const controlMessages = sample(controlMessage, SEED + 3, PER_SOCKET);
  const eventsMessages = sample(eventsMessage, SEED + 4, PER_SOCKET);
  let orchestrator: Orchestrator;
  let good: SatelliteRuntime;
  let echo: SatelliteRuntime;
  let client: Client;
  let endpoints: { frontend: string; intake: string; events: string; control: string };

  beforeAll(async () => {
    const [frontend, intake, events, control] = await freeEndpoints(4);
    endpoints = { frontend, intake, events, control };
    orchestrator = new Orchestrator({
      ...endpoints,
      hierarchy: ["rack", "host"],
      types: { echo: { timeoutMs: 2000 }, [GOOD_TYPE]: {} },
      limits: { heartbeatMs: 500, messageBytesMax: MESSAGE_BYTES_MAX },
      log: () => {},
    });
    await orchestrator.start();
    good = await runSatellite(
      defineSatellite({ type: GOOD_TYPE, concurrency: 4, handle: (payload) => payload }),
      {
        endpoint: frontend,
        id: "good-1",
        location: [
          ["rack", "r1"],
          ["host", "h1"],
        ],
        heartbeatMs: 500,
        log: () => {},
      },
    );
    // The configured "echo" type is fair game for fuzz traffic; it has its own satellite.
    echo = await runSatellite(
      defineSatellite({ type: "echo", concurrency: 4, handle: (payload) => payload }),
      {
        endpoint: frontend,
        id: "echo-1",
        location: [
          ["rack", "r2"],
          ["host", "h2"],
        ],
        heartbeatMs: 500,
        log: () => {},
      },
    );
    await until(() => orchestrator.status().satellites.length === 2, 5000, "two satellites");
    client = await connect(frontend, { timeoutMs: 10_000 });
    expect(await client.request(GOOD_TYPE, "warm-up")).toBe("warm-up");
  });

  afterAll(async () => {
    await client?.close();
    await good?.stop();
    await echo?.stop();
    await orchestrator?.stop();
  });

  it("keeps serving through a barrage on the frontend, intake, control and events sockets", async () => {
    const started = Date.now();
    const traffic = new GoodTraffic(client, GOOD_TYPE);

    // Frontend: one anonymous fuzzer and one that registers as a (fake) satellite first, so
    // worker commands also reach the registered-peer paths.
    const anonymous = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
    anonymous.connect(endpoints.frontend);
    const anonymousSeen = drain(anonymous);
    const fake = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
    fake.connect(endpoints.frontend);
    const fakeSeen = drain(fake);
    const ready = fakeReady([
      ["rack", "rz"],
      ["host", "hz"],
    ]);

    const intake = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
    intake.connect(endpoints.intake);
    const control = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
    control.connect(endpoints.control);
    const controlSeen = drain(control);
    // A hostile subscriber sends the events XPUB garbage besides (un)subscriptions; a good one listens.
    const eventsPeer = new XSubscriber({ linger: 0, sendHighWaterMark: 100_000 });
    eventsPeer.connect(endpoints.events);
    const listener = new Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
    listener.connect(endpoints.events);
    listener.subscribe("satellite.");
    let heard = 0;
    const listening = (async () => {
      for await (const _ of listener) heard++;
    })().catch(() => {});
    await sleep(200); // let the PUB receive the intake's subscription

    // Sizes around the limits: over messageBytesMax (TOO_LARGE), and over libzmq's 2x cut-off.
    anonymousMessages.splice(1000, 0, [
      Buffer.alloc(0),
      Buffer.from("MDPC01"),
      Buffer.from("echo"),
      Buffer.alloc(MESSAGE_BYTES_MAX + 10),
    ]);
    anonymousMessages.splice(3000, 0, [
      Buffer.alloc(0),
      Buffer.from("MDPW01"),
      Buffer.alloc(MESSAGE_BYTES_MAX * 3),
    ]);
    intakeMessages.splice(2000, 0, [Buffer.from("echo"), Buffer.alloc(MESSAGE_BYTES_MAX + 10)]);

    const every = Math.ceil(PER_SOCKET / GOOD_DURING);
    await fake.send(ready);
    for (let i = 0; i < PER_SOCKET; i++) {
      if (i % every === 0) traffic.send();
      if (i % 250 === 0) await fake.send(ready); // re-register after a fuzzed READY/DISCONNECT
      await anonymous.send(anonymousMessages[i]);
      await fake.send(fakeMessages[i]);
      await intake.send(intakeMessages[i]);
      await control.send(controlMessages[i]);
      await eventsPeer.send(eventsMessages[i]);
      if (i % 100 === 0) await sleep(0); // let the orchestrator and the satellites breathe
    }
    for (let i = 0; i < GOOD_AFTER; i++) traffic.send();
    expect(traffic.sent).toBe(GOOD_DURING + GOOD_AFTER);

    // Every good request resolves with its own value; none lost.
    expect(await traffic.failures()).toEqual([]);

    // The orchestrator answers requests sent after the barrage, and its status.
    expect(await client.request(GOOD_TYPE, { after: true })).toEqual({ after: true });
    await until(
      () =>
        orchestrator.status().counters.malformed.intake > 0 &&
        orchestrator.status().counters.malformed.control > 0 &&
        orchestrator.status().counters.malformed.events > 0,
      5000,
      "intake, control and events fuzz to be counted",
    );
    const status = orchestrator.status();
    expect(status.counters.malformed.frontend).toBeGreaterThan(0);
    expect(status.counters.malformed.intake).toBeGreaterThan(0);
    expect(status.counters.malformed.control).toBeGreaterThan(0);
    expect(status.counters.tooLarge).toBeGreaterThan(0);
    const satellites = status.satellites.map((satellite) => satellite.id);
    expect(satellites).toContain("good-1");
    expect(satellites).toContain("echo-1");
    expect(status.stats[GOOD_TYPE]?.received).toBeGreaterThanOrEqual(GOOD_DURING + GOOD_AFTER);
    // Unregistered peers sending worker commands were told to reconnect; control answered.
    expect(anonymousSeen.disconnects).toBeGreaterThan(0);
    expect(fakeSeen.received).toBeGreaterThan(0);
    expect(controlSeen.received).toBeGreaterThan(0);

    // The control socket still answers a well-formed REQ.
    const request = new Request({ linger: 0, receiveTimeout: 5000 });
    request.connect(endpoints.control);
    await request.send(encode({ cmd: "status" }));
    const [reply] = await request.receive();
    const answer = decode(reply) as { ok: boolean; satellites: Array<{ id: string }> };
    expect(answer.ok).toBe(true);
    expect(answer.satellites.map((satellite) => satellite.id)).toContain("good-1");
    request.close();

    // The good subscriber heard the fake satellite's re-registrations through the barrage.
    expect(heard).toBeGreaterThan(0);
    for (const socket of [anonymous, fake, intake, control, eventsPeer, listener]) socket.close();
    await listening;
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});
