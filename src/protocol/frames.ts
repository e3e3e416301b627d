// The wire protocol (docs/protocol.md): 7/MDP 0.1 + 8/MMI frames, with dsat's extensions carried
// inside body frames after the "dsat/1" marker. Parsing is total: any frames give either a message
// or { kind: "malformed", reason }, never an exception.

import {
  DSAT_BATCH_MARK,
  isJobReplyEntry,
  isRequestEntry,
  type JobReplyEntry,
  type RequestEntry,
  splitBatch,
} from "./batch.ts";
import { decode, encode } from "./codec.ts";
import {
  DSAT_MARK,
  EMPTY,
  type ErrorCodeName,
  MDP_CLIENT,
  MDP_WORKER,
  WorkerCommand,
  type WorkerCommandCode,
} from "./constants.ts";
import { BATCH_ENTRIES_MAX, type InputLimits, type InputShapes, inputShapes } from "./input-shapes.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { parseLoad, type SatelliteLoad } from "./load.ts";
import { type Shape, shapeProblem } from "./shape.ts";
import { isTraceparent } from "./trace-context.ts";

export * from "./constants.ts";

const COMMAND_FRAMES = new Map<number, Buffer>(
  Object.values(WorkerCommand).map((code) => [code, Buffer.from([code])] as const),
);

/** Longest client session token (the 7th frame of a batch). */
export const SESSION_BYTES_MAX = 64;

export { BATCH_ENTRIES_MAX };

/** Header of a dsat client request (frame after the marker). */
export interface RequestHeader {
  /** Correlation id chosen by the client; echoed in the reply. */
  c: number;
  /** Job id (the orchestrator assigns one when absent). */
  id?: string;
  /** Placement key; the job id when absent. */
  k?: string;
  /** Deadline relative to receipt, in ms. */
  t?: number;
  /** W3C traceparent; checked by the orchestrator, which drops one it cannot use (trace-context.ts). */
  tp?: unknown;
  /** The job's inputs, MessagePack bytes (inputs.ts); checked by the orchestrator, which refuses the job for bad ones. */
  in?: unknown;
}

/** Header of a reply to a dsat client. */
export interface ReplyHeader {
  c: number;
  id: string;
  /** "ok" or an ErrorCode. */
  s: "ok" | ErrorCodeName;
  /** Error message. */
  e?: string;
}

/** What a dsat satellite announces in READY. */
export interface SatelliteHello {
  id: string;
  types: string[];
  /** Path in the failure-domain hierarchy, outermost first: [["rack","r1"],["host","h1"]]. */
  location: Array<[string, string]>;
  capacity: number;
  /** CRUSH weight (1.0 = one unit of capacity share). */
  weight: number;
  /** Understands REQUEST-BATCH (and sends REPLY-BATCH / ACK-BATCH). */
  batch?: boolean;
  /** Reads jobs' inputs (a job entry's 10th element, a job header's `in`; docs/locality.md). */
  inputs?: boolean;
  /** On a CURVE topology: the satellite's public key (Z85) and proof of holding it (src/security/proof.ts). */
  key?: string;
  proof?: string;
  /** The heartbeat period it keeps, ms (the orchestrator's limits.heartbeatMs when absent). */
  heartbeatMs?: number;
  /**
   * Random per satellite process: a READY from a new connection with the same id, key and
   * incarnation is the same process reconnecting, whose running jobs carry on.
   */
  incarnation?: string;
}

/** Header of a job sent to a dsat satellite. */
export interface JobHeader {
  id: string;
  type: string;
  k?: string;
  /** Attempt number, from 1. */
  a: number;
  /** Deadline as Unix epoch ms. */
  d?: number;
  /** When set, the payload is this many raw frames from a plain MDP client (not MessagePack). */
  raw?: number;
  /** The job's W3C traceparent, for traced jobs only. */
  tp?: string;
  /** The job's inputs (MessagePack bytes, inputs.ts), for jobs with inputs only. */
  in?: Uint8Array;
}

/** Header of a dsat satellite's reply. */
export interface JobReplyHeader {
  s: "ok" | "error";
  e?: string;
  /** For errors: may the job be retried elsewhere? (default true) */
  r?: boolean;
}

export type FrontendMessage =
  | { kind: "client-request"; service: string; header: RequestHeader | null; body: Buffer[] }
  /** `session`: the client's secret session token (7th frame), which owns the jobs it sends. */
  | { kind: "client-batch"; entries: RequestEntry[]; payloads: Buffer[]; session: Buffer | null }
  | { kind: "worker-reply-batch"; entries: JobReplyEntry[]; payloads: Buffer[] }
  | { kind: "worker-ack-batch"; flat: unknown[] }
  | { kind: "worker-ready"; service: string; hello: SatelliteHello | null }
  | { kind: "worker-reply"; address: Buffer; header: JobReplyHeader | null; body: Buffer[] }
  /** `load`: what a dsat satellite reported with it (protocol/load.ts); `loadProblem`: why one was ignored. */
  | { kind: "worker-heartbeat"; load?: SatelliteLoad; loadProblem?: string }
  | { kind: "worker-disconnect" }
  | { kind: "worker-ack"; address: Buffer }
  | { kind: "worker-progress"; address: Buffer; progress: unknown }
  | { kind: "worker-drain" }
  | { kind: "malformed"; reason: string };

function malformed(reason: string): FrontendMessage {
  return { kind: "malformed", reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The frame as a map if it fits `shape` (checked before decoding), else why not. */
function decodeRecord(frame: Buffer, shape: Shape): Record<string, unknown> | string {
  const problem = shapeProblem(frame, shape);
  if (problem !== null) return problem;
  try {
    const value = decode(frame);
    return isRecord(value) ? value : `${shape.name} is not a MessagePack map`;
  } catch {
    return `${shape.name} is not MessagePack`;
  }
}

const SERVICE_NAME = /^[\x21-\x7e]{1,255}$/;

/**
 * Parses a message from the frontend ROUTER (routing id already removed). Every MessagePack frame
 * is checked against its shape in `limits` (input-shapes.ts) before it is decoded.
 */
export function parseFrontend(
  frames: Buffer[],
  framesMax: number,
  limits: InputLimits = DEFAULT_LIMITS,
): FrontendMessage {
  if (frames.length < 3) return malformed(`expected at least 3 frames, got ${frames.length}`);
  if (frames.length > framesMax)
    return malformed(`expected at most ${framesMax} frames, got ${frames.length}`);
  if (frames[0].length !== 0) return malformed("expected an empty delimiter frame first");
  const protocol = frames[1];
  if (protocol.equals(MDP_CLIENT)) return parseClient(frames, inputShapes(limits));
  if (protocol.equals(MDP_WORKER)) return parseWorker(frames, inputShapes(limits));
  return malformed(`unknown protocol header ${JSON.stringify(protocol.subarray(0, 16).toString("latin1"))}`);
}

function parseClient(frames: Buffer[], shapes: InputShapes): FrontendMessage {
  if ((frames.length === 6 || frames.length === 7) && frames[3].equals(DSAT_BATCH_MARK)) {
    const session = frames.length === 7 ? frames[6] : null;
    if (session !== null && (session.length < 16 || session.length > SESSION_BYTES_MAX))
      return malformed(`a session token has 16-${SESSION_BYTES_MAX} bytes`);
    const batch = splitBatch(frames[4], frames[5], isRequestEntry, (entry) => entry[2], BATCH_ENTRIES_MAX);
    if (typeof batch === "string") return malformed(batch);
    return { kind: "client-batch", entries: batch.entries, payloads: batch.payloads, session };
  }
  const service = frames[2].toString("utf8");
  if (!SERVICE_NAME.test(service)) return malformed("service name must be 1-255 printable ASCII characters");
  const body = frames.slice(3);
  if (body.length >= 1 && body[0].equals(DSAT_MARK)) {
    const request = parseDsatRequestBody(body, shapes);
    if (typeof request === "string") return malformed(request);
    return { kind: "client-request", service, header: request.header, body: [request.payload] };
  }
  return { kind: "client-request", service, header: null, body };
}

/**
 * A dsat single request's frames after the service: `"dsat/1" header payload` (also the inner
 * request of a dsat client's titanic.request), or why they are malformed.
 */
export function parseDsatRequestBody(
  body: readonly Buffer[],
  shapes: InputShapes,
): { header: RequestHeader; payload: Buffer } | string {
  if (body.length !== 3 || !body[0].equals(DSAT_MARK))
    return `a dsat request has marker, header and payload frames, got ${body.length}`;
  const raw = decodeRecord(body[1], shapes.requestHeader);
  if (typeof raw === "string") return raw;
  const header = checkRequestHeader(raw);
  if (typeof header === "string") return header;
  return { header, payload: body[2] };
}

function checkRequestHeader(raw: Record<string, unknown>): RequestHeader | string {
  const { c, id, k, t, tp, in: inputs } = raw;
  if (typeof c !== "number" || !Number.isSafeInteger(c))
    return "request header: c (correlation id) must be an integer";
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > 200)) {
    return "request header: id must be a string of 1-200 characters";
  }
  if (k !== undefined && (typeof k !== "string" || k.length > 1024))
    return "request header: k (key) must be a string";
  if (t !== undefined && (typeof t !== "number" || !(t > 0) || t > 86_400_000)) {
    return "request header: t (timeout ms) must be a number in (0, 86400000]";
  }
  const header: RequestHeader = {
    c,
    id: id as string | undefined,
    k: k as string | undefined,
    t: t as number | undefined,
  };
  if (tp !== undefined) header.tp = tp;
  if (inputs !== undefined) header.in = inputs;
  return header;
}

function parseWorker(frames: Buffer[], shapes: InputShapes): FrontendMessage {
  if (frames[2].length !== 1) return malformed("worker command must be one byte");
  const command = frames[2][0];
  switch (command) {
    case WorkerCommand.ready: {
      if (frames.length < 4) return malformed("READY needs a service frame");
      const service = frames[3].toString("utf8");
      if (!SERVICE_NAME.test(service))
        return malformed("service name must be 1-255 printable ASCII characters");
      if (frames.length === 4) return { kind: "worker-ready", service, hello: null };
      if (frames.length !== 6 || !frames[4].equals(DSAT_MARK))
        return malformed("READY: unexpected extra frames");
      const raw = decodeRecord(frames[5], shapes.satelliteHeader);
      const hello = typeof raw === "string" ? raw : checkHello(raw, service);
      if (typeof hello === "string") return malformed(`READY: ${hello}`);
      return { kind: "worker-ready", service, hello };
    }
    case WorkerCommand.reply: {
      if (frames.length < 5 || frames[4].length !== 0)
        return malformed("REPLY needs address and empty frames");
      const address = frames[3];
      const body = frames.slice(5);
      if (body.length >= 1 && body[0].equals(DSAT_MARK)) {
        if (body.length < 3) return malformed("a dsat reply has marker, header and payload frames");
        const raw = decodeRecord(body[1], shapes.satelliteHeader);
        if (typeof raw === "string") return malformed(`reply header: ${raw}`);
        if (raw.s !== "ok" && raw.s !== "error") return malformed("reply header: s must be ok or error");
        const header: JobReplyHeader = { s: raw.s };
        if (typeof raw.e === "string") header.e = raw.e;
        if (typeof raw.r === "boolean") header.r = raw.r;
        return { kind: "worker-reply", address, header, body: body.slice(2) };
      }
      return { kind: "worker-reply", address, header: null, body };
    }
    case WorkerCommand.heartbeat: {
      if (frames.length === 3) return { kind: "worker-heartbeat" };
      // A dsat satellite's load: a bad one is ignored (and counted), the heartbeat still counts.
      if (frames.length !== 5 || !frames[3].equals(DSAT_MARK))
        return malformed("HEARTBEAT has no body, or the dsat marker and a load frame");
      const load = parseLoad(frames[4]);
      return typeof load === "string"
        ? { kind: "worker-heartbeat", loadProblem: load }
        : { kind: "worker-heartbeat", load };
    }
    case WorkerCommand.disconnect:
      return { kind: "worker-disconnect" };
    case WorkerCommand.ack:
      return frames.length === 4
        ? { kind: "worker-ack", address: frames[3] }
        : malformed("ACK has one address frame");
    case WorkerCommand.progress: {
      if (frames.length !== 5) return malformed("PROGRESS has address and value frames");
      const problem = shapeProblem(frames[4], shapes.progress);
      if (problem !== null) return malformed(problem);
      try {
        return { kind: "worker-progress", address: frames[3], progress: decode(frames[4]) };
      } catch {
        return malformed("PROGRESS value is not MessagePack");
      }
    }
    case WorkerCommand.drain:
      return { kind: "worker-drain" };
    case WorkerCommand.replyBatch: {
      if (frames.length !== 5) return malformed("REPLY-BATCH has entries and blob frames");
      const batch = splitBatch(frames[3], frames[4], isJobReplyEntry, (entry) => entry[3], BATCH_ENTRIES_MAX);
      if (typeof batch === "string") return malformed(batch);
      return { kind: "worker-reply-batch", entries: batch.entries, payloads: batch.payloads };
    }
    case WorkerCommand.ackBatch: {
      if (frames.length !== 4) return malformed("ACK-BATCH has one entries frame");
      const problem = shapeProblem(frames[3], shapes.ackEntries);
      if (problem !== null) return malformed(problem);
      try {
        const flat = decode(frames[3]);
        if (!Array.isArray(flat) || flat.length > 2 * BATCH_ENTRIES_MAX)
          return malformed("ACK-BATCH entries");
        return { kind: "worker-ack-batch", flat };
      } catch {
        return malformed("ACK-BATCH entries are not MessagePack");
      }
    }
    default:
      return malformed(`unknown worker command 0x${command.toString(16)}`);
  }
}

function checkHello(raw: Record<string, unknown>, service: string): SatelliteHello | string {
  const { id, types, location, capacity, weight } = raw;
  if (typeof id !== "string" || id.length === 0 || id.length > 200)
    return "id must be a string of 1-200 characters";
  if (
    !Array.isArray(types) ||
    types.length === 0 ||
    !types.every((t) => typeof t === "string" && SERVICE_NAME.test(t))
  ) {
    return "types must be a non-empty array of service names";
  }
  if (!types.includes(service)) return "types must include the READY service";
  if (
    !Array.isArray(location) ||
    !location.every(
      (level) =>
        Array.isArray(level) &&
        level.length === 2 &&
        typeof level[0] === "string" &&
        typeof level[1] === "string" &&
        level[1].length > 0,
    )
  ) {
    return "location must be an array of [type, name] pairs";
  }
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1 || capacity > 100_000) {
    return "capacity must be an integer in 1..100000";
  }
  if (typeof weight !== "number" || !(weight > 0) || weight > 65535)
    return "weight must be a number in (0, 65535]";
  return {
    id,
    types: [...types] as string[],
    location: location as Array<[string, string]>,
    capacity,
    weight,
    batch: raw.batch === true,
    ...(raw.inputs === true ? { inputs: true } : {}),
    ...(typeof raw.key === "string" && raw.key.length === 40 ? { key: raw.key } : {}),
    ...(typeof raw.proof === "string" && /^[0-9a-f]{64}$/.test(raw.proof) ? { proof: raw.proof } : {}),
    ...(typeof raw.heartbeatMs === "number" &&
    Number.isInteger(raw.heartbeatMs) &&
    raw.heartbeatMs >= 10 &&
    raw.heartbeatMs <= 60_000
      ? { heartbeatMs: raw.heartbeatMs }
      : {}),
    ...(typeof raw.incarnation === "string" && raw.incarnation.length > 0 && raw.incarnation.length <= 64
      ? { incarnation: raw.incarnation }
      : {}),
  };
}

// ---- builders (frames after the routing id) ----

export function clientReplyFrames(service: Buffer, header: ReplyHeader, payload: Buffer): Buffer[] {
  return [EMPTY, MDP_CLIENT, service, DSAT_MARK, encode(header), payload];
}

/** A reply to a plain MDP client: the body frames as they are. */
export function plainClientReplyFrames(service: Buffer, body: Buffer[]): Buffer[] {
  return [EMPTY, MDP_CLIENT, service, ...body];
}

export function clientRequestFrames(service: string, header: RequestHeader, payload: Buffer): Buffer[] {
  return [EMPTY, MDP_CLIENT, Buffer.from(service), DSAT_MARK, encode(header), payload];
}

export function workerCommandFrames(command: WorkerCommandCode, ...rest: Buffer[]): Buffer[] {
  return [EMPTY, MDP_WORKER, COMMAND_FRAMES.get(command) as Buffer, ...rest];
}

export function workerReadyFrames(service: string, hello?: SatelliteHello): Buffer[] {
  const base = workerCommandFrames(WorkerCommand.ready, Buffer.from(service));
  return hello === undefined ? base : [...base, DSAT_MARK, encode(hello)];
}

/** A job to a dsat satellite. */
export function jobRequestFrames(address: Buffer, header: JobHeader, payload: Buffer[]): Buffer[] {
  return workerCommandFrames(WorkerCommand.request, address, EMPTY, DSAT_MARK, encode(header), ...payload);
}

/** A job to a plain MDP worker: the body frames only. */
export function plainJobRequestFrames(address: Buffer, body: Buffer[]): Buffer[] {
  return workerCommandFrames(WorkerCommand.request, address, EMPTY, ...body);
}

/** A dsat satellite's reply: one MessagePack payload frame, or several raw frames for raw jobs. */
export function jobReplyFrames(
  address: Buffer,
  header: JobReplyHeader,
  payload: Buffer | Buffer[],
): Buffer[] {
  const frames = Array.isArray(payload) ? payload : [payload];
  return workerCommandFrames(WorkerCommand.reply, address, EMPTY, DSAT_MARK, encode(header), ...frames);
}

/** The job token a worker echoes back: "<job id>#<attempt>". */
export function jobAddress(jobId: string, attempt: number): Buffer {
  return Buffer.from(`${jobId}#${attempt}`);
}

export function parseJobAddress(address: Buffer): { jobId: string; attempt: number } | null {
  const text = address.toString("utf8");
  const cut = text.lastIndexOf("#");
  if (cut <= 0) return null;
  const attempt = Number(text.slice(cut + 1));
  if (!Number.isSafeInteger(attempt) || attempt < 1) return null;
  return { jobId: text.slice(0, cut), attempt };
}

/** Job header as a dsat satellite reads it; null when malformed. */
export function parseJobRequest(
  frames: Buffer[],
): { address: Buffer; header: JobHeader; payload: Buffer[] } | null {
  // frames: "", MDPW01, 0x02, address, "", "dsat/1", header, payload... (no payload frame at all
  // when a plain MDP client sent an empty body)
  if (frames.length < 7 || !frames[5].equals(DSAT_MARK)) return null;
  const raw = decodeRecord(frames[6], inputShapes().jobHeader);
  if (typeof raw === "string") return null;
  const { id, type, k, a, d, raw: rawFrames, tp, in: inputs } = raw;
  if (typeof id !== "string" || typeof type !== "string" || typeof a !== "number") return null;
  const header: JobHeader = { id, type, a };
  if (typeof k === "string") header.k = k;
  if (typeof d === "number") header.d = d;
  if (typeof rawFrames === "number") header.raw = rawFrames;
  if (isTraceparent(tp)) header.tp = tp;
  if (inputs instanceof Uint8Array) header.in = inputs;
  return { address: frames[3], header, payload: frames.slice(7) };
}
