// Job traces end to end (docs/observability.md, "Traces"): a client request under an active span
// becomes spans of the orchestrator (accept, place, attempt, result) and the satellite (run), all
// in the caller's trace. Real sockets on loopback; one OpenTelemetry SDK with an in-memory exporter
// for this test process, which runs the orchestrator, the satellites and the client.
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import {
  BATCH_ENTRIES_MAX,
  clientBatchFrames,
  encode,
  isReplyEntry,
  type RequestEntry,
  splitBatch,
} from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { idOf, ms, parentOf, registerSdk } from "./sdk.ts";

const exporter = registerSdk();
const tracer = trace.getTracer("test");
let orchestrator: Orchestrator;
let frontend: string;
const satellites: SatelliteRuntime[] = [];
let client: Client;

beforeAll(async () => {
  [frontend] = await freeEndpoints(1);
  orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["host"],
    tracker: { backoffBaseMs: 10 },
    log: () => {},
  });
  await orchestrator.start();
  const echo = defineSatellite({
    type: "echo",
    concurrency: 4,
    // The handler's own span must nest under the job's dsat.run span.
    handle: (payload, context) =>
      tracer.startActiveSpan("handler", (span) => {
        span.setAttribute("traceparent", context.traceparent ?? "");
        span.end();
        return payload;
      }),
  });
  // Fails every job's first attempt: the retry runs on the other satellite.
  const flaky = defineSatellite({
    type: "flaky",
    concurrency: 4,
    handle: (payload, context) => {
      if (context.attempt === 1) throw new Error("first attempts fail");
      return payload;
    },
  });
  for (const [id, definition] of [
    ["echo-1", echo],
    ["flaky-1", flaky],
    ["flaky-2", flaky],
  ] as const)
    satellites.push(
      await runSatellite(definition, { endpoint: frontend, id, location: [["host", id]], log: () => {} }),
    );
  await until(() => orchestrator.status().satellites.length === 3, 10_000, "the satellites register");
  client = await connect(frontend, { timeoutMs: 10_000 });
}, 30_000);

afterAll(async () => {
  await client?.close();
  for (const satellite of satellites) await satellite.stop();
  await orchestrator?.stop();
});

/** Runs `request` under a new active span; returns that span's id and trace id. */
async function underSpan(
  name: string,
  request: () => Promise<unknown>,
): Promise<{ id: string; traceId: string }> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      await request();
    } finally {
      span.end();
    }
    return { id: span.spanContext().spanId, traceId: span.spanContext().traceId };
  });
}

function spansOf(jobId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.attributes["dsat.job.id"] === jobId);
}

function named(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

function one(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = named(spans, name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0];
}

/** Waits for the orchestrator's last span of the job (it leaves before the reply, but to be sure). */
async function spansOfFinished(jobId: string): Promise<ReadableSpan[]> {
  await until(() => named(spansOf(jobId), "dsat.result").length === 1, 5_000, `dsat.result of ${jobId}`);
  return spansOf(jobId);
}

// The orchestrator's times are whole ms of Date.now(); the SDK's clock has its own origin. Within 2 ms.
const CLOCKS_MS = 2;

describe("job traces", () => {
  it("a traced request shows accept, place, attempt, run and result in the caller's trace", async () => {
    const caller = await underSpan("caller", () => client.request("echo", "hi", { id: "traced-1" }));
    const spans = await spansOfFinished("traced-1");
    const request = one(spans, "dsat.request echo");
    const accept = one(spans, "dsat.accept");
    const place = one(spans, "dsat.place");
    const attempt = one(spans, "dsat.attempt");
    const run = one(spans, "dsat.run echo");
    const result = one(spans, "dsat.result");
    const handler = exporter
      .getFinishedSpans()
      .find((span) => span.name === "handler" && parentOf(span) === idOf(run));
    expect(handler, "the handler's span nests under dsat.run").toBeDefined();

    for (const span of [...spans, handler as ReadableSpan])
      expect(span.spanContext().traceId).toBe(caller.traceId);
    expect(parentOf(request)).toBe(caller.id);
    // Every span of the job is a child of the client's span.
    for (const span of [accept, place, attempt, run, result]) expect(parentOf(span)).toBe(idOf(request));

    expect(request.kind).toBe(SpanKind.CLIENT);
    expect(attempt.kind).toBe(SpanKind.PRODUCER);
    expect(run.kind).toBe(SpanKind.CONSUMER);
    expect(request.status.code).toBe(SpanStatusCode.OK);
    expect(run.status.code).toBe(SpanStatusCode.OK);
    expect(place.attributes).toMatchObject({
      "dsat.satellite": "echo-1",
      "dsat.attempt": 1,
      "dsat.candidates": 1,
    });
    expect(attempt.attributes).toMatchObject({
      "dsat.satellite": "echo-1",
      "dsat.attempt": 1,
      "dsat.outcome": "ok",
    });
    expect(result.attributes).toMatchObject({ "dsat.status": "ok", "dsat.job.type": "echo" });
    expect(run.attributes).toMatchObject({ "dsat.satellite": "echo-1", "dsat.outcome": "ok" });
    expect(handler?.attributes.traceparent).toBe(`00-${caller.traceId}-${idOf(request)}-01`);

    // In order: the orchestrator's spans follow one another; all within the request.
    const order = [accept, place, attempt, result];
    for (let i = 1; i < order.length; i++)
      expect(ms(order[i].startTime)).toBeGreaterThanOrEqual(ms(order[i - 1].endTime));
    expect(ms(accept.startTime)).toBeGreaterThanOrEqual(ms(request.startTime) - CLOCKS_MS);
    expect(ms(run.startTime)).toBeGreaterThanOrEqual(ms(attempt.startTime) - CLOCKS_MS);
    expect(ms(run.endTime)).toBeLessThanOrEqual(ms(attempt.endTime) + CLOCKS_MS);
    expect(ms(result.endTime)).toBeLessThanOrEqual(ms(request.endTime) + CLOCKS_MS);
  });

  it("a retried job shows two attempts, the first failed, each with its own place and run", async () => {
    await underSpan("caller", () => client.request("flaky", "x", { id: "traced-retry" }));
    const spans = await spansOfFinished("traced-retry");
    const attempts = named(spans, "dsat.attempt").sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(
      attempts.map((span) => [span.attributes["dsat.attempt"], span.attributes["dsat.outcome"]]),
    ).toEqual([
      [1, "failed"],
      [2, "ok"],
    ]);
    expect(attempts[0].attributes["dsat.satellite"]).not.toBe(attempts[1].attributes["dsat.satellite"]);
    const places = named(spans, "dsat.place").sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(places.map((span) => span.attributes["dsat.attempt"])).toEqual([1, 2]);
    // The retry's placing starts when the first attempt ended (it includes the backoff).
    expect(ms(places[1].startTime)).toBe(ms(attempts[0].endTime));
    const runs = named(spans, "dsat.run flaky");
    expect(runs.map((span) => span.status.code).sort()).toEqual(
      [SpanStatusCode.OK, SpanStatusCode.ERROR].sort(),
    );
    expect(one(spans, "dsat.result").attributes["dsat.status"]).toBe("ok");
    one(spans, "dsat.accept");
  });

  it("an untraced request makes no span anywhere", async () => {
    await client.request("echo", "plain", { id: "untraced-1" });
    // A traced job sent after it: once its spans are in, the untraced one's would be too.
    await underSpan("caller", () => client.request("echo", "after", { id: "traced-after" }));
    await spansOfFinished("traced-after");
    expect(spansOf("untraced-1")).toEqual([]);
    // Its handler's own span is a root: no dsat.run around it.
    const untracedHandlers = exporter
      .getFinishedSpans()
      .filter((span) => span.name === "handler" && span.attributes.traceparent === "");
    expect(untracedHandlers.length).toBe(1);
    expect(parentOf(untracedHandlers[0])).toBeUndefined();
  });

  it("a malformed traceparent is dropped and counted; the job runs untraced", async () => {
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(frontend);
    try {
      const payload = encode("bad");
      const entries: RequestEntry[] = [
        ["echo", 1, payload.length, null, "bad-tp-1", null, "00-not-a-traceparent"],
        ["echo", 2, payload.length, null, "bad-tp-2", null, 42],
        ["echo", 3, payload.length, null, "bad-tp-3", null, `00-${"0".repeat(32)}-b7ad6b7169203331-01`],
      ];
      const dropped = orchestrator.status().counters.tracesDropped;
      await dealer.send(clientBatchFrames(entries, [payload, payload, payload]));
      const replies: Array<[number, string]> = [];
      while (replies.length < 3) {
        const frames = await dealer.receive();
        const batch = splitBatch(frames[4], frames[5], isReplyEntry, (entry) => entry[3], BATCH_ENTRIES_MAX);
        if (typeof batch === "string") throw new Error(batch);
        for (const [correlation, , status] of batch.entries) replies.push([correlation, status]);
      }
      expect(replies.sort()).toEqual([
        [1, "ok"],
        [2, "ok"],
        [3, "ok"],
      ]);
      expect(orchestrator.status().counters.tracesDropped).toBe(dropped + 3);
      for (const id of ["bad-tp-1", "bad-tp-2", "bad-tp-3"]) expect(spansOf(id)).toEqual([]);
    } finally {
      dealer.close();
    }
  });
});
