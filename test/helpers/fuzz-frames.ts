// Generators shared by the fuzz tests (test/orchestrator/fuzz.test.ts, test/security/fuzz-curve.test.ts):
// random and mutated multipart messages for the frontend, intake and control sockets, and a drain
// for the fuzzers' incoming messages. Service names are never a test's own "good" job type.
import fc from "fast-check";
import { pack } from "msgpackr";
import type { Dealer } from "zeromq";
import { encode } from "../../src/protocol/codec.ts";
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

export type Frames = Buffer[];

export const bytes = (maxLength = 48) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
export const printable = (maxLength = 24) =>
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map(String.fromCharCode), minLength: 1, maxLength });
/** Service names fuzz traffic may use: random ones, MMI, the configured "echo", never GOOD_TYPE. */
export const serviceName = fc.oneof(
  printable().map((name) => `fz-${name}`),
  fc.constantFrom("echo", "mmi.service", "mmi.nope", "mmi.", ""),
  fc.string({ maxLength: 8 }),
);
export const commandByte = fc.oneof(
  fc.constantFrom(...Object.values(WorkerCommand)).map((code) => Buffer.from([code])),
  fc.integer({ min: 0, max: 255 }).map((code) => Buffer.from([code])),
  bytes(3),
);
/** Any MessagePack value (as msgpackr packs random JS values). */
export const msgpackValue = fc
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
export const garbageHello = fc
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
export const jobToken = fc.oneof(
  fc.tuple(printable(12), fc.integer({ min: -1, max: 5 })).map(([id, attempt]) => jobAddress(id, attempt)),
  bytes(20),
);

/** Valid messages from the builders (later truncated or mutated). */
export const validMessage: fc.Arbitrary<Frames> = fc.oneof(
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

export type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "replace"; at: number; frame: Buffer }
  | { kind: "flip"; at: number; byte: number; xor: number }
  | { kind: "insert"; at: number; frame: Buffer }
  | { kind: "duplicate"; at: number }
  | { kind: "none" };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
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

export function mutate(frames: Frames, change: Mutation): Frames {
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
export const frontendMessage: fc.Arbitrary<Frames> = fc.oneof(
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

export const intakeMessage: fc.Arbitrary<Frames> = fc.oneof(
  fc.array(bytes(64), { minLength: 1, maxLength: 5 }),
  fc
    .tuple(
      fc.oneof(serviceName, fc.constantFrom("result.x", "mmi.service")).map((topic) => Buffer.from(topic)),
      fc.array(fc.oneof(msgpackValue, bytes()), { minLength: 1, maxLength: 3 }),
    )
    .map(([topic, rest]) => [topic, ...rest]),
);

/** What a subscriber can send an XPUB: (un)subscriptions, and garbage besides. */
export const eventsMessage: fc.Arbitrary<Frames> = fc.oneof(
  fc.array(bytes(64), { minLength: 1, maxLength: 5 }),
  fc
    .tuple(fc.constantFrom(0, 1), fc.oneof(printable(), fc.constantFrom("job.", "stats", "")))
    .map(([subscribe, topic]) => [Buffer.concat([Buffer.from([subscribe]), Buffer.from(topic)])]),
  fc.constant<Frames>([Buffer.alloc(8192)]), // over the events socket's maxMessageSize: the peer is cut off
);

export const controlMessage: fc.Arbitrary<Frames> = fc.oneof(
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

export const sample = <T>(arbitrary: fc.Arbitrary<T>, seed: number, numRuns: number): T[] =>
  fc.sample(arbitrary, { seed, numRuns });

/** Drains a socket's incoming messages (so nothing backs up) and counts them. */
export function drain(socket: Dealer): { received: number; disconnects: number } {
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
