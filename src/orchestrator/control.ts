// The control socket (docs/protocol.md, "Control"): one MessagePack map in, one out, from REQ
// peers ([route, "", request]) or DEALER peers ([route, request]). The answers come from the
// orchestrator through ControlHandlers; this module knows the commands and the framing. Who may
// run which command is control-auth.ts.
import {
  DEFAULT_LIMITS,
  decodeShaped,
  EMPTY,
  encode,
  type InputLimits,
  inputShapes,
} from "../protocol/index.ts";

export interface ControlRequest {
  route: Buffer;
  /** Sent by a REQ socket: the reply needs the empty delimiter frame too. */
  delimited: boolean;
  command: string;
  fields: Record<string, unknown>;
}

/** What the orchestrator answers with. */
export interface ControlHandlers {
  /** A page of jobs (limit, after: see docs/protocol.md), or `{ ok: false, error }` for a bad page. */
  jobs(request: { state?: unknown; id?: unknown; limit?: unknown; after?: unknown }): object;
  retry(id: string): object;
  /** `drain` / `undrain` TARGET: the satellites it names now. */
  drain(target: string, drain: boolean): object;
  /** `score-lock` TARGET SCORE / `score-unlock` TARGET (score null). */
  scoreLock(target: string, score: number | null): object;
  /** `config-get` [KEY] / `config-set` KEY VALUE: live settings. */
  configGet(key: string | undefined): object;
  configSet(key: string, value: unknown): object;
  /** `cache-flush`: placement caches forgotten. */
  cacheFlush(): object;
  /** `rebalance` [maxMoves]: queued keyed jobs follow their key's first candidate now (null: all). */
  rebalance(maxMoves: number | null): object;
  status(): { satellites: unknown; stats: unknown } & object;
  reloadKeys(): object;
  /** Jobs the orchestrator holds (for `memory`). */
  jobsHeld(): number;
  /** `log-level [LEVEL]`: its logger's level, set first when `level` is given (docs/observability.md). */
  logLevel(level: unknown): object;
}

export const CONTROL_COMMANDS = [
  "ping",
  "status",
  "satellites",
  "stats",
  "jobs",
  "retry",
  "drain",
  "undrain",
  "score-lock",
  "score-unlock",
  "config-get",
  "config-set",
  "cache-flush",
  "rebalance",
  "memory",
  "reload-keys",
  "log-level",
] as const;

/** null when the message is not a control request (counted as malformed by the caller). */
export function parseControlRequest(
  frames: Buffer[],
  limits: InputLimits = DEFAULT_LIMITS,
): ControlRequest | null {
  const route = frames[0];
  const delimited = frames.length === 3 && frames[1].length === 0;
  const body = delimited ? frames[2] : frames[1];
  if (route === undefined || body === undefined || frames.length > 3) return null;
  let decoded: unknown;
  try {
    // Size, key count and nesting are checked on the bytes first (headerBytesMax, headerKeysMax).
    decoded = decodeShaped(body, inputShapes(limits).controlRequest);
  } catch {
    return null;
  }
  const fields = typeof decoded === "object" && decoded !== null ? (decoded as Record<string, unknown>) : {};
  return { route, delimited, command: typeof fields.cmd === "string" ? fields.cmd : "", fields };
}

export function answerControl(handlers: ControlHandlers, { command, fields }: ControlRequest): unknown {
  switch (command) {
    case "jobs":
      return handlers.jobs(fields);
    case "retry":
      return handlers.retry(typeof fields.id === "string" ? fields.id : "");
    case "drain":
    case "undrain":
      return handlers.drain(typeof fields.target === "string" ? fields.target : "", command === "drain");
    case "score-lock":
      return typeof fields.score === "number"
        ? handlers.scoreLock(typeof fields.target === "string" ? fields.target : "", fields.score)
        : { ok: false, error: "score-lock needs a score (an integer in 0..100)" };
    case "score-unlock":
      return handlers.scoreLock(typeof fields.target === "string" ? fields.target : "", null);
    case "config-get":
      return handlers.configGet(typeof fields.key === "string" ? fields.key : undefined);
    case "config-set":
      return typeof fields.key === "string" && "value" in fields
        ? handlers.configSet(fields.key, fields.value)
        : { ok: false, error: "config-set needs a key and a value" };
    case "cache-flush":
      return handlers.cacheFlush();
    case "rebalance":
      return fields.maxMoves === undefined || fields.maxMoves === null || typeof fields.maxMoves === "number"
        ? handlers.rebalance((fields.maxMoves as number | null | undefined) ?? null)
        : { ok: false, error: "rebalance: maxMoves must be a non-negative integer" };
    case "ping":
      return { ok: true };
    case "status":
      return { ok: true, ...handlers.status() };
    case "satellites":
      return { ok: true, satellites: handlers.status().satellites };
    case "stats":
      return { ok: true, stats: handlers.status().stats };
    case "reload-keys":
      return handlers.reloadKeys();
    case "log-level":
      return handlers.logLevel(fields.level);
    case "memory":
      // After a full collection when the process runs with --expose-gc (benchmarks do).
      (globalThis as { gc?: () => void }).gc?.();
      return { ok: true, jobs: handlers.jobsHeld(), ...process.memoryUsage() };
    default:
      return { ok: false, error: `unknown command "${command}"; known: ${CONTROL_COMMANDS.join(", ")}` };
  }
}

export function controlReplyFrames(request: ControlRequest, reply: unknown): Buffer[] {
  return request.delimited ? [request.route, EMPTY, encode(reply)] : [request.route, encode(reply)];
}
