// The shape check (src/protocol/shape.ts, input-shapes.ts): each bound refuses what passes it,
// before any decoding, and lets through what dsat itself writes.
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  ackBatchFrames,
  clientBatchFrames,
  clientRequestFrames,
  DEFAULT_LIMITS,
  DecodeError,
  decodeShaped,
  encode,
  inputShapes,
  isReplyEntry,
  jobReplyBatchFrames,
  jobReplyFrames,
  LimitsError,
  parseFrontend,
  parseIntakeHeader,
  parseJobRequest,
  type RequestEntry,
  type Shape,
  ShapeError,
  shapeProblem,
  splitBatch,
  validateLimits,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../../src/protocol/index.ts";
import { str } from "./hostile.ts";

const loose: Shape = {
  name: "value",
  bytesMax: 1 << 20,
  top: "any",
  topItemsMax: 100,
  innerItemsMax: 10,
  itemsMax: 1000,
  depthMax: 3,
  extensions: true,
};

function map16(entries: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0xde, entries >> 8, entries & 0xff])];
  for (let i = 0; i < entries; i++) parts.push(str(`k${i}`), Buffer.from([0]));
  return Buffer.concat(parts);
}

const FRAMES_MAX = DEFAULT_LIMITS.framesMax;

describe("shapeProblem", () => {
  it("passes what fits, whatever the scalar types", () => {
    const value = pack({
      s: "x".repeat(300),
      n: [1, -1, 200, -200, 70_000, -70_000, 2 ** 40, 1.5, null, true, false],
      b: Buffer.alloc(300),
      d: new Date(0),
    });
    expect(shapeProblem(value, { ...loose, innerItemsMax: 11 })).toBeNull();
    expect(shapeProblem(pack(7), loose)).toBeNull();
    expect(shapeProblem(Buffer.alloc(0), loose)).toBeNull();
  });

  it("refuses more bytes than bytesMax, before reading them", () => {
    expect(shapeProblem(Buffer.alloc(11), { ...loose, bytesMax: 10 })).toBe(
      "value has 11 bytes, more than 10",
    );
  });

  it("refuses a top-level container over topItemsMax from its header alone", () => {
    const lying = Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]); // map32 of 2^32-1 entries, no entries
    expect(shapeProblem(lying, loose)).toBe("value has a map of 4294967295 items, more than 100");
    expect(shapeProblem(map16(101), loose)).toBe("value has a map of 101 items, more than 100");
    expect(shapeProblem(map16(100), loose)).toBeNull();
  });

  it("counts a map entry once, nested containers against innerItemsMax and everything against itemsMax", () => {
    expect(shapeProblem(pack({ a: Array(10).fill(0) }), loose)).toBeNull();
    expect(shapeProblem(pack({ a: Array(11).fill(0) }), loose)).toBe(
      "value has a array of 11 items, more than 10",
    );
    const wide = pack(Array.from({ length: 100 }, () => Array(10).fill(0)));
    expect(shapeProblem(wide, loose)).toBe("value holds more than 1000 items");
    expect(shapeProblem(wide, { ...loose, itemsMax: 1100 })).toBeNull();
  });

  it("refuses nesting deeper than depthMax, iteratively (200,000 levels answer at once)", () => {
    expect(shapeProblem(pack([[[1]]]), loose)).toBeNull();
    expect(shapeProblem(pack([[[[1]]]]), loose)).toBe("value nests deeper than 3 levels");
    const deep = Buffer.alloc(200_000, 0x91);
    expect(shapeProblem(deep, { ...loose, bytesMax: 1 << 20, depthMax: 64 })).toBe(
      "value nests deeper than 64 levels",
    );
  });

  it("checks the top type and, where dsat writes none, extensions", () => {
    expect(shapeProblem(pack([1]), { ...loose, top: "map" })).toBe("value is not a MessagePack map");
    expect(shapeProblem(pack({ a: 1 }), { ...loose, top: "array" })).toBe("value is not a MessagePack array");
    expect(shapeProblem(pack({ d: new Date(0) }), { ...loose, extensions: false })).toBe(
      "value holds a MessagePack extension",
    );
  });

  it("reads only the first value and leaves truncated or invalid input to the decoder", () => {
    expect(shapeProblem(Buffer.concat([pack(1), map16(200)]), loose)).toBeNull();
    expect(shapeProblem(Buffer.from([0x92, 0x01]), loose)).toBeNull(); // array of 2 with 1 item
    expect(shapeProblem(Buffer.from([0xc1]), loose)).toBeNull();
    expect(() => decodeShaped(Buffer.from([0x92, 0x01]), loose)).toThrow(DecodeError);
    expect(() => decodeShaped(map16(101), loose)).toThrow(ShapeError);
  });
});

describe("the shapes of dsat's frames", () => {
  const shapes = inputShapes();

  it("are built once per limits object", () => {
    expect(inputShapes()).toBe(shapes);
    const limits = validateLimits({ headerKeysMax: 20 });
    expect(inputShapes(limits)).toBe(inputShapes(limits));
    expect(inputShapes(limits).requestHeader.topItemsMax).toBe(20);
  });

  it("let through everything dsat writes", () => {
    const payload = encode({ n: 1 });
    const longKey = "€".repeat(1024); // 3 bytes each in UTF-8: the largest header a client may send
    const messages = [
      clientRequestFrames("echo", { c: 1, id: "é".repeat(200), k: longKey, t: 86_400_000 }, payload),
      jobReplyFrames(Buffer.from("j#1"), { s: "error", e: "x".repeat(60_000), r: false }, payload),
      workerReadyFrames("echo", {
        id: "s1",
        types: ["echo", ...Array.from({ length: 63 }, (_, i) => `type-${"t".repeat(240)}-${i}`)],
        location: [
          ["rack", "r1"],
          ["host", "h1"],
        ],
        capacity: 8,
        weight: 1,
        batch: true,
        key: "k".repeat(40),
        proof: "0".repeat(64),
        heartbeatMs: 2500,
        incarnation: "f".repeat(32),
      }),
      workerCommandFrames(
        WorkerCommand.progress,
        Buffer.from("j#1"),
        encode({ done: 5, of: 10, note: "x".repeat(1000) }),
      ),
      clientBatchFrames(
        Array.from(
          { length: 4096 },
          (_, i): RequestEntry => ["echo", i, payload.length, 1000, `id-${i}`, longKey],
        ),
        Array(4096).fill(payload),
      ),
      jobReplyBatchFrames(
        Array.from({ length: 4096 }, (_, i) => [`j${i}`, 1, 1, payload.length, "failed", true] as const).map(
          (entry) => [...entry] as [string, number, 1, number, string, boolean],
        ),
        Array(4096).fill(payload),
      ),
      ackBatchFrames(Array.from({ length: 8192 }, (_, i) => (i % 2 === 0 ? `j${i}` : 1))),
    ];
    for (const frames of messages) expect(parseFrontend(frames, FRAMES_MAX)).not.toHaveProperty("reason");
    expect(
      shapeProblem(encode({ cmd: "jobs", state: "failed", limit: 100 }), shapes.controlRequest),
    ).toBeNull();
    expect(parseIntakeHeader(encode({ id: "job-1", k: longKey }))).toEqual({ id: "job-1", key: longKey });
  });

  it("refuse a request header over headerBytesMax or headerKeysMax, saying why", () => {
    const big = clientRequestFrames("echo", { c: 1, k: "x".repeat(4096) }, encode(null));
    expect(parseFrontend(big, FRAMES_MAX)).toEqual({
      kind: "malformed",
      reason: expect.stringMatching(/^request header has \d+ bytes, more than 4096$/),
    });
    const header = { c: 1, ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`x${i}`, 0])) };
    const wide = clientRequestFrames("echo", header as unknown as { c: number }, encode(null));
    expect(parseFrontend(wide, FRAMES_MAX)).toEqual({
      kind: "malformed",
      reason: "request header has a map of 17 items, more than 16",
    });
  });

  it("refuse a READY hello or REPLY header over satelliteHeaderBytesMax or headerKeysMax", () => {
    const hello = workerReadyFrames("echo", {
      id: "s1",
      types: ["echo"],
      location: [],
      capacity: 1,
      weight: 1,
    });
    hello[5] = map16(17);
    expect(parseFrontend(hello, FRAMES_MAX)).toMatchObject({
      kind: "malformed",
      reason: expect.stringContaining("17 items"),
    });
    const reply = jobReplyFrames(Buffer.from("j#1"), { s: "error", e: "x".repeat(70_000) }, encode(null));
    expect(parseFrontend(reply, FRAMES_MAX)).toMatchObject({
      kind: "malformed",
      reason: expect.stringMatching(/^reply header: satellite header has \d+ bytes, more than 65536$/),
    });
  });

  it("refuse a PROGRESS value over progressBytesMax or payloadDepthMax", () => {
    const progress = (value: Buffer) =>
      workerCommandFrames(WorkerCommand.progress, Buffer.from("j#1"), value);
    expect(parseFrontend(progress(encode("x".repeat(16_384))), FRAMES_MAX)).toMatchObject({
      kind: "malformed",
      reason: expect.stringContaining("more than 16384"),
    });
    expect(parseFrontend(progress(Buffer.alloc(100, 0x91)), FRAMES_MAX)).toMatchObject({
      kind: "malformed",
      reason: "PROGRESS value nests deeper than 64 levels",
    });
  });

  it("refuse a batch over BATCH_ENTRIES_MAX, or an entry that is not a short array, before decoding", () => {
    const payload = encode(null);
    const entry: RequestEntry = ["echo", 1, payload.length, null, null, null];
    const tooMany = clientBatchFrames(Array(4097).fill(entry), Array(4097).fill(payload));
    expect(parseFrontend(tooMany, FRAMES_MAX)).toEqual({
      kind: "malformed",
      reason: "batch entries has a array of 4097 items, more than 4096",
    });
    const wide = clientBatchFrames([[...entry, 0, 0, 0, 0, 0] as unknown as RequestEntry], [payload]);
    expect(parseFrontend(wide, FRAMES_MAX)).toEqual({
      kind: "malformed",
      reason: "batch entries has a array of 11 items, more than 10",
    });
    const nested = clientBatchFrames(
      [[...entry.slice(0, 5), { k: 1 }] as unknown as RequestEntry],
      [payload],
    );
    expect(parseFrontend(nested, FRAMES_MAX)).toEqual({
      kind: "malformed",
      reason: "batch entries nests deeper than 2 levels",
    });
    // The client and the satellite read batches through the same splitBatch.
    const replies = encode(Array(4097).fill([1, "j", "ok", 0, null]));
    expect(splitBatch(replies, Buffer.alloc(0), isReplyEntry, (e) => e[3], 4096)).toBe(
      "batch entries has a array of 4097 items, more than 4096",
    );
    const acks = ackBatchFrames(Array(8193).fill(1));
    expect(parseFrontend(acks, FRAMES_MAX)).toEqual({
      kind: "malformed",
      reason: "ACK-BATCH entries has a array of 8193 items, more than 8192",
    });
  });

  it("refuse an intake header or a control request that is too big or too wide", () => {
    expect(parseIntakeHeader(encode({ k: "x".repeat(4096) }))).toMatch(/^intake header has \d+ bytes/);
    expect(parseIntakeHeader(map16(17))).toBe("intake header has a map of 17 items, more than 16");
    expect(parseIntakeHeader(encode([1]))).toBe("intake header is not a MessagePack map");
    expect(shapeProblem(map16(17), shapes.controlRequest)).toBe(
      "control request has a map of 17 items, more than 16",
    );
  });

  it("refuse an MMI service name that is not a short scalar", () => {
    expect(shapeProblem(encode("echo"), shapes.serviceName)).toBeNull();
    expect(shapeProblem(encode("x".repeat(255)), shapes.serviceName)).toBeNull();
    expect(shapeProblem(encode("x".repeat(256)), shapes.serviceName)).toMatch(/more than 257/);
    expect(shapeProblem(encode([]), shapes.serviceName)).toBe("service name nests deeper than 0 levels");
  });

  it("refuse a job header a satellite cannot afford to decode", () => {
    const frames = workerCommandFrames(WorkerCommand.request, Buffer.from("j#1"), Buffer.alloc(0));
    const job = [...frames, Buffer.from("dsat/1"), map16(17), encode(null)];
    expect(parseJobRequest(job)).toBeNull();
    job[6] = encode({ id: "j", type: "echo", a: 1 });
    expect(parseJobRequest(job)?.header).toEqual({ id: "j", type: "echo", a: 1 });
  });
});

describe("validateLimits for the input bounds", () => {
  it("rejects bounds that would refuse dsat's own messages, in sentences", () => {
    expect(() => validateLimits({ headerBytesMax: 1024 })).toThrow(LimitsError);
    expect(() => validateLimits({ headerBytesMax: 8192, satelliteHeaderBytesMax: 4096 })).toThrow(
      /satelliteHeaderBytesMax must be at least headerBytesMax/,
    );
    expect(() => validateLimits({ headerKeysMax: 8 })).toThrow(/a READY hello has 10/);
    expect(() => validateLimits({ progressBytesMax: 100 })).toThrow(/progressBytesMax/);
    expect(validateLimits({ headerKeysMax: 32 }).headerKeysMax).toBe(32);
  });
});
