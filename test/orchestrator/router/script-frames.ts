// The messages a script's peers send, built with src/protocol's builders from a command's words:
// satellites' READY, ACK and REPLY, clients' requests, cancels and plain MDP requests, intake jobs.
import {
  ackBatchFrames,
  clientBatchFrames,
  clientRequestFrames,
  DSAT_MARK,
  EMPTY,
  encode,
  type JobReplyEntry,
  jobReplyBatchFrames,
  jobReplyFrames,
  loadHeartbeatFrames,
  MDP_CLIENT,
  parseJobAddress,
  type RequestEntry,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../../../src/protocol/index.ts";
import { type Args, jsonOrString } from "./script-args.ts";

/** A satellite's READY from `ready NAME [options]` (see script.ts), and what it announced. */
export function readyMessage(
  name: string,
  args: Args,
  hierarchy: readonly string[],
): { id: string; plain: boolean; batch: boolean; heartbeatMs: number | undefined; frames: Buffer[] } {
  const known = new Set(["types", "capacity", "weight", "heartbeat", "incarnation", "id", ...hierarchy]);
  for (const key of args.keys()) if (!known.has(key)) throw new Error(`ready: unknown option ${key}`);
  const types = (args.text("types") ?? "echo").split(",");
  const plain = args.has("plain");
  const batch = args.has("batch");
  const location: Array<[string, string]> = [];
  for (const level of hierarchy) {
    const bucket = args.text(level);
    if (bucket !== undefined) location.push([level, bucket]);
  }
  const heartbeatMs = args.number("heartbeat");
  const incarnation = args.text("incarnation");
  // The registry names a plain worker after its routing id (the script's name, as bytes).
  const id = plain ? `mdp-${Buffer.from(name).toString("hex")}` : (args.text("id") ?? name);
  const frames = plain
    ? workerReadyFrames(types[0])
    : workerReadyFrames(types[0], {
        id,
        types,
        location,
        capacity: args.number("capacity") ?? 1,
        weight: args.number("weight") ?? 1,
        ...(batch ? { batch: true } : {}),
        ...(args.has("inputs") ? { inputs: true } : {}),
        ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
        ...(incarnation !== undefined ? { incarnation } : {}),
      });
  return { id, plain, batch, heartbeatMs, frames };
}

/** ACK for one `JOB#A`, one ACK-BATCH for several. */
export function ackMessage(tokens: readonly string[]): Buffer[] {
  if (tokens.length === 0) throw new Error("ack: expected SAT JOB#ATTEMPT...");
  if (tokens.length === 1) return workerCommandFrames(WorkerCommand.ack, Buffer.from(tokens[0]));
  const flat: Array<string | number> = [];
  for (const token of tokens) {
    const parsed = parseJobAddress(Buffer.from(token));
    if (parsed === null) throw new Error(`ack: "${token}" is not JOB#ATTEMPT`);
    flat.push(parsed.jobId, parsed.attempt);
  }
  return ackBatchFrames(flat);
}

/**
 * Replies (`JOB#A ok [JSON | raw frame...]`, `JOB#A error [fatal|retryable] [DSAT_ERR_X] message`)
 * as a satellite of that kind sends them: one REPLY-BATCH from a batch satellite, else one REPLY
 * each (a plain worker's in the plain convention: its frames, or [DSAT_ERR_<CODE>, message]).
 */
export function replyMessages(
  kind: { plain: boolean; batch: boolean },
  lines: readonly string[][],
): Buffer[][] {
  const replies = lines.map(parseReply);
  if (kind.batch && !kind.plain) {
    const entries: JobReplyEntry[] = [];
    const payloads: Buffer[] = [];
    for (const { token, ok, value, message, retryable } of replies) {
      const parsed = parseJobAddress(Buffer.from(token)) as { jobId: string; attempt: number };
      const payload = encode(ok ? value : null);
      entries.push([
        parsed.jobId,
        parsed.attempt,
        ok ? 0 : 1,
        payload.length,
        ok ? null : message,
        retryable,
      ]);
      payloads.push(payload);
    }
    return [jobReplyBatchFrames(entries, payloads)];
  }
  return replies.map(({ token, ok, raw, value, frames, code, message, retryable }) => {
    const address = Buffer.from(token);
    const rawFrames = frames.map((frame) => Buffer.from(frame));
    if (kind.plain)
      return workerCommandFrames(
        WorkerCommand.reply,
        address,
        EMPTY,
        ...(ok ? rawFrames : [Buffer.from(code), Buffer.from(message)]),
      );
    return jobReplyFrames(
      address,
      ok ? { s: "ok" } : { s: "error", e: message, ...(retryable !== null ? { r: retryable } : {}) },
      ok && raw ? rawFrames : encode(ok ? value : null),
    );
  });
}

interface ParsedReply {
  token: string;
  ok: boolean;
  /** `ok raw A B`: raw result frames (a dsat satellite answering a raw job, as a plain worker does). */
  raw: boolean;
  value: unknown;
  /** The result's words as raw frames (plain workers, raw jobs). */
  frames: string[];
  code: string;
  message: string;
  retryable: boolean | null;
}

function parseReply(line: readonly string[]): ParsedReply {
  const [token, status, ...rest] = line;
  if (token === undefined || parseJobAddress(Buffer.from(token)) === null)
    throw new Error(`reply: expected JOB#ATTEMPT, got ${token}`);
  if (status === "ok") {
    const raw = rest[0] === "raw";
    const words = raw ? rest.slice(1) : rest;
    return {
      token,
      ok: true,
      raw,
      value: words.length === 0 ? null : jsonOrString(words.join(" ")),
      frames: words.map((word) => String(jsonOrString(word))),
      code: "",
      message: "",
      retryable: null,
    };
  }
  if (status !== "error") throw new Error(`reply: expected ok or error, got ${status}`);
  let retryable: boolean | null = null;
  let code = "DSAT_ERR_FAILED";
  const words: string[] = [];
  for (const word of rest) {
    if (word === "fatal") retryable = false;
    else if (word === "retryable") retryable = true;
    else if (words.length === 0 && /^DSAT_ERR_[A-Z_]+$/.test(word)) code = word;
    else words.push(word);
  }
  const message = words.join(" ") || "boom";
  return { token, ok: false, raw: false, value: null, frames: [], code, message, retryable };
}

/**
 * A dsat client's request: one batch of `lines` (`TYPE [id=] [key=] [payload=] [timeout=] [c=] [tp=]`),
 * or with `single` one single request. `correlation` hands out the client's next correlation.
 */
export function requestMessage(
  lines: readonly Args[],
  options: { single: boolean; session: string | undefined },
  correlation: (given: number | undefined) => number,
): Buffer[] {
  const entries: RequestEntry[] = [];
  const payloads: Buffer[] = [];
  for (const line of lines) {
    const payload = encode(line.value("payload") ?? "hi");
    const entry: RequestEntry = [
      line.at(0, "a job type"),
      correlation(line.number("c")),
      payload.length,
      line.number("timeout") ?? null,
      line.text("id") ?? null,
      line.text("key") ?? null,
    ];
    // A traceparent: the 7th element (clients before trace context send 6).
    const traceparent = line.text("tp");
    if (traceparent !== undefined) entry.push(traceparent);
    // Inputs: the 8th element, MessagePack bytes, not checked here (the router judges them).
    const inputs = line.text("inputs");
    if (inputs !== undefined) entry.push(traceparent ?? null, encode(scriptInputs(inputs)));
    entries.push(entry);
    payloads.push(payload);
  }
  if (options.single) {
    if (entries.length !== 1) throw new Error("request single: one request only");
    const [type, c, , timeout, id, key, traceparent] = entries[0];
    const header = {
      c,
      ...(id !== null ? { id } : {}),
      ...(key !== null ? { k: key } : {}),
      ...(timeout !== null ? { t: timeout } : {}),
      ...(traceparent !== undefined ? { tp: traceparent } : {}),
    };
    return clientRequestFrames(type, header, payloads[0]);
  }
  return clientBatchFrames(entries, payloads, sessionToken(options.session));
}

/** A `dsat.cancel` for job `id`: a batch entry, or a single request. */
export function cancelMessage(
  id: string,
  correlation: number,
  options: { single: boolean; session: string | undefined },
): Buffer[] {
  if (options.single) return clientRequestFrames("dsat.cancel", { c: correlation, id }, encode(null));
  return clientBatchFrames(
    [["dsat.cancel", correlation, 0, null, id, null]],
    [EMPTY],
    sessionToken(options.session),
  );
}

/** A plain 7/MDP request: each word one frame, as text. */
export function mdpMessage(service: string, body: readonly string[]): Buffer[] {
  return [
    EMPTY,
    MDP_CLIENT,
    Buffer.from(service),
    ...body.map((word) => Buffer.from(String(jsonOrString(word)))),
  ];
}

/**
 * A job on the intake: [type, payload], or [type, header, payload] with an id or key, or
 * [type, header, payload, inputs] with `inputs=` (MessagePack bytes, not checked here).
 */
export function intakeMessage(args: Args): Buffer[] {
  const type = args.at(0, "a job type");
  const id = args.text("id");
  const key = args.text("key");
  const inputs = args.text("inputs");
  const payload = encode(args.value("payload") ?? "hi");
  const header =
    id === undefined && key === undefined && inputs === undefined
      ? []
      : [encode({ ...(id !== undefined ? { id } : {}), ...(key !== undefined ? { k: key } : {}) })];
  const tail = inputs === undefined ? [] : [encode(scriptInputs(inputs))];
  return [Buffer.from(type), ...header, payload, ...tail];
}

/**
 * A dsat client's titanic.request: the job type, then a dsat single request's frames (marker,
 * header `{ c, k?, in? }`, MessagePack payload). `badheader`: a header without `c`.
 */
export function titanicMessage(args: Args): Buffer[] {
  const key = args.text("key");
  const inputs = args.text("inputs");
  const header = {
    ...(args.has("badheader") ? {} : { c: 0 }),
    ...(key !== undefined ? { k: key } : {}),
    ...(inputs !== undefined ? { in: encode(scriptInputs(inputs)) } : {}),
  };
  return [
    EMPTY,
    MDP_CLIENT,
    Buffer.from("titanic.request"),
    Buffer.from(args.at(1, "a job type")),
    DSAT_MARK,
    encode(header),
    encode(args.value("payload") ?? "hi"),
  ];
}

/** The session token (16-64 bytes) a script names, or none. */
function sessionToken(name: string | undefined): Buffer | undefined {
  return name === undefined ? undefined : Buffer.from(`session-${name}`.padEnd(16, "."));
}

/** `load SAT [inFlight=N] [queued=N] [lag=MS] [errors=RATE] [bad]`: a HEARTBEAT with a load (bad: a string for inFlight). */
export function loadMessage(args: Args): Buffer[] {
  if (args.has("bad"))
    return [...workerCommandFrames(WorkerCommand.heartbeat), DSAT_MARK, encode({ inFlight: "lots" })];
  return loadHeartbeatFrames({
    inFlight: args.number("inFlight") ?? 0,
    queued: args.number("queued") ?? 0,
    lagMs: args.number("lag") ?? 0,
    errorRate: args.number("errors") ?? 0,
  });
}

/** `inputs=a,b;c`: inputs separated by `;`, each input's replica addresses by `,`. */
export function scriptInputs(text: string): string[][] {
  return text.split(";").map((input) => input.split(","));
}
