// Batches: many jobs in one ZeroMQ message between dsat peers. With hundreds of jobs in flight the
// per-message cost (frames through libzmq's pipes and I/O threads, a Buffer per frame in Node)
// dominates, so each side sends whatever it produced in one event-loop turn as one message of
// a fixed 5-6 frames: a MessagePack array of entries and one blob with every payload back to back
// (each entry says its payload's length). Plain MDP peers never see batches.
import { decode, encode } from "./codec.ts";
import { EMPTY, MDP_CLIENT, MDP_WORKER, WorkerCommand } from "./constants.ts";
import { BATCH_ENTRIES_MAX, ENTRY_FIELDS_MAX, inputShapes } from "./input-shapes.ts";
import { type Shape, shapeProblem } from "./shape.ts";
import { TRACEPARENT_LENGTH } from "./trace-context.ts";

/**
 * A batch leaves as soon as it has this many entries, and at the end of the event-loop turn
 * otherwise. Smaller batches let the client, orchestrator and satellite work in parallel on
 * different batches; larger ones cost fewer messages (bench/core.ts picked the value).
 */
export const BATCH_FLUSH_ENTRIES = Number(process.env.DSAT_BATCH_FLUSH ?? 64);

/** Marks a batch body (after the service frame "dsat.batch"). */
export const DSAT_BATCH_MARK = Buffer.from("dsat/1b");
export const BATCH_SERVICE = Buffer.from("dsat.batch");

/**
 * Client -> orchestrator: [service, correlation, payload length, timeout ms | null, id | null,
 * key | null, traceparent?, inputs?]. Trailing elements are optional (clients before trace context
 * send 6); the orchestrator checks the 7th (trace-context.ts) and drops one it cannot use, without
 * failing the job. The 8th is the job's inputs, MessagePack bytes (inputs.ts, docs/locality.md),
 * sent only by jobs that have inputs (with a null 7th when untraced). Elements after the last one
 * an orchestrator knows are ignored, up to ENTRY_FIELDS_MAX, so the next one will not need this care;
 * orchestrators before inputs refuse 8-element entries (docs/locality.md, "Compatibility").
 */
export type RequestEntry = [
  string,
  number,
  number,
  number | null,
  string | null,
  string | null,
  unknown?,
  unknown?,
];
/** Orchestrator -> client: [correlation, job id, "ok" | error code, payload length, error message | null]. */
export type ReplyEntry = [number, string, string, number, string | null];
/**
 * Orchestrator -> satellite: [job id, attempt (fencing token), type, payload length, attempt of this
 * step, deadline epoch ms | null, key | null, raw frame count | null, traceparent?, inputs?]. The
 * 9th element is there for traced jobs only, so untraced ones look as they did before trace
 * context; the 10th (inputs, MessagePack bytes) for jobs with inputs only, to satellites that
 * announced `inputs` in their READY.
 */
export type JobEntry = [
  string,
  number,
  string,
  number,
  number,
  number | null,
  string | null,
  number | null,
  (string | null)?,
  (Uint8Array | null)?,
];
/** Satellite -> orchestrator: [job id, attempt, 0 ok | 1 error, payload length, error | null, retryable | null]. */
export type JobReplyEntry = [string, number, 0 | 1, number, string | null, boolean | null];

/**
 * A client's batch; `session` (16-64 bytes, secret) names the client across reconnects and
 * restarts: only requests carrying it may attach to, cancel or read the results of its jobs.
 */
export function clientBatchFrames(entries: RequestEntry[], payloads: Buffer[], session?: Buffer): Buffer[] {
  const frames = [EMPTY, MDP_CLIENT, BATCH_SERVICE, DSAT_BATCH_MARK, encode(entries), concat(payloads)];
  if (session !== undefined) frames.push(session);
  return frames;
}

export function replyBatchFrames(entries: ReplyEntry[], payloads: Buffer[]): Buffer[] {
  return [EMPTY, MDP_CLIENT, BATCH_SERVICE, DSAT_BATCH_MARK, encode(entries), concat(payloads)];
}

export function jobBatchFrames(entries: JobEntry[], payloads: Buffer[]): Buffer[] {
  return [EMPTY, MDP_WORKER, COMMAND_REQUEST_BATCH, encode(entries), concat(payloads)];
}

export function jobReplyBatchFrames(entries: JobReplyEntry[], payloads: Buffer[]): Buffer[] {
  return [EMPTY, MDP_WORKER, COMMAND_REPLY_BATCH, encode(entries), concat(payloads)];
}

/** Satellite -> orchestrator: the jobs it has started (flat [id, attempt, id, attempt, ...]). */
export function ackBatchFrames(flat: Array<string | number>): Buffer[] {
  return [EMPTY, MDP_WORKER, COMMAND_ACK_BATCH, encode(flat)];
}

const COMMAND_REQUEST_BATCH = Buffer.from([WorkerCommand.requestBatch]);
const COMMAND_REPLY_BATCH = Buffer.from([WorkerCommand.replyBatch]);
const COMMAND_ACK_BATCH = Buffer.from([WorkerCommand.ackBatch]);

function concat(payloads: Buffer[]): Buffer {
  return payloads.length === 1 ? payloads[0] : Buffer.concat(payloads);
}

/** Entries decoded and checked by `check`, with each entry's payload as a view into the blob. */
export function splitBatch<Entry>(
  entriesFrame: Buffer,
  blob: Buffer,
  check: (entry: unknown) => entry is Entry,
  lengthOf: (entry: Entry) => number,
  entriesMax: number,
): { entries: Entry[]; payloads: Buffer[] } | string {
  // The entry count (from the array header) and each entry's size are checked before decoding.
  const problem = shapeProblem(entriesFrame, entriesShape(entriesMax));
  if (problem !== null) return problem;
  let decoded: unknown;
  try {
    decoded = decode(entriesFrame);
  } catch {
    return "batch entries are not MessagePack";
  }
  if (!Array.isArray(decoded) || decoded.length === 0) return "batch entries must be a non-empty array";
  if (decoded.length > entriesMax)
    return `a batch holds at most ${entriesMax} entries, got ${decoded.length}`;
  const payloads: Buffer[] = [];
  let offset = 0;
  for (const entry of decoded) {
    if (!check(entry)) return "malformed batch entry";
    const length = lengthOf(entry);
    if (offset + length > blob.length) return "batch payload lengths exceed the blob";
    payloads.push(blob.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== blob.length) return "batch blob has bytes no entry claims";
  return { entries: decoded as Entry[], payloads };
}

/** The entries shape for a batch of at most `entriesMax` entries. */
function entriesShape(entriesMax: number): Shape {
  const shape = inputShapes().batchEntries;
  if (entriesMax === BATCH_ENTRIES_MAX) return shape;
  return { ...shape, topItemsMax: entriesMax, itemsMax: entriesMax * (1 + shape.innerItemsMax) };
}

const isLength = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff;
const isOptionalString = (value: unknown, max: number) =>
  value === null || (typeof value === "string" && value.length <= max);
const SERVICE = /^[\x21-\x7e]{1,255}$/;

export function isRequestEntry(entry: unknown): entry is RequestEntry {
  // 7 with a traceparent, 8 with inputs: their content the orchestrator judges (a bad traceparent
  // is dropped, bad inputs refuse their job alone, never the batch). Later elements are ignored.
  if (!Array.isArray(entry) || entry.length < 6 || entry.length > ENTRY_FIELDS_MAX) return false;
  const [service, correlation, length, timeout, id, key] = entry;
  return (
    typeof service === "string" &&
    SERVICE.test(service) &&
    Number.isSafeInteger(correlation) &&
    isLength(length) &&
    (timeout === null || (typeof timeout === "number" && timeout > 0 && timeout <= 86_400_000)) &&
    isOptionalString(id, 200) &&
    id !== "" &&
    isOptionalString(key, 1024)
  );
}

export function isReplyEntry(entry: unknown): entry is ReplyEntry {
  return (
    Array.isArray(entry) &&
    entry.length === 5 &&
    Number.isSafeInteger(entry[0]) &&
    typeof entry[1] === "string" &&
    typeof entry[2] === "string" &&
    isLength(entry[3]) &&
    isOptionalString(entry[4], 1 << 20)
  );
}

export function isJobEntry(entry: unknown): entry is JobEntry {
  return (
    Array.isArray(entry) &&
    entry.length >= 8 &&
    entry.length <= 10 &&
    (entry.length === 8 || isOptionalString(entry[8], TRACEPARENT_LENGTH)) &&
    (entry.length <= 9 || entry[9] === null || entry[9] instanceof Uint8Array) &&
    typeof entry[0] === "string" &&
    Number.isSafeInteger(entry[1]) &&
    typeof entry[2] === "string" &&
    isLength(entry[3]) &&
    Number.isSafeInteger(entry[4]) &&
    (entry[5] === null || typeof entry[5] === "number") &&
    isOptionalString(entry[6], 1024) &&
    (entry[7] === null || isLength(entry[7]))
  );
}

export function isJobReplyEntry(entry: unknown): entry is JobReplyEntry {
  return (
    Array.isArray(entry) &&
    entry.length === 6 &&
    typeof entry[0] === "string" &&
    Number.isSafeInteger(entry[1]) &&
    (entry[2] === 0 || entry[2] === 1) &&
    isLength(entry[3]) &&
    isOptionalString(entry[4], 1 << 20) &&
    (entry[5] === null || typeof entry[5] === "boolean")
  );
}
