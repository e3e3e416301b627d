// HEARTBEAT load frames (src/protocol/load.ts): parsed after a cheap check of their bytes; a bad
// one is reported as such (the heartbeat still counts), never an exception, never a malformed peer.
import { describe, expect, it } from "vitest";
import {
  DSAT_MARK,
  encode,
  loadHeartbeatFrames,
  parseFrontend,
  WorkerCommand,
  workerCommandFrames,
} from "../../src/protocol/index.ts";

const heartbeat = (load: Buffer) => [...workerCommandFrames(WorkerCommand.heartbeat), DSAT_MARK, load];

describe("HEARTBEAT with a load", () => {
  it("carries the load", () => {
    const frames = loadHeartbeatFrames({ inFlight: 3, queued: 7, lagMs: 12.4, errorRate: 0.12345 });
    expect(parseFrontend(frames, 64)).toEqual({
      kind: "worker-heartbeat",
      load: { inFlight: 3, queued: 7, lagMs: 12, errorRate: 0.123 },
    });
    expect(frames[4].length).toBeLessThan(64);
  });

  it("a plain HEARTBEAT has none", () => {
    expect(parseFrontend(workerCommandFrames(WorkerCommand.heartbeat), 64)).toEqual({
      kind: "worker-heartbeat",
    });
  });

  it.each([
    ["a string value", encode({ inFlight: "lots" }), "inFlight must be a number"],
    ["a negative value", encode({ queued: -1 }), "queued must be a number"],
    ["an error rate above 1", encode({ errorRate: 2 }), "errorRate must be a number in 0..1"],
    ["not a map", encode([1, 2]), "is not a MessagePack map"],
    ["a nested map", encode({ inFlight: { a: 1 } }), "nests deeper than 1"],
    [
      "too many keys",
      encode(Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i]))),
      "more than 8",
    ],
    ["too many bytes", encode({ x: "y".repeat(200) }), "more than 128"],
    ["an extension", Buffer.from([0x81, 0xa1, 0x78, 0xd4, 0x01, 0x00]), "extension"],
    ["not MessagePack", Buffer.from([0x81, 0xa1]), "not MessagePack"],
  ])("ignores a load with %s, and says why", (_, bytes, why) => {
    const message = parseFrontend(heartbeat(bytes), 64);
    expect(message.kind).toBe("worker-heartbeat");
    expect((message as { loadProblem?: string }).loadProblem).toContain(why);
  });

  it("other bodies are malformed, as before", () => {
    const extra = [...workerCommandFrames(WorkerCommand.heartbeat), Buffer.from("x")];
    expect(parseFrontend(extra, 64).kind).toBe("malformed");
    expect(parseFrontend([...extra, Buffer.from("y")], 64).kind).toBe("malformed");
  });
});
