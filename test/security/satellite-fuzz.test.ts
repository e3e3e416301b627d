// Fuzz the other way round: a fake orchestrator (a ROUTER) throws thousands of random and mutated
// worker-side messages (REQUEST, REQUEST-BATCH, CANCEL, HEARTBEAT, garbage) at a real satellite,
// then more with DISCONNECTs among them. The satellite must not crash or drop its connection on
// its own, must answer every job it could read (exactly once), must come back after each
// DISCONNECT (and only then), and must still run a well-formed job afterwards. What it owes is
// worked out from each message as sent, by the protocol's own parsers: a REQUEST with an address
// is answered alone (an error when it cannot be read), each entry of a well-formed REQUEST-BATCH in
// a REPLY-BATCH. The fake orchestrator heartbeats, so silence never makes the satellite reconnect.
// Deterministic (fixed fast-check seed).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Router } from "zeromq";
import {
  BATCH_ENTRIES_MAX,
  decode,
  encode,
  type FrontendMessage,
  isJobEntry,
  type JobEntry,
  jobAddress,
  jobBatchFrames,
  jobRequestFrames,
  parseFrontend,
  parseJobRequest,
  splitBatch,
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

/** The command of a message the satellite acts on (one byte in the third frame), else null. */
function commandOf(frames: Frames): number | null {
  return frames.length >= 3 && frames[2].length === 1 ? frames[2][0] : null;
}

/**
 * The answers a satellite owes for one message: the addresses of its single replies (hex), and the
 * [id, attempt] of its REPLY-BATCH entries.
 */
function owedFor(frames: Frames): { replies: string[]; entries: string[] } {
  const none = { replies: [], entries: [] };
  const command = commandOf(frames);
  if (command === WorkerCommand.request) {
    // Read, it runs and is answered; unreadable but addressed, it is answered with an error.
    const job = parseJobRequest(frames);
    if (job !== null) return { replies: [job.address.toString("hex")], entries: [] };
    return frames.length >= 5 ? { replies: [frames[3].toString("hex")], entries: [] } : none;
  }
  if (command === WorkerCommand.requestBatch && frames.length === 5) {
    const batch = splitBatch(frames[3], frames[4], isJobEntry, (job) => job[3], BATCH_ENTRIES_MAX);
    if (typeof batch === "string") return none;
    return { replies: [], entries: batch.entries.map(([id, attempt]) => `${id}#${attempt}`) };
  }
  return none;
}

/** A multiset of strings. */
class Tally {
  readonly counts = new Map<string, number>();

  total = 0;

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total++;
  }

  /** What `this` holds more of than `other` (a few, for a readable failure). */
  beyond(other: Tally, max = 5): string[] {
    const out: string[] = [];
    for (const [key, count] of this.counts) {
      const surplus = count - (other.counts.get(key) ?? 0);
      const name = key === "" ? "(empty)" : key;
      if (surplus > 0) out.push(surplus === 1 ? name : `${name} x${surplus}`);
      if (out.length >= max) break;
    }
    return out;
  }
}

describe("satellite fuzz", () => {
  // Sampled before the satellite starts: drawing them takes a while, and a satellite left without
  // messages meanwhile would count it as the orchestrator's silence.
  const hostile = sample(fuzzed, SEED, MESSAGES);
  const amid = sample(fuzzed, SEED + 1, 2000);
  let orchestrator: Router;
  let satellite: SatelliteRuntime;
  let route: Buffer | null = null;
  const received: FrontendMessage[] = [];
  const satelliteLog: string[] = [];
  let readies = 0;
  let disconnectsSent = 0;
  let reading: Promise<void> = Promise.resolve();
  let heartbeats: ReturnType<typeof setInterval> | undefined;
  const owedReplies = new Tally();
  const owedEntries = new Tally();
  const answeredReplies = new Tally();
  const answeredEntries = new Tally();

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
        } else if (message.kind === "worker-reply") {
          answeredReplies.add(message.address.toString("hex"));
        } else if (message.kind === "worker-reply-batch") {
          for (const [id, attempt] of message.entries) answeredEntries.add(`${id}#${attempt}`);
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
        // Silence would take 3 s: far beyond any pause of this process between our heartbeats.
        heartbeatMs: 1000,
        reconnectMs: 50,
        reconnectMaxMs: 200,
        log: (line) => satelliteLog.push(line),
      },
    );
    await until(() => route !== null, 5000, "READY from the satellite");
    // An orchestrator's heartbeats (any message counts): the satellite never finds us silent.
    heartbeats = setInterval(() => {
      if (route !== null)
        orchestrator.send([route, ...workerCommandFrames(WorkerCommand.heartbeat)]).catch(() => {});
    }, 200);
  });

  afterAll(async () => {
    clearInterval(heartbeats);
    await satellite?.stop();
    orchestrator?.close();
    await reading;
  });

  const unanswered = () => [...owedReplies.beyond(answeredReplies), ...owedEntries.beyond(answeredEntries)];
  const unowed = () => [...answeredReplies.beyond(owedReplies), ...answeredEntries.beyond(owedEntries)];

  /** Waits until every answer owed so far has come back. */
  const allAnswered = () => until(() => unanswered().length === 0, 10_000, "an answer to every job sent");

  /**
   * Sends `messages` on the satellite's current connection, noting what each is owed. Before a
   * DISCONNECT the answers owed so far are awaited (so none is lost with the old connection), and
   * after it the satellite's READY on its new one.
   */
  const sendAll = async (messages: Frames[]) => {
    for (let i = 0; i < messages.length; i++) {
      const current = route as Buffer | null;
      if (current === null) throw new Error("the satellite never registered");
      const frames = messages[i];
      if (commandOf(frames) === WorkerCommand.disconnect) {
        await allAnswered();
        const readiesBefore = readies;
        await orchestrator.send([current, ...frames]);
        disconnectsSent++;
        await until(() => readies > readiesBefore, 5000, `READY again after DISCONNECT ${disconnectsSent}`);
        continue;
      }
      const owed = owedFor(frames);
      for (const address of owed.replies) owedReplies.add(address);
      for (const key of owed.entries) owedEntries.add(key);
      await orchestrator.send([current, ...frames]);
      if (i % 100 === 0) await sleep(0); // let the satellite (and our reader) keep up
    }
  };

  /** Reconnects the satellite made, by reason (from its log; libzmq's own reconnects included). */
  const reconnectReasons = () =>
    satelliteLog
      .filter((line) => line.startsWith("reconnecting (") || line.startsWith("connection back"))
      .map((line) =>
        line.startsWith("connection back")
          ? "libzmq reconnected"
          : line.slice("reconnecting (".length, line.lastIndexOf(") in ")),
      );

  /** Sends a well-formed job and checks its answer: ok, with the payload echoed. */
  const goodJob = async (id: string) => {
    const doneBefore = satellite.counters.done;
    const address = jobAddress(id, 1);
    await sendAll([
      jobRequestFrames(address, { id, type: "echo", a: 1, d: Date.now() + 10_000 }, [encode("still here")]),
    ]);
    await allAnswered();
    const reply = received.find(
      (message): message is Extract<FrontendMessage, { kind: "worker-reply" }> =>
        message.kind === "worker-reply" && message.address.equals(address),
    );
    expect(reply?.header).toEqual({ s: "ok" });
    expect(decode(reply?.body[0] ?? Buffer.alloc(0))).toBe("still here");
    expect(satellite.counters.done).toBe(doneBefore + 1);
  };

  it(`stays up through ${MESSAGES.toLocaleString("en-US")} hostile messages, answers each job it can read once, and still runs a good job`, async () => {
    const readiesBefore = readies;
    await sendAll(hostile);
    await allAnswered();
    // Owed answers are a real share of the traffic, not a handful.
    expect(owedReplies.total + owedEntries.total).toBeGreaterThan(MESSAGES / 10);
    await goodJob("good-1");
    // Nothing answered that was not owed (the good job's reply came after all of it).
    expect(unowed()).toEqual([]);
    // It left its connection only when told to (mutations can make a DISCONNECT), and came back each time.
    expect(reconnectReasons()).toEqual(Array(disconnectsSent).fill("the orchestrator asked to reconnect"));
    expect(readies - readiesBefore).toBe(disconnectsSent);
  });

  it("obeys DISCONNECTs among hostile messages: it comes back each time and still runs a good job", async () => {
    const reconnectsBefore = reconnectReasons().length;
    const sentBefore = disconnectsSent;
    for (let round = 0; round < 5; round++)
      await sendAll([...amid.slice(round * 400, round * 400 + 400), DISCONNECT]);
    await allAnswered();
    await goodJob("good-2");
    expect(unowed()).toEqual([]);
    expect(disconnectsSent - sentBefore).toBeGreaterThanOrEqual(5);
    // Each reconnect was a DISCONNECT obeyed, none for silence or a failed receive.
    expect(reconnectReasons().slice(reconnectsBefore)).toEqual(
      Array(disconnectsSent - sentBefore).fill("the orchestrator asked to reconnect"),
    );
  });
});
