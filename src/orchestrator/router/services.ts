// The services the orchestrator answers itself, one table by name: Titanic (9/TSP: durable
// request/reply for plain MDP clients), MMI (8/MMI: does a service exist) and dsat.cancel. Their
// prefixes (mmi., titanic., dsat.) are reserved: no satellite may register them (admission.ts).
import type { CompletedRecord } from "../../journal/core.ts";
import {
  DSAT_MARK,
  decodeShaped,
  EMPTY,
  inputShapes,
  parseDsatRequestBody,
  plainClientReplyFrames,
} from "../../protocol/index.ts";
import { isReservedService } from "../admission.ts";
import { type Origin, ownerFromJournal, TITANIC_OWNER } from "../job.ts";
import { cancel, finishedJob, submit } from "./clients.ts";
import { learnType } from "./satellites.ts";
import { CANCEL_SERVICE } from "./shared.ts";
import type { RouterState } from "./state.ts";

/** A request to one of the orchestrator's own services. */
export interface ServiceCall {
  route: Buffer;
  origin: Origin;
  /** Who sent it (job owners: a session, or the connection). */
  owner: string;
  service: string;
  body: Buffer[];
  /** The job id its dsat header or batch entry named. */
  id: string | undefined;
}

interface Service {
  answer(r: RouterState, call: ServiceCall): void;
  /** Answered for batch entries too (Titanic's replies are plain MDP frames: single requests only). */
  batched: boolean;
}

const mmi: Service = { answer: (r, call) => onMmi(r, call.origin, call.body, call.service), batched: true };
const titanic: Service = {
  answer: (r, call) => onTitanic(r, call.route, call.service, call.body),
  batched: false,
};

/** By exact name, then by prefix: an unknown mmi.* name gets 501, an unknown titanic.* one 500. */
const SERVICES: ReadonlyMap<string, Service> = new Map<string, Service>([
  [
    // No reply of its own: the cancelled job's request gets CANCELLED.
    CANCEL_SERVICE,
    { answer: (r, call) => call.id !== undefined && cancel(r, call.owner, call.id, r.now), batched: true },
  ],
  ["mmi.", mmi],
  ["titanic.", titanic],
]);

/**
 * Answers a request for one of the orchestrator's own services; false when `call.service` is not
 * one (a job type, to be submitted).
 */
export function answerService(r: RouterState, call: ServiceCall, batched: boolean): boolean {
  const service = serviceNamed(call.service);
  if (service === undefined || (batched && !service.batched)) return false;
  service.answer(r, call);
  return true;
}

/** Would answerService answer a call to `name`? (A job type is not: its call need not be built.) */
export function isOwnService(name: string, batched: boolean): boolean {
  const service = serviceNamed(name);
  return service !== undefined && (!batched || service.batched);
}

function serviceNamed(name: string): Service | undefined {
  return SERVICES.get(name) ?? SERVICES.get(name.slice(0, name.indexOf(".") + 1));
}

/** titanic.request / titanic.reply / titanic.close, answered with 9/TSP's status frames. */
export function onTitanic(r: RouterState, route: Buffer, service: string, body: Buffer[]): void {
  const answer = (...frames: Array<string | Buffer>) =>
    r.sendFrames([
      route,
      ...plainClientReplyFrames(
        Buffer.from(service),
        frames.map((frame) => (typeof frame === "string" ? Buffer.from(frame) : frame)),
      ),
    ]);
  switch (service) {
    case "titanic.request": {
      const type = body[0]?.toString() ?? "";
      const inner =
        body.length < 2 ? "expected the service name, then the request frames" : innerRequest(r, body);
      if (typeof inner === "string") {
        answer("500", inner);
        return;
      }
      const problem = titanicType(r, type);
      if (problem !== null) {
        answer("500", problem);
        return;
      }
      const id = r.ports.randomBytes(16).toString("hex");
      r.titanicRequesters.set(id, route);
      // 9/TSP's promise: stored now, served when a worker for the service is there, until its
      // deadline (limits.titanicTimeoutMs), however long none is.
      const refusal = submit(r, {
        origin: { kind: "titanic" },
        owner: TITANIC_OWNER,
        type,
        id,
        timeoutMs: r.config.limits.titanicTimeoutMs,
        ...inner,
      });
      if (refusal !== null) replyTitanicAccepted(r, id, refusal);
      // Without a journal the job is only in memory: say so at once (9/TSP's promise is weaker).
      else if (!r.durable) replyTitanicAccepted(r, id);
      return;
    }
    case "titanic.reply": {
      const id = body[0]?.toString() ?? "";
      const state = titanicJobState(r, id);
      if (state === "pending") answer("300");
      else if (state === undefined) answer("400");
      else if (state.status === "ok") answer("200", ...(state.result ?? []));
      else answer("500", state.status, state.message);
      return;
    }
    case "titanic.close": {
      const id = body[0]?.toString() ?? "";
      const state = titanicJobState(r, id);
      if (state !== undefined && state !== "pending") r.forget(id);
      answer("200");
      return;
    }
    default:
      // 9/TSP has three services; its status codes are 200, 300, 400 and 500 only.
      answer("500", `unknown titanic service "${service}"`);
  }
}

/**
 * What a titanic.request asks to run: the request frames after the service name, raw (a plain
 * MDP client's), or a dsat single request's `"dsat/1" header payload`, whose header carries the
 * key, trace context and inputs as it would for the job sent directly. Its `c`, `id` and `t` mean
 * nothing here: the uuid is the job id, titanicTimeoutMs the deadline. Why not, for a bad one.
 */
function innerRequest(
  r: RouterState,
  body: readonly Buffer[],
): { payload: Buffer[]; raw: boolean; key?: string; traceparent?: unknown; inputs?: unknown } | string {
  if (!body[1].equals(DSAT_MARK)) return { payload: body.slice(1), raw: true };
  const request = parseDsatRequestBody(body.slice(1), inputShapes(r.config.limits));
  if (typeof request === "string") return `the inner dsat request: ${request}`;
  const { header, payload } = request;
  return { payload: [payload], raw: false, key: header.k, traceparent: header.tp, inputs: header.in };
}

/**
 * A Titanic job by its uuid: "pending" while it runs or its result is not on disk yet, its
 * record once finished. Only jobs titanic.request made: its random uuid is the capability
 * (9/TSP), while other jobs' ids are chosen by their clients and belong to them (a Titanic
 * peer naming one learns nothing: 400, and close leaves it alone).
 */
export function titanicJobState(r: RouterState, id: string): "pending" | CompletedRecord | undefined {
  const live = r.jobs.get(id);
  if (live !== undefined && live.owner === TITANIC_OWNER) return "pending";
  if (live === undefined && titanicFinishing(r, id)) return "pending";
  const record = live === undefined ? finishedJob(r, id) : undefined;
  if (live !== undefined || (record !== undefined && ownerFromJournal(record.origin) !== TITANIC_OWNER)) {
    r.counters.security.foreignJobRefused++;
    return undefined;
  }
  return record;
}

/** A finished job whose completed record waits for the disk. */
export function titanicFinishing(r: RouterState, id: string): boolean {
  return r.repliesAwaitingCommit.some((reply) => reply.job.id === id && reply.job.owner === TITANIC_OWNER);
}

/**
 * Why a titanic.request for `type` cannot be stored (null when it can). A type nobody declared
 * is learnt here when dynamicTypes allows it, so the request waits for its first worker.
 */
export function titanicType(r: RouterState, type: string): string | null {
  if (!/^[\x21-\x7e]{1,255}$/.test(type) || isReservedService(type))
    return `"${type}" is not a service name workers may serve`;
  if (r.typeConfig(type) !== undefined) return null;
  if (!r.config.dynamicTypes) return `unknown service "${type}": the topology does not declare it`;
  if (r.dynamicTypes.size >= r.config.limits.dynamicTypesMax)
    return `unknown service "${type}" and no room for a new one (limits.dynamicTypesMax)`;
  learnType(r, type);
  return null;
}

/** titanic.request's answer: 200 and the uuid once the job is on disk (or 500 and why not). */
export function replyTitanicAccepted(r: RouterState, id: string, refusal?: string): void {
  const route = r.titanicRequesters.get(id);
  if (route === undefined) return;
  r.titanicRequesters.delete(id);
  const body = refusal === undefined ? ["200", id] : ["500", refusal];
  r.sendFrames([
    route,
    ...plainClientReplyFrames(
      Buffer.from("titanic.request"),
      body.map((frame) => Buffer.from(frame)),
    ),
  ]);
}

export function onMmi(r: RouterState, origin: Origin, body: Buffer[], batchService = ""): void {
  const service =
    origin.kind === "publish" || origin.kind === "titanic"
      ? ""
      : origin.kind === "batch"
        ? batchService
        : origin.service.toString();
  let answer = "501";
  if (service === "mmi.service") {
    let name = body[0]?.toString() ?? "";
    if (origin.kind === "dsat" || origin.kind === "batch") {
      try {
        // Checked before decoding: a name is a short string, never a megabyte of map.
        name = String(decodeShaped(body[0] ?? EMPTY, inputShapes(r.config.limits).serviceName));
      } catch {
        name = "";
      }
    }
    // Live workers, or a service the orchestrator answers itself (mmi.*, titanic.*, dsat.*).
    answer = r.registry.serving(name).size > 0 || isReservedService(name) ? "200" : "404";
  }
  r.outbox.replyStatus(origin, answer);
}
