// What the journal holds: an ordered log of job commands (accepted, dispatched, completed,
// retried), MessagePack-encoded. Replaying them in order (book.ts) rebuilds every job's state; the
// same log is what Raft will later replicate between orchestrators. docs/journal.md has the table.
import { decode, encode } from "../protocol/index.ts";

/** Where a job's reply goes: kept opaque here, the orchestrator gives it meaning. */
export interface JournalOrigin {
  kind: string;
  route: Buffer | null;
  correlation: number | null;
  service: string | null;
  /** Who owns the job (may attach to it, cancel it, read its result); null in records of before. */
  owner: string | null;
}

/**
 * A job (or its next pipeline step) accepted: everything needed to run it again. A compaction
 * snapshot of a live job is this record too.
 */
export interface AcceptedRecord {
  k: "accepted";
  id: string;
  /** The type of step `step` (the first type when step is 0). */
  type: string;
  firstType: string;
  step: number;
  /** Types of the pipeline steps after this one. */
  steps: string[];
  key: string | null;
  payload: Buffer[];
  /** Payload frames are raw bytes (a plain MDP client), not MessagePack. */
  raw: boolean;
  /** Epoch ms. */
  deadlineAt: number;
  receivedAt: number;
  origin: JournalOrigin;
  /**
   * The job's inputs as its client sent them (docs/locality.md), or null; a trailing element,
   * written only when set, so records without it read as before and older readers skip it.
   */
  inputs?: Buffer | null;
}

/** Attempt `attempt` of step `step` was sent to `satelliteId`. */
export interface DispatchedRecord {
  k: "dispatched";
  id: string;
  step: number;
  attempt: number;
  satelliteId: string;
}

/** The job ended: self-contained, so a compacted log keeps only this for a finished job. */
export interface CompletedRecord {
  k: "completed";
  id: string;
  firstType: string;
  key: string | null;
  /** "ok" or an error code (DSAT_ERR_...). */
  status: string;
  message: string;
  result: Buffer[] | null;
  raw: boolean;
  attempts: number;
  receivedAt: number;
  completedAt: number;
  /** The first step's payload, kept for failed jobs so `dsat retry` can run them again. */
  payload: Buffer[] | null;
  /** Steps of the pipeline from the first (for a retry). */
  steps: string[];
  origin: JournalOrigin;
  /**
   * A job that failed at its first step: its inputs (as `accepted` keeps them), so `dsat retry`
   * places it near its data again. A trailing element, written only when set, as `accepted`'s.
   */
  inputs?: Buffer | null;
}

/** A finished job's result is no longer kept (titanic.close). */
export interface ForgottenRecord {
  k: "forgotten";
  id: string;
}

/**
 * An operator's decision that outlives a restart and a change of leader: a drain, a score lock, a
 * live setting. `id` names what it decides on ("drain:rack1", "score:s1", "config:tracker.X"): a
 * later record with the same id replaces it (an undrain, an unlock, a new value).
 */
export interface OperatorRecord {
  k: "operator";
  id: string;
  command: "drain" | "undrain" | "score-lock" | "score-unlock" | "config-set";
  target: string;
  value: unknown;
}

export type JournalRecord =
  | AcceptedRecord
  | DispatchedRecord
  | CompletedRecord
  | ForgottenRecord
  | OperatorRecord;

const Tag = { accepted: 1, dispatched: 2, completed: 3, forgotten: 4, operator: 5 } as const;

const OPERATOR_COMMANDS: readonly OperatorRecord["command"][] = [
  "drain",
  "undrain",
  "score-lock",
  "score-unlock",
  "config-set",
];

function originTuple(origin: JournalOrigin): unknown[] {
  return [origin.kind, origin.route, origin.correlation, origin.service, origin.owner];
}

export function encodeRecord(record: JournalRecord): Buffer {
  switch (record.k) {
    case "accepted": {
      const fields: unknown[] = [
        Tag.accepted,
        record.id,
        record.type,
        record.firstType,
        record.step,
        record.steps,
        record.key,
        record.payload,
        record.raw ? 1 : 0,
        record.deadlineAt,
        record.receivedAt,
        originTuple(record.origin),
      ];
      if (record.inputs !== undefined && record.inputs !== null) fields.push(record.inputs);
      return encode(fields);
    }
    case "dispatched":
      return encode([Tag.dispatched, record.id, record.step, record.attempt, record.satelliteId]);
    case "completed": {
      const fields: unknown[] = [
        Tag.completed,
        record.id,
        record.firstType,
        record.key,
        record.status,
        record.message,
        record.result,
        record.raw ? 1 : 0,
        record.attempts,
        record.receivedAt,
        record.completedAt,
        record.payload,
        record.steps,
        originTuple(record.origin),
      ];
      if (record.inputs !== undefined && record.inputs !== null) fields.push(record.inputs);
      return encode(fields);
    }
    case "forgotten":
      return encode([Tag.forgotten, record.id]);
    case "operator":
      return encode([Tag.operator, record.id, record.command, record.target, record.value ?? null]);
  }
}

export class JournalRecordError extends Error {
  override name = "JournalRecordError";
}

const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number" && !Number.isNaN(value);
const isFrames = (value: unknown): value is Buffer[] =>
  Array.isArray(value) && value.every((frame) => frame instanceof Uint8Array);
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

function asBuffers(frames: Uint8Array[]): Buffer[] {
  return frames.map((frame) =>
    Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length),
  );
}

function originOf(value: unknown): JournalOrigin {
  // Records written before owners were kept have 4 fields.
  if (!Array.isArray(value) || (value.length !== 4 && value.length !== 5) || !isString(value[0]))
    throw new JournalRecordError("bad origin");
  const [kind, route, correlation, service, owner] = value;
  return {
    kind,
    route: route instanceof Uint8Array ? asBuffers([route])[0] : null,
    correlation: isNumber(correlation) ? correlation : null,
    service: isString(service) ? service : null,
    owner: isString(owner) ? owner : null,
  };
}

/** Decodes one record; throws JournalRecordError on anything that is not a record we wrote. */
export function decodeRecord(bytes: Uint8Array): JournalRecord {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    throw new JournalRecordError((error as Error).message);
  }
  if (!Array.isArray(value) || !isString(value[1])) throw new JournalRecordError("not a journal record");
  const fields = value as unknown[];
  const id = fields[1] as string;
  switch (fields[0]) {
    case Tag.accepted: {
      const [, , type, firstType, step, steps, key, payload, raw, deadlineAt, receivedAt, origin, inputs] =
        fields;
      if (
        !isString(type) ||
        !isString(firstType) ||
        !isNumber(step) ||
        !isStrings(steps) ||
        !(key === null || isString(key)) ||
        !isFrames(payload) ||
        !isNumber(deadlineAt) ||
        !isNumber(receivedAt)
      )
        throw new JournalRecordError(`bad accepted record for ${id}`);
      return {
        k: "accepted",
        id,
        type,
        firstType,
        step,
        steps,
        key,
        payload: asBuffers(payload),
        raw: raw === 1,
        deadlineAt,
        receivedAt,
        origin: originOf(origin),
        ...(inputs instanceof Uint8Array ? { inputs: asBuffers([inputs])[0] } : {}),
      };
    }
    case Tag.dispatched: {
      const [, , step, attempt, satelliteId] = fields;
      if (!isNumber(step) || !isNumber(attempt) || !isString(satelliteId))
        throw new JournalRecordError(`bad dispatched record for ${id}`);
      return { k: "dispatched", id, step, attempt, satelliteId };
    }
    case Tag.completed: {
      const [
        ,
        ,
        firstType,
        key,
        status,
        message,
        result,
        raw,
        attempts,
        receivedAt,
        completedAt,
        payload,
        steps,
        origin,
        inputs,
      ] = fields;
      if (
        !isString(firstType) ||
        !(key === null || isString(key)) ||
        !isString(status) ||
        !isString(message) ||
        !(result === null || isFrames(result)) ||
        !isNumber(attempts) ||
        !isNumber(receivedAt) ||
        !isNumber(completedAt) ||
        !(payload === null || isFrames(payload)) ||
        !isStrings(steps)
      )
        throw new JournalRecordError(`bad completed record for ${id}`);
      return {
        k: "completed",
        id,
        firstType,
        key,
        status,
        message,
        result: result === null ? null : asBuffers(result),
        raw: raw === 1,
        attempts,
        receivedAt,
        completedAt,
        payload: payload === null ? null : asBuffers(payload),
        steps,
        origin: originOf(origin),
        ...(inputs instanceof Uint8Array ? { inputs: asBuffers([inputs])[0] } : {}),
      };
    }
    case Tag.forgotten:
      return { k: "forgotten", id };
    case Tag.operator: {
      const [, , command, target, value] = fields;
      const known = OPERATOR_COMMANDS.find((each) => each === command);
      if (known === undefined || !isString(target)) throw new JournalRecordError(`bad operator record ${id}`);
      return { k: "operator", id, command: known, target, value };
    }
    default:
      throw new JournalRecordError(`unknown record tag ${String(fields[0])}`);
  }
}
