// Limits (src/protocol/limits.ts) as the orchestrator enforces them on the wire: message size on
// the frontend and the intake, frames per message, types per satellite, the failure-domain
// hierarchy of a READY, and jobs held at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import {
  type Client,
  connect,
  DsatError,
  type OrchestratorEvent,
  RejectedError,
} from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { decode, encode } from "../../src/protocol/codec.ts";
import {
  clientRequestFrames,
  DSAT_MARK,
  WorkerCommand,
  workerReadyFrames,
} from "../../src/protocol/frames.ts";
import type { Limits } from "../../src/protocol/limits.ts";
import {
  defineSatellite,
  runSatellite,
  type SatelliteDefinition,
  type SatelliteRuntime,
} from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { rackAndHost } from "../helpers/topology.ts";
import { sleep, until } from "../helpers/wait.ts";

interface Stack {
  orchestrator: Orchestrator;
  satellites: SatelliteRuntime[];
  frontend: string;
  intake: string;
  events: string;
  control: string;
  close(): Promise<void>;
}

/** An orchestrator plus one satellite per definition (rack r<i>, host h<i>), all registered. */
async function startStack(limits: Partial<Limits>, definitions: SatelliteDefinition[]): Promise<Stack> {
  const [frontend, intake, events, control] = await freeEndpoints(4);
  const orchestrator = new Orchestrator({
    frontend,
    intake,
    events,
    control,
    hierarchy: ["rack", "host"],
    types: { echo: {} },
    dynamicTypes: true, // the satellites bring types of their own
    limits: { heartbeatMs: 500, ...limits },
    log: () => {},
  });
  await orchestrator.start();
  const satellites: SatelliteRuntime[] = [];
  for (const [index, definition] of definitions.entries()) {
    satellites.push(
      await runSatellite(definition, {
        endpoint: frontend,
        id: `s${index + 1}`,
        location: rackAndHost(index + 1),
        heartbeatMs: 500,
        log: () => {},
      }),
    );
  }
  await until(
    () => orchestrator.status().satellites.length === definitions.length,
    5000,
    "satellites to register",
  );
  return {
    orchestrator,
    satellites,
    frontend,
    intake,
    events,
    control,
    async close() {
      for (const satellite of satellites) await satellite.stop();
      await orchestrator.stop();
    },
  };
}

/** Collects events whose topic starts with `prefix` in the background. */
function collect(client: Client, prefix: string): OrchestratorEvent[] {
  const seen: OrchestratorEvent[] = [];
  void (async () => {
    try {
      for await (const event of client.events(prefix)) seen.push(event);
    } catch {
      // closed
    }
  })();
  return seen;
}

/** A raw DEALER on the frontend that records what comes back. */
function rawPeer(endpoint: string): { socket: Dealer; received: Buffer[][] } {
  const socket = new Dealer({ linger: 0 });
  socket.connect(endpoint);
  const received: Buffer[][] = [];
  void (async () => {
    try {
      for await (const frames of socket) received.push(frames);
    } catch {
      // closed
    }
  })();
  return { socket, received };
}

const isDisconnect = (frames: Buffer[]) =>
  frames.length === 3 &&
  frames[0].length === 0 &&
  frames[1].toString() === "MDPW01" &&
  frames[2].equals(Buffer.from([WorkerCommand.disconnect]));

const MESSAGE_BYTES_MAX = 8192;

/** A string payload whose request message (clientRequestFrames, header { c }) is exactly `total` bytes. */
function payloadForTotal(type: string, correlation: number, total: number): string {
  const sizeOf = (payload: string) =>
    clientRequestFrames(type, { c: correlation }, encode(payload)).reduce(
      (sum, frame) => sum + frame.length,
      0,
    );
  let length = total - sizeOf("");
  while (sizeOf("x".repeat(length)) > total) length--;
  const payload = "x".repeat(length);
  expect(sizeOf(payload)).toBe(total);
  return payload;
}

describe("orchestrator limits", () => {
  let stack: Stack;
  let client: Client;

  beforeAll(async () => {
    stack = await startStack({ messageBytesMax: MESSAGE_BYTES_MAX, typesPerSatelliteMax: 4 }, [
      defineSatellite({
        type: ["echo", "size"],
        concurrency: 4,
        handle: (payload: unknown) => (typeof payload === "string" ? payload.length : payload),
      }),
    ]);
    client = await connect(stack.frontend, { events: stack.events, publish: stack.intake });
  });

  afterAll(async () => {
    await client?.close();
    await stack?.close();
  });

  it("refuses a request over messageBytesMax with DSAT_ERR_TOO_LARGE and keeps serving", async () => {
    const before = stack.orchestrator.status().counters.tooLarge;
    const big = "x".repeat(Math.floor(MESSAGE_BYTES_MAX * 1.5));
    const error = await client.request("size", big, { timeoutMs: 3000 }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RejectedError);
    expect((error as RejectedError).code).toBe("DSAT_ERR_TOO_LARGE");
    expect(stack.orchestrator.status().counters.tooLarge).toBe(before + 1);
    expect(await client.request("echo", { still: "serving" })).toEqual({ still: "serving" });
  });

  it("accepts a request a bit under the limit", async () => {
    const under = "y".repeat(MESSAGE_BYTES_MAX - 512);
    expect(await client.request("size", under)).toBe(under.length);
  });

  it("on the wire: a request of exactly messageBytesMax bytes passes, one byte more is TOO_LARGE", async () => {
    // A raw single dsat request (clientRequestFrames), independent of how the client frames requests.
    const peer = rawPeer(stack.frontend);
    try {
      const ask = async (correlation: number, total: number) => {
        await peer.socket.send(
          clientRequestFrames(
            "size",
            { c: correlation },
            encode(payloadForTotal("size", correlation, total)),
          ),
        );
        await until(() => peer.received.length > 0, 5000, `the reply to request ${correlation}`);
        const frames = peer.received.shift() as Buffer[];
        expect(frames.length).toBe(6);
        expect(frames[3].equals(DSAT_MARK)).toBe(true);
        return { header: decode(frames[4]) as { c: number; s: string }, result: decode(frames[5]) };
      };
      const fits = await ask(1, MESSAGE_BYTES_MAX);
      expect(fits.header).toMatchObject({ c: 1, s: "ok" });
      expect(typeof fits.result).toBe("number");
      const over = await ask(2, MESSAGE_BYTES_MAX + 1);
      expect(over.header).toMatchObject({ c: 2, s: "DSAT_ERR_TOO_LARGE" });
    } finally {
      peer.socket.close();
    }
  });

  it("answers an intake publish over the limit with a result event of DSAT_ERR_TOO_LARGE", async () => {
    const results = collect(client, "result.");
    const before = stack.orchestrator.status().counters.tooLarge;
    const big = Buffer.alloc(Math.floor(MESSAGE_BYTES_MAX * 1.5), 7);
    // PUB/SUB joins late: publish until the intake hears it and the event comes back.
    const end = Date.now() + 10_000;
    let attempt = 0;
    let event: OrchestratorEvent | undefined;
    while (event === undefined && Date.now() < end) {
      client.publish("echo", big, { id: `big-${attempt++}` });
      await sleep(100);
      event = results.find((candidate) => candidate.topic === "result.echo");
    }
    expect(event).toMatchObject({ topic: "result.echo", type: "echo", status: "DSAT_ERR_TOO_LARGE" });
    expect(String(event?.id)).toMatch(/^big-\d+$/);
    expect(stack.orchestrator.status().counters.tooLarge).toBeGreaterThan(before);
  });

  it("counts a message with more than framesMax frames as malformed", async () => {
    const framesMax = stack.orchestrator.config.limits.framesMax;
    const before = stack.orchestrator.status().counters.malformed.frontend;
    const peer = rawPeer(stack.frontend);
    try {
      const frames = [Buffer.alloc(0), Buffer.from("MDPC01"), Buffer.from("echo")];
      while (frames.length <= framesMax) frames.push(Buffer.from("x"));
      expect(frames.length).toBe(framesMax + 1);
      await peer.socket.send(frames);
      await until(
        () => stack.orchestrator.status().counters.malformed.frontend === before + 1,
        3000,
        "the malformed count",
      );
      await sleep(100);
      expect(peer.received).toEqual([]); // no reply to a malformed message
      expect(await client.request("echo", 1)).toBe(1);
    } finally {
      peer.socket.close();
    }
  });

  it("refuses a READY announcing more types than typesPerSatelliteMax with DISCONNECT", async () => {
    const peer = rawPeer(stack.frontend);
    try {
      const types = ["t0", "t1", "t2", "t3", "t4"]; // the limit is 4
      await peer.socket.send(
        workerReadyFrames("t0", {
          id: "too-many-types",
          types,
          location: [
            ["rack", "r9"],
            ["host", "h9"],
          ],
          capacity: 1,
          weight: 1,
        }),
      );
      await until(() => peer.received.length > 0, 3000, "a DISCONNECT");
      expect(peer.received.length).toBe(1);
      expect(isDisconnect(peer.received[0])).toBe(true);
      const ids = stack.orchestrator.status().satellites.map((satellite) => satellite.id);
      expect(ids).not.toContain("too-many-types");
      await expect(client.request("t0", 1)).rejects.toMatchObject({ code: "DSAT_ERR_UNKNOWN_TYPE" });
    } finally {
      peer.socket.close();
    }
  });

  it("refuses a READY whose location level is not in the hierarchy, with a satellite.refused event", async () => {
    const refused = collect(client, "satellite.refused");
    const peer = rawPeer(stack.frontend);
    try {
      const ready = workerReadyFrames("zone-type", {
        id: "bad-level",
        types: ["zone-type"],
        location: [
          ["zone", "z1"],
          ["host", "h9"],
        ],
        capacity: 1,
        weight: 1,
      });
      // The events SUB joins late: repeat the (always refused, stateless) READY until the event comes.
      const end = Date.now() + 10_000;
      while (refused.length === 0 && Date.now() < end) {
        await peer.socket.send(ready);
        await sleep(100);
      }
      expect(refused[0]).toMatchObject({ topic: "satellite.refused", satellite: "bad-level" });
      expect(String(refused[0].reason)).toContain("zone");
      expect(peer.received.length).toBeGreaterThan(0);
      expect(peer.received.every(isDisconnect)).toBe(true);
      const ids = stack.orchestrator.status().satellites.map((satellite) => satellite.id);
      expect(ids).not.toContain("bad-level");
    } finally {
      peer.socket.close();
    }
  });
});

describe("orchestrator jobsMax", () => {
  it("answers DSAT_ERR_OVERLOADED beyond jobsMax and serves again once jobs finish", async () => {
    const releases: Array<() => void> = [];
    const stack = await startStack({ jobsMax: 10 }, [
      defineSatellite({
        type: "hold",
        concurrency: 4,
        handle: (payload) => new Promise((resolve) => releases.push(() => resolve(payload))),
      }),
    ]);
    const client = await connect(stack.frontend);
    try {
      const held = Array.from({ length: 10 }, (_, n) => client.request("hold", n));
      await until(() => stack.orchestrator.status().jobs.inFlight === 10, 3000, "ten jobs held");
      await until(() => releases.length === 4, 3000, "the satellite to run four");
      const error = await client.request("hold", 10).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RejectedError);
      expect((error as DsatError).code).toBe("DSAT_ERR_OVERLOADED");
      // Release everything (queued jobs start as slots free up).
      const end = Date.now() + 5000;
      let released = 0;
      while (released < 10 && Date.now() < end) {
        while (releases.length > 0) {
          releases.shift()?.();
          released++;
        }
        await sleep(10);
      }
      expect(await Promise.all(held)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const after = client.request("hold", "after");
      await until(() => releases.length === 1, 3000, "the next job to run");
      releases.shift()?.();
      expect(await after).toBe("after");
      expect(stack.orchestrator.status().jobs.inFlight).toBe(0);
    } finally {
      for (const release of releases) release();
      await client.close();
      await stack.close();
    }
  });
});

// Regressions: bugs the fuzz and limits work found, fixed since.
describe("orchestrator limits: regressions", () => {
  it("a satellite reply over messageBytesMax fails the job at once and frees the slot", async () => {
    const stack = await startStack({ messageBytesMax: 4096 }, [
      defineSatellite({
        type: "echo",
        concurrency: 1,
        handle: (payload: unknown) => (payload === "big" ? Buffer.alloc(5000) : payload),
      }),
    ]);
    const client = await connect(stack.frontend);
    try {
      // Today: the reply is dropped as too large, the job waits for its deadline, and the
      // satellite's only slot stays taken for good.
      await expect(client.request("echo", "big", { timeoutMs: 800 })).rejects.toBeInstanceOf(DsatError);
      await until(() => stack.orchestrator.status().satellites[0]?.inFlight === 0, 500, "the slot to free");
      expect(await client.request("echo", "small", { timeoutMs: 800 })).toBe("small");
    } finally {
      await client.close();
      await stack.close();
    }
  });

  it("a plain MDP request with no body frames does not wedge the satellite", async () => {
    const stack = await startStack({}, [
      defineSatellite({ type: "echo", concurrency: 1, handle: (payload: unknown) => payload }),
    ]);
    const client = await connect(stack.frontend);
    const peer = rawPeer(stack.frontend);
    try {
      // ["", "MDPC01", "echo"]: the job goes out with raw: 0 and 7 frames, which the satellite's
      // parseJobRequest ignores (it wants >= 8); the slot is never released.
      await peer.socket.send([Buffer.alloc(0), Buffer.from("MDPC01"), Buffer.from("echo")]);
      await sleep(200);
      expect(await client.request("echo", "good", { timeoutMs: 800 })).toBe("good");
    } finally {
      peer.socket.close();
      await client.close();
      await stack.close();
    }
  });
});
