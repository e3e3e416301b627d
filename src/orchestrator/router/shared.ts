// Constants and small helpers the router's parts share.
import {
  attemptOfToken,
  attemptToken,
  decode,
  ErrorCode,
  isJobEntry,
  type JobEntry,
  type SatelliteHello,
} from "../../protocol/index.ts";
import type { SatelliteInfo } from "../registry.ts";

/** The period of the router's tick: heartbeats, liveness, timers. */
export function tickPeriodMs(heartbeatMs: number): number {
  return Math.max(10, Math.min(heartbeatMs, 100));
}

/** The entries of a REQUEST-BATCH we sent (our own encoding; anything odd is skipped). */
export function decodeJobEntries(frame: Buffer): JobEntry[] {
  try {
    const entries = decode(frame);
    return Array.isArray(entries) ? entries.filter(isJobEntry) : [];
  } catch {
    return [];
  }
}

/** Error codes a plain worker may answer with after which a retry cannot help. */
export const FINAL_PLAIN_ERRORS: ReadonlySet<string> = new Set([
  ErrorCode.malformed,
  ErrorCode.tooLarge,
  ErrorCode.rejected,
]);

/** [DSAT_ERR_<CODE>, message]: how a plain worker (and the orchestrator, to plain clients) says "error". */
export function isPlainError(body: Buffer[]): boolean {
  return body.length === 2 && body[0].length <= 40 && /^DSAT_ERR_[A-Z_]+$/.test(body[0].toString("latin1"));
}

/** A READY from the process `satellite` already is (same incarnation, same announcement). */
export function sameProcess(satellite: SatelliteInfo, hello: SatelliteHello): boolean {
  return (
    satellite.incarnation !== null &&
    satellite.incarnation === hello.incarnation &&
    satellite.capacity === hello.capacity &&
    satellite.weight === hello.weight &&
    satellite.types.length === hello.types.length &&
    satellite.types.every((type, index) => hello.types[index] === type) &&
    satellite.location.length === hello.location.length &&
    satellite.location.every(
      ([level, name], index) => hello.location[index][0] === level && hello.location[index][1] === name,
    )
  );
}

/** The service name of a cancel request (dsat clients only). */
export const CANCEL_SERVICE = "dsat.cancel";

export const NO_CANDIDATES: readonly string[] = [];
/** Bytes of replies held for a client (it is at its high-water mark) past which it is refused new jobs. */
export const SLOW_READER_BYTES = 1024 * 1024;
/** Waiting jobs a freed slot looks through for one it may run (drainTo). */
export const WAITING_SCAN_MAX = 256;
/** How often per-type stats are published as a `stats` event. */
export const STATS_EVERY_MS = 5000;

/** Shared empty pipeline (jobs without `next` steps); never mutated. */
export const NO_STEPS: string[] = [];

/** The attempt token satellites see and echo: with a fencing epoch, it carries the term. */
export function wireAttempt(r: { fencingEpoch: number }, attempt: number): number {
  return attemptToken(r.fencingEpoch, attempt);
}

/** A token back from a satellite as the tracker's attempt; -1 (never current) for another epoch's. */
export function localAttempt(r: { fencingEpoch: number }, token: number): number {
  return attemptOfToken(r.fencingEpoch, token);
}
