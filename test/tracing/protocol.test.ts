// Trace context on the wire (docs/protocol.md): an optional last element of a client's batch entry
// and of a job entry, and `tp` in single request and job headers. Peers that predate it send the
// shorter forms, which still parse.
import { describe, expect, it } from "vitest";
import {
  BATCH_ENTRIES_MAX,
  clientBatchFrames,
  clientRequestFrames,
  encode,
  isJobEntry,
  isRequestEntry,
  isTraceparent,
  type JobEntry,
  type JobHeader,
  jobAddress,
  jobBatchFrames,
  jobRequestFrames,
  parseFrontend,
  parseJobRequest,
  type RequestEntry,
  splitBatch,
} from "../../src/protocol/index.ts";

const TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const FRAMES_MAX = 64;

describe("isTraceparent", () => {
  it("takes version 00 in lower-case hex with non-zero ids", () => {
    expect(isTraceparent(TP)).toBe(true);
    expect(isTraceparent(TP.replace(/-01$/, "-00"))).toBe(true); // not sampled: still carried
  });

  it.each([
    ["upper case", TP.toUpperCase()],
    ["another version", `01${TP.slice(2)}`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-b7ad6b7169203331-01`],
    ["an all-zero span id", `00-0af7651916cd43dd8448eb211c80319c-${"0".repeat(16)}-01`],
    ["a short trace id", "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01"],
    ["extra text", `${TP}-x`],
    ["not hex", TP.replace("0af7", "0ag7")],
    ["a number", 42],
    ["null", null],
  ])("refuses %s", (_, value) => {
    expect(isTraceparent(value)).toBe(false);
  });
});

describe("a client's batch entry", () => {
  const payload = encode("hi");
  const old: RequestEntry = ["echo", 1, payload.length, null, "j1", null];
  const traced: RequestEntry = ["echo", 1, payload.length, null, "j1", null, TP];

  it("parses with 6 elements (clients before trace context) and with a 7th", () => {
    expect(isRequestEntry(old)).toBe(true);
    expect(isRequestEntry(traced)).toBe(true);
    for (const entry of [old, traced]) {
      const message = parseFrontend(clientBatchFrames([entry], [payload]), FRAMES_MAX);
      expect(message).toMatchObject({ kind: "client-batch", entries: [entry] });
    }
  });

  it("keeps a 7th element it cannot use for the orchestrator to drop, rather than the batch", () => {
    // The router counts and drops it (tracesDropped); the job runs (test/tracing/traces.test.ts).
    expect(isRequestEntry([...old, "not a traceparent"])).toBe(true);
    expect(isRequestEntry([...old, 7])).toBe(true);
    // An 8th is inputs (docs/locality.md): bad ones refuse their job, not the batch; later
    // elements are ignored up to ENTRY_FIELDS_MAX (10), so the next extension needs no care.
    expect(isRequestEntry([...traced, "more"])).toBe(true);
    expect(isRequestEntry([...traced, null, 1, 2])).toBe(true);
    expect(isRequestEntry([...traced, null, 1, 2, 3])).toBe(false);
  });
});

describe("a single request's header", () => {
  it("parses without tp and with it", () => {
    const plain = parseFrontend(clientRequestFrames("echo", { c: 1 }, encode("x")), FRAMES_MAX);
    expect(plain).toMatchObject({ kind: "client-request", header: { c: 1 } });
    expect(plain.kind === "client-request" && plain.header !== null && "tp" in plain.header).toBe(false);
    const traced = parseFrontend(clientRequestFrames("echo", { c: 1, tp: TP }, encode("x")), FRAMES_MAX);
    expect(traced).toMatchObject({ kind: "client-request", header: { c: 1, tp: TP } });
  });
});

describe("a job entry", () => {
  const old: JobEntry = ["j1", 1, "echo", 3, 1, 1_000, null, null];

  it("parses with 8 elements (untraced jobs, orchestrators before trace context) and with a 9th", () => {
    expect(isJobEntry(old)).toBe(true);
    expect(isJobEntry([...old, TP])).toBe(true);
    expect(isJobEntry([...old, null])).toBe(true);
  });

  it("refuses a 9th element that is not a short string, and a 10th that is not inputs' bytes", () => {
    expect(isJobEntry([...old, 42])).toBe(false);
    expect(isJobEntry([...old, "x".repeat(56)])).toBe(false);
    expect(isJobEntry([...old, TP, null])).toBe(true); // the 10th: inputs (docs/locality.md)
    expect(isJobEntry([...old, TP, 42])).toBe(false);
    expect(isJobEntry([...old, TP, null, null])).toBe(false);
  });

  it("passes the satellite's check before decoding with 10 elements, not with 11", () => {
    const read = (entry: unknown[]) => {
      const frames = jobBatchFrames([entry as JobEntry], [encode("hi")]);
      return splitBatch(frames[3], frames[4], isJobEntry, (job) => job[3], BATCH_ENTRIES_MAX);
    };
    expect(read([...old, TP])).toMatchObject({ entries: [[...old, TP]] });
    expect(read([...old, TP, null, null])).toBe("batch entries has a array of 11 items, more than 10");
  });
});

describe("a single job header", () => {
  const request = (header: Record<string, unknown>) =>
    jobRequestFrames(jobAddress("j1", 1), header as unknown as JobHeader, [encode("x")]);

  it("gives the satellite a valid tp and leaves out an invalid one", () => {
    expect(parseJobRequest(request({ id: "j1", type: "echo", a: 1 }))?.header).toEqual({
      id: "j1",
      type: "echo",
      a: 1,
    });
    expect(parseJobRequest(request({ id: "j1", type: "echo", a: 1, tp: TP }))?.header.tp).toBe(TP);
    const bad = parseJobRequest(request({ id: "j1", type: "echo", a: 1, tp: "bogus" }));
    expect(bad?.header).toEqual({ id: "j1", type: "echo", a: 1 });
  });
});
