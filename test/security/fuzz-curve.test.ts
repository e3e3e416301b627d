// Fuzz on a CURVE topology (issue 6): 100,000 random and mutated messages at the frontend, intake
// and control sockets of a secured orchestrator, from authenticated fuzzers (an allow-listed
// client key) and from unauthenticated ones (an unknown key, plain NULL sockets), while a good
// client keeps asking a good satellite for work. The orchestrator must keep serving: no good
// request lost, malformed / peer-blocked / refused counters move, the satellite stays registered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Publisher } from "zeromq";
import { type Client, connect, controlRequest } from "../../src/client/index.ts";
import type { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite } from "../../src/satellite/index.ts";
import { type CurveOptions, curveClientOptions } from "../../src/security/keys.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import {
  controlMessage,
  drain,
  type Frames,
  frontendMessage,
  intakeMessage,
  sample,
} from "../helpers/fuzz-frames.ts";
import { fakeReady, GoodTraffic, goodType, workerMessage } from "../helpers/fuzz-harness.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { sleep, until } from "../helpers/wait.ts";

const SEED = 20_250_601;
/** Per authenticated socket (4 of them). */
const AUTHENTICATED = 20_000;
/** Per unauthenticated socket (6 of them: unknown key and NULL, on each of the 3 sockets). */
const UNAUTHENTICATED = 3_334;
const GOOD_DURING = 500;
const GOOD_AFTER = 100;
const GOOD_TYPE = goodType();
const HWM = { sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 };

describe("orchestrator fuzz over CURVE", () => {
  // Drawn before anything starts: drawing 100,000 messages takes seconds, and a process that stops
  // for seconds while the good satellite is connected makes it look gone (see the report).
  const anonymousMessages = sample(frontendMessage, SEED, AUTHENTICATED);
  const fakeMessages = sample(workerMessage, SEED + 1, AUTHENTICATED);
  const intakeMessages = sample(intakeMessage, SEED + 2, AUTHENTICATED);
  const controlMessages = sample(controlMessage, SEED + 3, AUTHENTICATED);
  /** For the unknown key, then NULL: frontend, intake and control messages (seeds SEED + 10...). */
  const strangerMessages = [
    frontendMessage,
    intakeMessage,
    controlMessage,
    frontendMessage,
    intakeMessage,
    controlMessage,
  ].map((arbitrary, index) => sample(arbitrary, SEED + 10 + index, UNAUTHENTICATED));
  const keys = new TestKeys("dsat-fuzz-curve-");
  const curve = (name: string): CurveOptions => keys.curve(name);
  let secure: SecureOrchestrator;
  let orchestrator: Orchestrator;
  let client: Client;
  let endpoints: { frontend: string; intake: string; events: string; control: string };

  beforeAll(async () => {
    keys.add("client-ok", "clients");
    keys.add("client-fuzz", "clients");
    keys.add("sat-ok", "satellites");
    keys.add("client-unknown", "other");
    secure = await startSecureOrchestrator(keys, { limits: { heartbeatMs: 500 } });
    ({ orchestrator } = secure);
    endpoints = secure;
    await secure.satellite(
      defineSatellite({ type: GOOD_TYPE, concurrency: 4, handle: (payload) => payload }),
      "good-1",
      "sat-ok",
      { location: [["host", "h1"]], heartbeatMs: 500 },
    );
    await until(() => orchestrator.status().satellites.length === 1, 5000, "the good satellite");
    client = await connect(secure.frontend, { timeoutMs: 15_000, curve: curve("client-ok") });
    expect(await client.request(GOOD_TYPE, "warm-up")).toBe("warm-up");
  });

  afterAll(async () => {
    await client?.close();
    await secure?.stop();
    keys.remove();
  });

  it("keeps serving through 100,000 messages from authenticated and unauthenticated peers", async () => {
    const started = Date.now();
    const before = orchestrator.status().counters;
    const traffic = new GoodTraffic(client, GOOD_TYPE);

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
    const ready = fakeReady([["host", "hz"]]);

    // Unauthenticated fuzzers: an unknown key and plain NULL, on each socket. Their handshakes
    // fail, so nothing they send reaches the orchestrator (sends time out at once: EAGAIN).
    const unknownCurve = curveClientOptions(curve("client-unknown"));
    const strangers: Array<{ socket: Dealer | Publisher; messages: Frames[] }> = [];
    let seed = 0;
    for (const options of [unknownCurve, {}]) {
      const frontendStranger = dealer(endpoints.frontend, { ...options, sendTimeout: 0 });
      drain(frontendStranger);
      const controlStranger = dealer(endpoints.control, { ...options, sendTimeout: 0 });
      drain(controlStranger);
      strangers.push(
        { socket: frontendStranger, messages: strangerMessages[seed++] },
        { socket: publisher(options), messages: strangerMessages[seed++] },
        { socket: controlStranger, messages: strangerMessages[seed++] },
      );
    }
    await sleep(200); // handshakes, and the PUB's subscription from the intake

    let total = 0;
    const every = Math.ceil(AUTHENTICATED / GOOD_DURING);
    const strangerEvery = Math.floor(AUTHENTICATED / UNAUTHENTICATED);
    await fake.send(ready);
    for (let i = 0; i < AUTHENTICATED; i++) {
      if (i % every === 0) traffic.send();
      if (i % 1000 === 0) await fake.send(ready);
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
    for (let i = 0; i < GOOD_AFTER; i++) traffic.send();
    expect(traffic.sent).toBe(GOOD_DURING + GOOD_AFTER);

    expect(await traffic.failures()).toEqual([]);
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
