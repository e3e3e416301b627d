// A job as the orchestrator holds it, and who its reply goes to (an origin), with the conversions
// to and from the journal's form. Shared by the orchestrator and its reply outbox.
import { createHash } from "node:crypto";
import type { JournalOrigin } from "../journal/index.ts";
import { ErrorCode, type ErrorCodeName, encode } from "../protocol/index.ts";
import type { SatelliteInfo } from "./registry.ts";

export type Origin =
  | { kind: "dsat"; route: Buffer; correlation: number; service: Buffer }
  | { kind: "batch"; route: Buffer; correlation: number }
  | { kind: "mdp"; route: Buffer; service: Buffer }
  | { kind: "publish" }
  /** 9/TSP: the result is kept for titanic.reply, nobody is waiting on a socket. */
  | { kind: "titanic" };

export interface Job {
  readonly id: string;
  /** The type of the current pipeline step. */
  type: string;
  readonly firstType: string;
  /**
   * CRUSH's input: the key's (or id's) hash as an int32, so V8 keeps it as a small integer rather
   * than a 16-byte heap number; the mapper takes it `>>> 0`.
   */
  readonly x: number;
  readonly key: string | undefined;
  /**
   * Who owns the job (ownerOf): only requests from the same owner may attach to it, cancel it or
   * read its result; others naming its id get DSAT_ERR_NOT_FOUND.
   */
  readonly owner: string;
  /** Who gets the reply; a resubmission from the same owner's new connection adds itself to `waiters`. */
  origin: Origin;
  waiters: Origin[] | null;
  /** The journal record that accepted the current step: the step runs once it is on disk. */
  journalSeq: number;
  /** Attempts of the current step made by an earlier life of the orchestrator (journal replay). */
  attemptsBefore: number;
  payload: Buffer[];
  /** The payload bytes it was accepted with: charged to its client's and the total budget. */
  readonly heldBytes: number;
  /** Payload frames are raw bytes from a plain MDP client (not MessagePack). */
  raw: boolean;
  /** The tracker's id for the current step: the job id, then "<id>/<step>" for later steps. */
  trackerId: string;
  /** The tracker follows its current step (from submitStep until the step ends). */
  tracked: boolean;
  step: number;
  /** The attempt the tracker asked for (the fencing token in the satellite address). */
  attempt: number;
  /** Where the current attempt runs; null while it is queued or being placed. */
  satellite: SatelliteInfo | null;
  /** The satellite whose queue holds it, waiting for a slot. */
  queuedOn: SatelliteInfo | null;
  /**
   * On the disk spill (its payload is there, `payload` is empty): the tracker's exclude list of
   * the attempt, kept for when it is drained. null when not spilled.
   */
  spilled: readonly string[] | null;
  readonly deadlineAt: number;
  readonly receivedAt: number;
  /**
   * The client (routing id, hex) its bytes are charged to while held, or null (published, Titanic);
   * undefined until hold() charges it. One string per client, shared by its jobs (PeerGuard).
   */
  chargedTo: string | null | undefined;
  /** Its place in the order jobs entered the book (hold()): oldest first among equal receivedAt. */
  arrival: number;
  /** Pipeline steps still to run after the current one. */
  readonly steps: string[];
  /** The current step's result, kept from `succeeded` until the tracker completes the step. */
  result: Buffer[] | null;
  /** Why placement last failed, for the error the client gets if the tracker gives up. */
  placementFailure: "none" | "full" | null;
  /** An error code to report instead of the outcome's default (e.g. a result too large). */
  errorCode: ErrorCodeName | null;
  /** Its client cancelled it before the tracker had it (awaiting its journal commit, or recovery). */
  cancelRequested: boolean;
  /** A traced job's W3C traceparent and span times (router/trace.ts); null for most jobs. */
  trace: TraceMarks | null;
  /** The data its first step reads (docs/locality.md, router/locality.ts); null for most jobs. */
  readonly inputs: HeldInputs | null;
}

/** A job's inputs as the orchestrator keeps them. */
export interface HeldInputs {
  /** As the client sent them (MessagePack), passed on to the satellite and the journal unchanged. */
  readonly bytes: Buffer;
  /** Per input, the distinct topology hosts (lower case, through the hostname map) of its replicas. */
  readonly hosts: ReadonlyArray<readonly string[]>;
}

/** What a traced job keeps to emit its spans (docs/observability.md, "Traces"). */
export interface TraceMarks {
  readonly traceparent: string;
  /** `dsat.accept` was emitted (the first step was handed to the tracker). */
  accepted: boolean;
  /** When the current placing began: the step handed to the tracker, or the last attempt's end. */
  placeFrom: number;
  /** The open attempt: when it was sent (NaN when none), to which satellite, which attempt. */
  sentAt: number;
  satellite: string;
  attempt: number;
  /** When the job ended (finish), before its reply waits for the journal. */
  endedAt: number;
}

export interface JobSummary {
  id: string;
  type: string;
  /** Its placement key (keyed jobs go where their key goes; `dsat rebalance --live` takes them); null without. */
  key: string | null;
  /** "live" or "finished". */
  phase: string;
  /** A tracker state (received ... retry-wait), "accepted"/"recovering", or done/failed/cancelled/expired. */
  state: string;
  step: number | null;
  attempt: number;
  satellite: string | null;
  receivedAt: number;
  completedAt: number | null;
  message: string | null;
}

export function finishedState(status: string): string {
  if (status === "ok") return "done";
  if (status === ErrorCode.cancelled) return "cancelled";
  if (status === ErrorCode.timeout) return "expired";
  return "failed";
}

/** A reply that leaves once the journal has its record on disk. */
export interface PendingReply {
  seq: number;
  job: Job;
  status: "ok" | ErrorCodeName;
  message: string;
  result: Buffer[] | undefined;
}

export function sameOrigin(a: Origin, b: Origin): boolean {
  if (a.kind !== b.kind) return false;
  if (!("route" in a) || !("route" in b)) return true;
  if (!a.route.equals(b.route)) return false;
  return !("correlation" in a) || !("correlation" in b) || a.correlation === b.correlation;
}

export function originToJournal(origin: Origin, owner: string): JournalOrigin {
  switch (origin.kind) {
    case "dsat":
      return {
        kind: "dsat",
        route: origin.route,
        correlation: origin.correlation,
        service: origin.service.toString(),
        owner,
      };
    case "batch":
      return { kind: "batch", route: origin.route, correlation: origin.correlation, service: null, owner };
    case "mdp":
      return {
        kind: "mdp",
        route: origin.route,
        correlation: null,
        service: origin.service.toString(),
        owner,
      };
    default:
      return { kind: origin.kind, route: null, correlation: null, service: null, owner };
  }
}

/**
 * Owners: a client's session token ("s:" + its hash, the same across reconnects and restarts), a
 * connection ("r:" + routing id, for plain MDP clients and single dsat requests), or "publish"
 * and "titanic" for jobs nobody waits on a socket for.
 */
export const PUBLISH_OWNER = "publish";
export const TITANIC_OWNER = "titanic";

export function routeOwner(route: Buffer): string {
  return `r:${route.toString("hex")}`;
}

export function sessionOwner(session: Buffer): string {
  return `s:${createHash("sha256").update(session).digest("base64url").slice(0, 22)}`;
}

/** Session tokens -> owners, cached (one hash per new session, not per batch); bounded. */
export class SessionOwners {
  private readonly cache = new Map<string, string>();

  constructor(private readonly max = 4096) {}

  ofSession(session: Buffer): string {
    const key = session.toString("latin1");
    let owner = this.cache.get(key);
    if (owner === undefined) {
      if (this.cache.size >= this.max) this.cache.clear();
      owner = sessionOwner(session);
      this.cache.set(key, owner);
    }
    return owner;
  }
}

/** The owner a journal record names, or (records of before owners) the one its origin implies. */
export function ownerFromJournal(origin: JournalOrigin): string {
  if (origin.owner !== null) return origin.owner;
  if (origin.route !== null) return routeOwner(origin.route);
  return origin.kind === "titanic" ? TITANIC_OWNER : PUBLISH_OWNER;
}

/** The journal's origin back as a reply target; anything unreadable becomes "publish" (an event). */
export function originFromJournal(origin: JournalOrigin): Origin {
  const { kind, route, correlation, service } = origin;
  if (kind === "dsat" && route !== null && correlation !== null && service !== null)
    return { kind, route, correlation, service: Buffer.from(service) };
  if (kind === "batch" && route !== null && correlation !== null) return { kind, route, correlation };
  if (kind === "mdp" && route !== null && service !== null)
    return { kind, route, service: Buffer.from(service) };
  if (kind === "titanic") return { kind };
  return { kind: "publish" };
}

export function bytesOf(frames: readonly Buffer[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += frame.length;
  return bytes;
}

/** MessagePack nil: the payload of error replies. */
export const NULL_PAYLOAD = encode(null);

/** One payload frame for dsat clients: the frame itself, or several raw frames as a MessagePack array. */
export function singleFrame(frames: Buffer[]): Buffer {
  return frames.length === 1 ? frames[0] : encode(frames);
}
