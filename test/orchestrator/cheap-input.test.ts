// Cheap input stays cheap (issue 12, item 4): no single message under messageBytesMax may cost the
// orchestrator's event loop more than a few ms, whatever MessagePack it carries and wherever. Before
// the shape checks (src/protocol/shape.ts), a 1 MiB request header of 90,000 keys cost msgpackr
// ~40-140 ms, and a client queueing hundreds of them stalled the loop for seconds (satellites
// missed heartbeats). Part 1 times every decode site on a fixed set of hostile shapes (process.hrtime,
// generous bounds so the test cannot flake). Part 2 sends a burst of them through real sockets to
// a running orchestrator and measures its event-loop delay.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Publisher } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { parseControlRequest } from "../../src/orchestrator/control.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import {
  BATCH_ENTRIES_MAX,
  DEFAULT_LIMITS,
  DSAT_MARK,
  EMPTY,
  encode,
  isReplyEntry,
  MDP_CLIENT,
  MDP_WORKER,
  parseFrontend,
  parseJobRequest,
  splitBatch,
  WorkerCommand,
} from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { hostileValues } from "../protocol/hostile.ts";

/** A message may cost this much to refuse; the 90k-key header cost ~40-140 ms here. */
const MESSAGE_MS_MAX = 50;
const MESSAGE_BYTES_MAX = DEFAULT_LIMITS.messageBytesMax;
/** Room for the other frames of the message around the hostile one. */
const VALUE_BYTES_MAX = MESSAGE_BYTES_MAX - 256;
const FRAMES_MAX = DEFAULT_LIMITS.framesMax;

const ADDRESS = Buffer.from("job-1#1");
const command = (code: number) => Buffer.from([code]);

/** Every place a peer's MessagePack is decoded, with `value` in it; true when the input was refused. */
const decodeSites: Array<[string, (value: Buffer) => boolean]> = [
  [
    "request header",
    (v) =>
      parseFrontend([EMPTY, MDP_CLIENT, Buffer.from("echo"), DSAT_MARK, v, encode(null)], FRAMES_MAX).kind ===
      "malformed",
  ],
  [
    "READY hello",
    (v) =>
      parseFrontend(
        [EMPTY, MDP_WORKER, command(WorkerCommand.ready), Buffer.from("echo"), DSAT_MARK, v],
        FRAMES_MAX,
      ).kind === "malformed",
  ],
  [
    "REPLY header",
    (v) =>
      parseFrontend(
        [EMPTY, MDP_WORKER, command(WorkerCommand.reply), ADDRESS, EMPTY, DSAT_MARK, v, encode(null)],
        FRAMES_MAX,
      ).kind === "malformed",
  ],
  [
    "PROGRESS value",
    (v) =>
      parseFrontend([EMPTY, MDP_WORKER, command(WorkerCommand.progress), ADDRESS, v], FRAMES_MAX).kind ===
      "malformed",
  ],
  [
    "client batch entries",
    (v) =>
      parseFrontend(
        [EMPTY, MDP_CLIENT, Buffer.from("dsat.batch"), Buffer.from("dsat/1b"), v, EMPTY],
        FRAMES_MAX,
      ).kind === "malformed",
  ],
  [
    "REPLY-BATCH entries",
    (v) =>
      parseFrontend([EMPTY, MDP_WORKER, command(WorkerCommand.replyBatch), v, EMPTY], FRAMES_MAX).kind ===
      "malformed",
  ],
  [
    "ACK-BATCH entries",
    (v) =>
      parseFrontend([EMPTY, MDP_WORKER, command(WorkerCommand.ackBatch), v], FRAMES_MAX).kind === "malformed",
  ],
  ["control request", (v) => parseControlRequest([Buffer.from("peer"), v]) === null],
  [
    "job header (satellite)",
    (v) =>
      parseJobRequest([
        EMPTY,
        MDP_WORKER,
        command(WorkerCommand.request),
        ADDRESS,
        EMPTY,
        DSAT_MARK,
        v,
        encode(null),
      ]) === null,
  ],
  [
    "reply batch entries (client)",
    (v) => typeof splitBatch(v, EMPTY, isReplyEntry, (entry) => entry[3], BATCH_ENTRIES_MAX) === "string",
  ],
];

function timeMs(action: () => void): number {
  const start = process.hrtime.bigint();
  action();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

describe("message shapes: every decode site refuses hostile MessagePack in a few ms", () => {
  const values = hostileValues(VALUE_BYTES_MAX);

  for (const [site, refuses] of decodeSites) {
    it(`${site}`, () => {
      const slow: string[] = [];
      for (const [shape, value] of values) {
        expect(value.length).toBeLessThanOrEqual(VALUE_BYTES_MAX);
        let refused = false;
        const ms = timeMs(() => {
          refused = refuses(value);
        });
        expect(refused, `${site}: ${shape} was accepted`).toBe(true);
        if (ms > MESSAGE_MS_MAX) slow.push(`${shape}: ${ms.toFixed(1)} ms`);
      }
      expect(slow, `${site}: slower than ${MESSAGE_MS_MAX} ms per message`).toEqual([]);
    });
  }

  it("a burst of 100 90k-key request headers costs well under a second", () => {
    const [, header] = values[0];
    const frames = [EMPTY, MDP_CLIENT, Buffer.from("echo"), DSAT_MARK, header, encode(null)];
    const ms = timeMs(() => {
      for (let i = 0; i < 100; i++) parseFrontend(frames, FRAMES_MAX);
    });
    expect(ms).toBeLessThan(500);
  });
});

describe("a running orchestrator under a burst of hostile headers", () => {
  const BURST = 40;
  let orchestrator: Orchestrator;
  let satellite: SatelliteRuntime;
  let client: Client;
  let endpoints: { frontend: string; intake: string; control: string };
  const header = hostileValues(VALUE_BYTES_MAX)[0][1];

  beforeAll(async () => {
    const [frontend, intake, control] = await freeEndpoints(3);
    endpoints = { frontend, intake, control };
    orchestrator = new Orchestrator({
      ...endpoints,
      hierarchy: ["host"],
      types: { echo: {} },
      limits: { heartbeatMs: 200 },
      log: () => {},
    });
    await orchestrator.start();
    satellite = (await runSatellite(defineSatellite({ type: "echo", handle: (payload) => payload }), {
      endpoint: frontend,
      id: "s1",
      location: [["host", "h1"]],
      heartbeatMs: 200,
      log: () => {},
    })) as SatelliteRuntime;
    await until(() => orchestrator.status().satellites.length === 1, 5000, "the satellite to register");
    client = await connect(frontend, { timeoutMs: 5000 });
    expect(await client.request("echo", "warm")).toBe("warm");
  });

  afterAll(async () => {
    await client?.close();
    await satellite?.stop();
    await orchestrator?.stop();
  });

  /** The largest event-loop delay while `send` runs and the orchestrator counts `expected` malformed. */
  async function loopDelayMs(
    send: () => Promise<void>,
    counted: () => number,
    expected: number,
  ): Promise<number> {
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    await send();
    await until(() => counted() >= expected, 20_000, `${expected} malformed messages counted`);
    histogram.disable();
    return histogram.max / 1e6;
  }

  it("frontend: request headers are refused without stalling the loop, and work goes on", async () => {
    const before = orchestrator.counters.malformed.frontend;
    const peer = new Dealer({ linger: 0, sendHighWaterMark: 0 });
    peer.connect(endpoints.frontend);
    const delayMs = await loopDelayMs(
      async () => {
        for (let i = 0; i < BURST; i++)
          await peer.send([EMPTY, MDP_CLIENT, Buffer.from("echo"), DSAT_MARK, header, encode(i)]);
      },
      () => orchestrator.counters.malformed.frontend,
      before + BURST,
    );
    peer.close();
    expect(delayMs).toBeLessThan(500);
    expect(await client.request("echo", "after")).toBe("after");
    expect(orchestrator.counters.satellitesLost).toBe(0);
  });

  it("intake: headers are refused without stalling the loop", async () => {
    const before = orchestrator.counters.malformed.intake;
    const publisher = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    publisher.connect(endpoints.intake);
    const delayMs = await loopDelayMs(
      async () => {
        // Until the XSUB's subscription reaches the publisher, it drops: send until one is counted.
        const deadline = Date.now() + 5000;
        while (orchestrator.counters.malformed.intake === before && Date.now() < deadline) {
          await publisher.send([Buffer.from("echo"), header, encode(0)]);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        for (let i = 0; i < BURST; i++) await publisher.send([Buffer.from("echo"), header, encode(i)]);
      },
      () => orchestrator.counters.malformed.intake,
      before + BURST,
    );
    publisher.close();
    expect(delayMs).toBeLessThan(500);
  });

  it("control: requests (at most 64 KiB there) are refused without stalling the loop", async () => {
    const before = orchestrator.counters.malformed.control;
    const request = hostileValues(65_000)[0][1];
    const peer = new Dealer({ linger: 0, sendHighWaterMark: 0 });
    peer.connect(endpoints.control);
    const delayMs = await loopDelayMs(
      async () => {
        for (let i = 0; i < BURST; i++) await peer.send(request);
      },
      () => orchestrator.counters.malformed.control,
      before + BURST,
    );
    peer.close();
    expect(delayMs).toBeLessThan(500);
  });
});
