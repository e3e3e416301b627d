// Fuzz: thousands of random and mutated multipart messages at every socket of a running
// orchestrator (frontend ROUTER, intake XSUB, control ROUTER) while a good client keeps asking a
// real satellite for work. The orchestrator must keep serving: no good request lost, counters
// move, status() answers, the satellite stays registered. Deterministic (fixed fast-check seed).
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Publisher, Request } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { decode, encode } from "../../src/protocol/codec.ts";
import {
  clientRequestFrames,
  DSAT_MARK,
  jobAddress,
  jobReplyFrames,
  type RequestHeader,
  type SatelliteHello,
  WorkerCommand,
  type WorkerCommandCode,
  workerCommandFrames,
  workerReadyFrames,
} from "../../src/protocol/frames.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";

const SEED = 20_240_611;
const PER_SOCKET = 5000;
const GOOD_DURING = 500;
const GOOD_AFTER = 100;
const MESSAGE_BYTES_MAX = 65_536;
/** A job type no fuzz message can name: the good client's requests go only to the good satellite. */
const GOOD_TYPE = `echo-good-${randomBytes(8).toString("hex")}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---- generators ----

type Frames = Buffer[];

const bytes = (maxLength = 48) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
const printable = (maxLength = 24) =>
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map(String.fromCharCode), minLength: 1, maxLength });
/** Service names fuzz traffic may use: random ones, MMI, the configured "echo", never GOOD_TYPE. */
const serviceName = fc.oneof(
  printable().map((name) => `fz-${name}`),
  fc.constantFrom("echo", "mmi.service", "mmi.nope", "mmi.", ""),
  fc.string({ maxLength: 8 }),
);
const commandByte = fc.oneof(
  fc.constantFrom(...Object.values(WorkerCommand)).map((code) => Buffer.from([code])),
  fc.integer({ min: 0, max: 255 }).map((code) => Buffer.from([code])),
  bytes(3),
);
/** Any MessagePack value (as msgpackr packs random JS values). */
const msgpackValue = fc
  .oneof(
    fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: false, withSet: false }),
    fc.record(
      {
        c: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        id: fc.oneof(fc.string({ maxLength: 210 }), fc.integer()),
        k: fc.oneof(fc.string(), fc.integer()),
        t: fc.oneof(fc.double(), fc.integer(), fc.constant(-1), fc.constant(86_400_001)),
        s: fc.constantFrom("ok", "error", "nope", 1),
        e: fc.anything({ maxDepth: 1 }),
        r: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  )
  .map((value) => {
    try {
      return Buffer.from(pack(value));
    } catch {
      return Buffer.from([0xc0]);
    }
  });
/** A READY hello with every field possibly wrong. */
const garbageHello = fc
  .record(
    {
      id: fc.oneof(
        printable(40).map((id) => `fz-sat-${id}`),
        fc.constant(""),
        fc.integer(),
      ),
      types: fc.oneof(fc.array(serviceName, { maxLength: 5 }), fc.anything({ maxDepth: 1 })),
      location: fc.oneof(
        fc.array(fc.tuple(fc.constantFrom("rack", "host", "zone", "", "__proto__"), printable(6)), {
          maxLength: 4,
        }),
        fc.anything({ maxDepth: 2 }),
      ),
      capacity: fc.oneof(fc.integer({ min: -2, max: 200_000 }), fc.double()),
      weight: fc.oneof(fc.double(), fc.integer({ min: -1, max: 70_000 })),
    },
    { requiredKeys: [] },
  )
  .map((hello) => hello as unknown as SatelliteHello);
const jobToken = fc.oneof(
  fc.tuple(printable(12), fc.integer({ min: -1, max: 5 })).map(([id, attempt]) => jobAddress(id, attempt)),
  bytes(20),
);

/** Valid messages from the builders (later truncated or mutated). */
const validMessage: fc.Arbitrary<Frames> = fc.oneof(
  fc
    .tuple(
      serviceName,
      fc.record({ c: fc.integer({ min: 0, max: 1e9 }), t: fc.integer({ min: 1, max: 100 }) }),
      msgpackValue,
    )
    .map(([service, header, payload]) => clientRequestFrames(service, header as RequestHeader, payload)),
  fc
    .tuple(serviceName, fc.array(bytes(), { maxLength: 4 }))
    .map(([service, body]) => [Buffer.alloc(0), Buffer.from("MDPC01"), Buffer.from(service), ...body]),
  fc
    .tuple(
      serviceName.map((name) => (name === "echo" ? "fz-echo" : name)),
      fc.option(garbageHello, { nil: undefined }),
    )
    .map(([service, hello]) => workerReadyFrames(service, hello)),
  fc
    .tuple(jobToken, fc.record({ s: fc.constantFrom("ok" as const, "error" as const) }), msgpackValue)
    .map(([address, header, payload]) => jobReplyFrames(address, header, payload)),
  fc
    .tuple(jobToken, fc.array(bytes(), { maxLength: 3 }))
    .map(([address, body]) => workerCommandFrames(WorkerCommand.reply, address, Buffer.alloc(0), ...body)),
  fc
    .tuple(jobToken, msgpackValue)
    .map(([address, value]) => workerCommandFrames(WorkerCommand.progress, address, value)),
  fc
    .tuple(jobToken, bytes())
    .map(([address, value]) => workerCommandFrames(WorkerCommand.progress, address, value)),
  jobToken.map((address) => workerCommandFrames(WorkerCommand.ack, address)),
  fc
    .constantFrom<WorkerCommandCode>(WorkerCommand.heartbeat, WorkerCommand.drain, WorkerCommand.cancel)
    .map((code) => workerCommandFrames(code)),
);

type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "replace"; at: number; frame: Buffer }
  | { kind: "flip"; at: number; byte: number; xor: number }
  | { kind: "insert"; at: number; frame: Buffer }
  | { kind: "duplicate"; at: number }
  | { kind: "none" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(10) }),
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.nat(10),
    frame: fc.oneof(bytes(), msgpackValue),
  }),
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(10),
    byte: fc.nat(64),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(10), frame: bytes() }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(10) }),
  fc.constant({ kind: "none" as const }),
);

function mutate(frames: Frames, change: Mutation): Frames {
  const out: Frames = frames.map((frame) => Buffer.from(frame));
  const at = out.length === 0 ? 0 : ("at" in change ? change.at : 0) % out.length;
  switch (change.kind) {
    case "truncate":
      return out.slice(0, at);
    case "replace":
      out[at] = change.frame;
      return out;
    case "flip":
      if (out[at] !== undefined && out[at].length > 0) out[at][change.byte % out[at].length] ^= change.xor;
      return out;
    case "insert":
      out.splice(at, 0, change.frame);
      return out;
    case "duplicate":
      if (out[at] !== undefined) out.splice(at, 0, out[at]);
      return out;
    case "none":
      return out;
  }
}

/** Everything the frontend fuzzers send. */
const frontendMessage: fc.Arbitrary<Frames> = fc.oneof(
  // random frame counts 0..20, random bytes
  fc.array(bytes(64), { maxLength: 20 }),
  // valid prefixes: "" + MDPC01/MDPW01 + random command + random frames
  fc
    .tuple(
      fc.constantFrom("MDPC01", "MDPW01", "MDPC02", "MDP"),
      fc.oneof(
        commandByte,
        serviceName.map((name) => Buffer.from(name)),
      ),
      fc.array(fc.oneof(bytes(), msgpackValue, fc.constant(DSAT_MARK)), { maxLength: 17 }),
    )
    .map(([protocol, command, rest]) => [Buffer.alloc(0), Buffer.from(protocol), command, ...rest]),
  // truncated / mutated valid messages
  fc.tuple(validMessage, mutation).map(([frames, change]) => mutate(frames, change)),
  fc
    .tuple(validMessage, mutation, mutation)
    .map(([frames, first, second]) => mutate(mutate(frames, first), second)),
  // random MessagePack in header frames
  fc
    .tuple(serviceName, msgpackValue, msgpackValue)
    .map(([service, header, payload]) => [
      Buffer.alloc(0),
      Buffer.from("MDPC01"),
      Buffer.from(service),
      DSAT_MARK,
      header,
      payload,
    ]),
  fc
    .tuple(
      serviceName.map((name) => (name === "echo" ? "fz-echo" : name)),
      fc.oneof(
        msgpackValue,
        garbageHello.map((hello) => encode(hello)),
      ),
    )
    .map(([service, hello]) => [
      Buffer.alloc(0),
      Buffer.from("MDPW01"),
      Buffer.from([WorkerCommand.ready]),
      Buffer.from(service),
      DSAT_MARK,
      hello,
    ]),
);

const intakeMessage: fc.Arbitrary<Frames> = fc.oneof(
  fc.array(bytes(64), { minLength: 1, maxLength: 5 }),
  fc
    .tuple(
      fc.oneof(serviceName, fc.constantFrom("result.x", "mmi.service")).map((topic) => Buffer.from(topic)),
      fc.array(fc.oneof(msgpackValue, bytes()), { minLength: 1, maxLength: 3 }),
    )
    .map(([topic, rest]) => [topic, ...rest]),
);

const controlMessage: fc.Arbitrary<Frames> = fc.oneof(
  fc.array(bytes(64), { minLength: 1, maxLength: 5 }),
  fc.array(msgpackValue, { minLength: 1, maxLength: 3 }),
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(
        fc
          .constantFrom("ping", "status", "satellites", "stats", "nope", "__proto__")
          .map((cmd) => encode({ cmd })),
        fc.anything({ maxDepth: 1 }).map((cmd) => encode({ cmd })),
        msgpackValue,
      ),
    )
    .map(([delimited, body]) => (delimited ? [Buffer.alloc(0), body] : [body])),
);

const sample = <T>(arbitrary: fc.Arbitrary<T>, seed: number, numRuns: number): T[] =>
  fc.sample(arbitrary, { seed, numRuns });

/** Drains a socket's incoming messages (so nothing backs up) and counts them. */
function drain(socket: Dealer): { received: number; disconnects: number } {
  const seen = { received: 0, disconnects: 0 };
  void (async () => {
    try {
      for await (const frames of socket) {
        seen.received++;
        if (frames.length === 3 && frames[2]?.length === 1 && frames[2][0] === WorkerCommand.disconnect)
          seen.disconnects++;
      }
    } catch {
      // closed
    }
  })();
  return seen;
}

describe("orchestrator fuzz", () => {
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
      types: { echo: { timeoutMs: 2000 } },
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

  it("keeps serving through a barrage on the frontend, intake and control sockets", async () => {
    const started = Date.now();
    const goodRequests: Array<Promise<void>> = [];
    const goodValues: unknown[] = [];
    let goodSent = 0;
    const sendGood = () => {
      const n = goodSent++;
      const value = { n, s: `v${n}`, b: n % 3 === 0 ? [n, null, true] : "x".repeat(n % 50) };
      goodValues.push(value);
      goodRequests.push(
        client.request(GOOD_TYPE, value, { key: `k${n % 17}` }).then((result) => {
          expect(result).toEqual(value);
        }),
      );
    };

    // Frontend: one anonymous fuzzer and one that registers as a (fake) satellite first, so
    // worker commands also reach the registered-peer paths.
    const anonymous = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
    anonymous.connect(endpoints.frontend);
    const anonymousSeen = drain(anonymous);
    const fake = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
    fake.connect(endpoints.frontend);
    const fakeSeen = drain(fake);
    const fakeReady = workerReadyFrames("fz-fake-type", {
      id: "fz-fake-satellite",
      types: ["fz-fake-type"],
      location: [
        ["rack", "rz"],
        ["host", "hz"],
      ],
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

    const intake = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
    intake.connect(endpoints.intake);
    const control = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
    control.connect(endpoints.control);
    const controlSeen = drain(control);
    await sleep(200); // let the PUB receive the intake's subscription

    const anonymousMessages = sample(frontendMessage, SEED, PER_SOCKET);
    const fakeMessages = sample(workerMessage, SEED + 1, PER_SOCKET);
    const intakeMessages = sample(intakeMessage, SEED + 2, PER_SOCKET);
    const controlMessages = sample(controlMessage, SEED + 3, PER_SOCKET);
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
    await fake.send(fakeReady);
    for (let i = 0; i < PER_SOCKET; i++) {
      if (i % every === 0) sendGood();
      if (i % 250 === 0) await fake.send(fakeReady); // re-register after a fuzzed READY/DISCONNECT
      await anonymous.send(anonymousMessages[i]);
      await fake.send(fakeMessages[i]);
      await intake.send(intakeMessages[i]);
      await control.send(controlMessages[i]);
      if (i % 100 === 0) await sleep(0); // let the orchestrator and the satellites breathe
    }
    for (let i = 0; i < GOOD_AFTER; i++) sendGood();
    expect(goodSent).toBe(GOOD_DURING + GOOD_AFTER);

    // Every good request resolves with its own value; none lost.
    const outcomes = await Promise.allSettled(goodRequests);
    const failures = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(failures.map((failure) => String((failure as PromiseRejectedResult).reason))).toEqual([]);

    // The orchestrator answers requests sent after the barrage, and its status.
    expect(await client.request(GOOD_TYPE, { after: true })).toEqual({ after: true });
    await until(
      () =>
        orchestrator.status().counters.malformed.intake > 0 &&
        orchestrator.status().counters.malformed.control > 0,
      5000,
      "intake and control fuzz to be counted",
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

    for (const socket of [anonymous, fake, intake, control]) socket.close();
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});
