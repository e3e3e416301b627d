// Requests from clients (dsat, plain MDP, the intake): admission, budgets, resubmissions, and
// the hand-over of each job's step to the tracker.
import { hashKey } from "../../crush/core.ts";
import type { CompletedRecord } from "../../journal/core.ts";
import {
  ErrorCode,
  type ErrorCodeName,
  type FrontendMessage,
  parseFrontend,
  parseIntakeHeader,
  type RequestEntry,
} from "../../protocol/index.ts";
import type { SubmitEvent } from "../../tracker/index.ts";
import {
  bytesOf,
  type Job,
  NULL_PAYLOAD,
  type Origin,
  originToJournal,
  ownerFromJournal,
  PUBLISH_OWNER,
  routeOwner,
  sameOrigin,
} from "../job.ts";
import { acceptedRecord, attachToUnwrittenReply, jobFromJournal } from "./commit.ts";
import { heldInputs, jobCandidates } from "./locality.ts";
import { runEffects } from "./outcomes.ts";
import { onWorkerMessage, onWorkerReady } from "./satellites.ts";
import { answerService, isOwnService } from "./services.ts";
import { CANCEL_SERVICE, SLOW_READER_BYTES } from "./shared.ts";
import type { RouterState } from "./state.ts";
import { traceHandedOver, traceOf } from "./trace.ts";

export function onFrontend(r: RouterState, frames: Buffer[]): void {
  const route = frames[0];
  if (route === undefined) return;
  if (r.guard.active && r.guard.isBlocked(route.toString("hex"), r.now)) {
    r.counters.security.droppedWhileBlocked++;
    return;
  }
  let bytes = 0;
  for (let i = 1; i < frames.length; i++) bytes += frames[i].length;
  const message = parseFrontend(frames.slice(1), r.config.limits.framesMax, r.config.limits);
  // Batches are checked per entry, satellite replies per result (onWorkerReply).
  const checkWhole = message.kind === "client-request" || message.kind === "malformed";
  if (checkWhole && bytes > r.config.limits.messageBytesMax) {
    r.counters.tooLarge++;
    if (message.kind === "client-request") {
      r.outbox.replyError(
        originOf(r, route, message),
        "",
        ErrorCode.tooLarge,
        `message of ${bytes} bytes exceeds the limit of ${r.config.limits.messageBytesMax}`,
      );
    }
    return;
  }
  switch (message.kind) {
    case "malformed":
      r.counters.malformed.frontend++;
      onMalformedPeer(r, route);
      return;
    case "client-request":
      onClientRequest(r, route, message);
      return;
    case "client-batch":
      onClientBatch(r, route, message.entries, message.payloads, message.session);
      return;
    case "worker-ready":
      onWorkerReady(r, route, message.service, message.hello);
      return;
    default:
      onWorkerMessage(r, route, message);
  }
}

/** The per-peer malformed budget (peer-guard.ts): a peer over it is ignored for a while. */
export function onMalformedPeer(r: RouterState, route: Buffer): void {
  const peer = route.toString("hex");
  if (!r.guard.malformed(peer, r.now)) return;
  r.counters.security.peersBlocked++;
  const limits = r.config.limits;
  r.publishEvent("security.peer-blocked", {
    peer,
    reason: `more than ${limits.malformedPerPeerMax} malformed messages in ${limits.malformedWindowMs} ms`,
    forMs: limits.peerBlockMs,
  });
}

export function originOf(
  _r: RouterState,
  route: Buffer,
  message: Extract<FrontendMessage, { kind: "client-request" }>,
): Origin {
  const service = Buffer.from(message.service);
  return message.header === null
    ? { kind: "mdp", route, service }
    : { kind: "dsat", route, correlation: message.header.c, service };
}

export function onClientRequest(
  r: RouterState,
  route: Buffer,
  message: Extract<FrontendMessage, { kind: "client-request" }>,
): void {
  const origin = originOf(r, route, message);
  const header = message.header;
  const call = {
    route,
    origin,
    owner: routeOwner(route),
    service: message.service,
    body: message.body,
    id: header?.id,
  };
  if (answerService(r, call, false)) return;
  submit(r, {
    origin,
    owner: routeOwner(route),
    type: message.service,
    id: header?.id,
    key: header?.k,
    timeoutMs: header?.t,
    payload: message.body,
    raw: header === null,
    traceparent: header?.tp,
    inputs: header?.in,
  });
}

export function onClientBatch(
  r: RouterState,
  route: Buffer,
  entries: RequestEntry[],
  payloads: Buffer[],
  session: Buffer | null,
): void {
  const owner = session === null ? routeOwner(route) : r.owners.ofSession(session);
  for (let i = 0; i < entries.length; i++) {
    const [service, correlation, length, timeoutMs, id, key, traceparent, inputs] = entries[i];
    const origin: Origin = { kind: "batch", route, correlation };
    // The call is built only for the orchestrator's own services (not per job).
    const ownService = isOwnService(service, true);
    const call = ownService
      ? { route, origin, owner, service, body: [payloads[i]], id: id ?? undefined }
      : null;
    if (service === CANCEL_SERVICE && call !== null && answerService(r, call, true)) continue;
    if (length > r.config.limits.messageBytesMax) {
      r.counters.tooLarge++;
      r.outbox.replyError(
        origin,
        id ?? "",
        ErrorCode.tooLarge,
        `payload of ${length} bytes exceeds the limit of ${r.config.limits.messageBytesMax}`,
      );
      continue;
    }
    if (call !== null && answerService(r, call, true)) continue;
    submit(r, {
      origin,
      owner,
      type: service,
      id: id ?? undefined,
      key: key ?? undefined,
      timeoutMs: timeoutMs ?? undefined,
      payload: [payloads[i]],
      raw: false,
      traceparent,
      inputs,
    });
  }
}

/**
 * Accepts a job from any origin; answers at once if it cannot be taken, and returns why (null
 * when it was taken, or attached to / answered as the job it names again).
 */
export function submit(
  r: RouterState,
  request: {
    origin: Origin;
    owner: string;
    type: string;
    id?: string;
    key?: string;
    timeoutMs?: number;
    payload: Buffer[];
    raw: boolean;
    /** W3C trace context, as the request carried it (checked here: trace.ts). */
    traceparent?: unknown;
    /** Its inputs' bytes as the request carried them (checked here: locality.ts); null or absent: none. */
    inputs?: unknown;
  },
): string | null {
  const { origin } = request;
  let { type } = request;
  if (request.id !== undefined && resubmission(r, origin, request.owner, request.id, type)) return null;
  if (r.journalError !== null)
    return refuse(r, request, r.journalRefusal, `the journal failed: ${r.journalError}`);
  const typeConfig = r.typeConfig(type);
  if (typeConfig === undefined)
    return refuse(
      r,
      request,
      ErrorCode.unknownType,
      `unknown job type "${type}": no satellite serves it and the topology does not declare it`,
    );
  type = r.typeName(type);
  const inputs = heldInputs(r, request.inputs);
  if (typeof inputs === "string") return refuse(r, request, ErrorCode.malformed, `inputs: ${inputs}`);
  const heldBytes = bytesOf(request.payload) + (inputs?.bytes.length ?? 0);
  // Once per job: the budgets are per client (routing id).
  const client = "route" in origin ? routeHex(origin.route) : null;
  const overloaded = overload(r, origin, heldBytes, client);
  if (overloaded !== null) return refuse(r, request, ErrorCode.overloaded, overloaded);
  const id = request.id ?? `${r.ports.instance}-${(r.nextJobNumber++).toString(36)}`;
  const now = r.now;
  const job: Job = {
    id,
    owner: request.owner,
    type,
    firstType: type,
    x: hashKey(request.key ?? id) | 0,
    key: request.key,
    origin,
    waiters: null,
    journalSeq: 0,
    attemptsBefore: 0,
    payload: request.payload,
    heldBytes,
    raw: request.raw,
    trackerId: id,
    tracked: false,
    step: 0,
    attempt: 0,
    satellite: null,
    queuedOn: null,
    spilled: null,
    deadlineAt: now + (request.timeoutMs ?? typeConfig.timeoutMs),
    receivedAt: now,
    steps: r.pipelineFor(type),
    result: null,
    placementFailure: null,
    errorCode: null,
    cancelRequested: false,
    chargedTo: client,
    arrival: 0,
    trace: traceOf(r, request.traceparent),
    inputs,
  };
  hold(r, job);
  if (!r.durable) {
    submitStep(r, job, now);
    return null;
  }
  // Durable: the job runs (and titanic says 200) once its record is on disk.
  job.journalSeq = r.append(acceptedRecord(r, job));
  r.awaitingCommit.push(job); // append() asked for the commit
  return null;
}

/**
 * A route's hex, remembered for the last route: a batch's jobs share one route buffer, and the
 * string is then built (and hashed by the budget maps) once per batch, not once per job.
 */
function routeHex(route: Buffer): string {
  if (route !== lastRoute) {
    lastRoute = route;
    lastRouteHex = route.toString("hex");
  }
  return lastRouteHex;
}
let lastRoute: Buffer | null = null;
let lastRouteHex = "";

/** Answers a request that cannot be taken, and returns why. */
function refuse(
  r: RouterState,
  request: { origin: Origin; type: string; id?: string },
  code: ErrorCodeName,
  message: string,
): string {
  r.outbox.replyError(request.origin, request.id ?? "", code, message, request.type);
  return message;
}

/**
 * Why a new job cannot be taken now (DSAT_ERR_OVERLOADED, retryable), or null. Budgets count
 * jobs and bytes, per client and in all (docs/security.md "Threats"): a client that is not
 * reading its replies gets nothing more to read until it does.
 */
export function overload(
  r: RouterState,
  origin: Origin,
  bytes: number,
  client: string | null,
): string | null {
  const limits = r.config.limits;
  if (r.jobs.size >= limits.jobsMax) return `the orchestrator holds ${r.jobs.size} jobs, its limit`;
  if (r.heldBytes + bytes > limits.jobsBytesMax) {
    r.counters.bytesRefused++;
    return `the orchestrator holds ${r.heldBytes} bytes of jobs (limits.jobsBytesMax ${limits.jobsBytesMax})`;
  }
  if (client === null || !("route" in origin)) return null;
  if (r.guard.inFlightOf(client) >= limits.inFlightPerClientMax) {
    r.counters.security.clientInFlightRefused++;
    return `this client has ${limits.inFlightPerClientMax} jobs in flight, its limit`;
  }
  if (r.guard.bytesOf(client) + bytes > limits.clientBytesMax) {
    r.counters.security.clientBytesRefused++;
    return `this client has ${r.guard.bytesOf(client)} bytes of jobs in flight (limits.clientBytesMax ${limits.clientBytesMax})`;
  }
  const unread = r.ports.peerBacklogBytes(origin.route);
  if (unread >= SLOW_READER_BYTES) {
    r.counters.security.slowReaderRefused++;
    return `this client is not reading its replies (${unread} bytes wait for it)`;
  }
  return null;
}

/** A job enters the book: its bytes are charged to its client's and the total budget. */
export function hold(r: RouterState, job: Job): void {
  r.jobs.set(job.id, job);
  job.arrival = r.nextArrival++;
  r.heldBytes += job.heldBytes;
  // Charged to the client it came from; its origin may change later (a resend from a new connection).
  if (job.chargedTo === undefined)
    job.chargedTo = "route" in job.origin ? job.origin.route.toString("hex") : null;
  if (job.chargedTo !== null) job.chargedTo = r.guard.addInFlight(job.chargedTo, job.heldBytes);
}

/** A job leaves the book (the one place that does `jobs.delete`): its budget charges go. */
export function release(r: RouterState, job: Job): boolean {
  if (r.jobs.get(job.id) !== job) return false;
  r.jobs.delete(job.id);
  r.heldBytes -= job.heldBytes;
  if (job.chargedTo !== undefined && job.chargedTo !== null)
    r.guard.removeInFlight(job.chargedTo, job.heldBytes);
  return true;
}

/**
 * A request naming a job id the orchestrator knows: a client resending after a reconnect, or
 * after its own restart. A live job gets the new requester as a waiter (nothing runs twice); a
 * finished one is answered with its stored result. Returns false for an id never seen.
 */
export function resubmission(
  r: RouterState,
  origin: Origin,
  owner: string,
  id: string,
  type: string,
): boolean {
  const live = r.jobs.get(id);
  const finished = live === undefined ? finishedJob(r, id) : undefined;
  if (live === undefined && finished === undefined) return false;
  const jobOwner = live?.owner ?? ownerFromJournal((finished as CompletedRecord).origin);
  if (jobOwner !== owner) {
    // Someone else's job: its result, state and existence stay theirs.
    r.counters.security.foreignJobRefused++;
    r.outbox.replyError(origin, id, ErrorCode.notFound, `no job "${id}" of this client's`, type);
    return true;
  }
  if (live !== undefined) {
    r.counters.resubmissions.attached++;
    if (!sameOrigin(live.origin, origin) && !(live.waiters ?? []).some((o) => sameOrigin(o, origin))) {
      if (live.origin.kind === "publish" || live.origin.kind === "titanic") live.origin = origin;
      else (live.waiters ??= []).push(origin);
    }
    return true;
  }
  r.counters.resubmissions.answered++;
  if (attachToUnwrittenReply(r, origin, id)) return true;
  answerFromRecord(r, origin, finished as CompletedRecord);
  return true;
}

export function finishedJob(r: RouterState, id: string): CompletedRecord | undefined {
  return r.finished.get(id);
}

/** Replies to `origin` with what a finished job's record says. */
export function answerFromRecord(r: RouterState, origin: Origin, record: CompletedRecord): void {
  const job = jobFromRecord(r, record, origin);
  if (record.status === "ok") r.outbox.replyOk(job, record.result ?? [NULL_PAYLOAD]);
  else
    r.outbox.replyError(origin, record.id, record.status as ErrorCodeName, record.message, record.firstType);
}

/** Just enough of a Job to reply with (replyOk reads id, origin, raw and firstType). */
export function jobFromRecord(r: RouterState, record: CompletedRecord, origin: Origin): Job {
  return {
    ...jobFromJournal(r, {
      accepted: {
        k: "accepted",
        id: record.id,
        type: record.firstType,
        firstType: record.firstType,
        step: 0,
        steps: record.steps,
        key: record.key,
        payload: record.payload ?? [],
        raw: record.raw,
        deadlineAt: 0,
        receivedAt: record.receivedAt,
        origin: { ...originToJournal(origin, ownerFromJournal(record.origin)) },
      },
      attempts: 0,
      satelliteId: null,
    }),
    origin,
  };
}

/** Hands the job's current step to the tracker, which answers with a `place` effect. */
export function submitStep(r: RouterState, job: Job, now: number): void {
  job.trackerId = job.step === 0 ? job.id : `${job.id}/${job.step}`;
  job.attempt = 0;
  job.result = null;
  job.placementFailure = null;
  job.tracked = true;
  const candidates = jobCandidates(r, job);
  const submit: SubmitEvent = {
    kind: "submit",
    jobId: job.trackerId,
    type: job.type,
    candidates,
    // Deadlines are wall-clock; the tracker's clock runs behind by this process's stalls.
    deadlineAtMs: job.deadlineAt - r.stalledMs,
  };
  // 9/TSP: a Titanic request waits for its first worker until its deadline.
  if (job.origin.kind === "titanic") submit.patient = true;
  if (job.attemptsBefore > 0) {
    submit.attemptsBefore = job.attemptsBefore;
    job.attemptsBefore = 0;
  }
  if (job.trace !== null) traceHandedOver(r, job, job.trace, now);
  r.trackerStep(submit, now);
  if (job.cancelRequested) r.trackerStep({ kind: "cancel", jobId: job.trackerId }, now);
  runEffects(r, now);
}

/** Cancels a job on behalf of its owner (anyone else's cancel is ignored). */
export function cancel(r: RouterState, owner: string, jobId: string, now: number): void {
  const job = r.jobs.get(jobId);
  if (job === undefined || job.owner !== owner) return;
  // Not with the tracker yet (its acceptance is not on disk, or it was recovered and waits to be
  // placed): the cancel is applied as soon as it is submitted.
  if (!job.tracked) {
    job.cancelRequested = true;
    return;
  }
  r.trackerStep({ kind: "cancel", jobId: job.trackerId }, now);
  runEffects(r, now);
}

export function onIntake(r: RouterState, frames: Buffer[]): void {
  // [type, payload], [type, header, payload] or [type, header, payload, inputs]; subscription
  // control frames never arrive here.
  if (frames.length < 2 || frames.length > 4) {
    r.counters.malformed.intake++;
    return;
  }
  const type = frames[0].toString();
  if (!/^[\x21-\x7e]{1,255}$/.test(type) || type.startsWith("mmi.")) {
    r.counters.malformed.intake++;
    return;
  }
  let bytes = 0;
  for (const frame of frames) bytes += frame.length;
  let id: string | undefined;
  let key: string | undefined;
  if (frames.length >= 3) {
    // Size and key count are checked on the bytes before the header is decoded.
    const header = parseIntakeHeader(frames[1], r.config.limits);
    if (typeof header === "string") {
      r.counters.malformed.intake++;
      return;
    }
    id = header.id;
    key = header.key;
  }
  if (bytes > r.config.limits.messageBytesMax) {
    r.counters.tooLarge++;
    r.publishEvent(`result.${type}`, {
      id: id ?? "",
      type,
      status: ErrorCode.tooLarge,
      error: "message too large",
    });
    return;
  }
  submit(r, {
    origin: { kind: "publish" },
    owner: PUBLISH_OWNER,
    type,
    id,
    key,
    payload: [frames[frames.length === 4 ? 2 : frames.length - 1]],
    raw: false,
    // Checked by submit: bad inputs refuse this job alone, on the events socket (result.<type>).
    inputs: frames.length === 4 ? frames[3] : undefined,
  });
}
