// A job type's settings as given and as resolved, and its pipeline: pure (the router learns types
// from satellites at run time with resolveType).
import type { RuleSpec } from "../crush/core.ts";
import type { Limits } from "../protocol/index.ts";

export type OverflowPolicy = "queue" | "spill";

export interface JobTypeConfig {
  /** Candidates per job, each in a distinct failure domain (CRUSH num_rep). Default 3. */
  replicas?: number;
  /** Bucket type of the failure domain. Default: the innermost hierarchy level ("host"). */
  failureDomain?: string;
  /** A crushha/JSON rule instead of the default `chooseleaf firstn 0 type <failureDomain>`. */
  rule?: RuleSpec;
  /** Pipeline: the type(s) the result goes to next, in order. */
  next?: string | string[];
  /** Deadline for a job of this type when the client names none, ms. */
  timeoutMs?: number;
  /** When the first candidate is full: wait in its queue ("queue") or go to the next one ("spill"). */
  overflow?: OverflowPolicy;
  /** Attempts before a job fails (each retry on the next candidate). Default 3. */
  attemptsMax?: number;
  /** Longest run of one attempt after its ack, ms (the tracker's default otherwise). */
  runTimeoutMs?: number;
}

/** CURVE + ZAP (docs/security.md). */
export interface ResolvedTypeConfig {
  replicas: number;
  failureDomain: string;
  rule?: RuleSpec;
  next: string[];
  timeoutMs: number;
  overflow: OverflowPolicy;
  /** Unset: the tracker's attemptsMax (orchestrator.tracker.attemptsMax, default 3) applies. */
  attemptsMax?: number;
  runTimeoutMs?: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * The steps a job of `type` goes through after it: its `next` list when it names several, or its
 * single `next` followed by that type's own pipeline. Throws on a loop.
 */
export function pipelineOf(types: ReadonlyMap<string, ResolvedTypeConfig>, type: string): string[] {
  const steps: string[] = [];
  const seen = new Set([type]);
  let current = types.get(type);
  while (current !== undefined && current.next.length > 0) {
    if (current.next.length > 1) {
      for (const step of current.next) {
        if (seen.has(step)) throw new ConfigError(`types.${type}.next: the pipeline loops back to "${step}"`);
        seen.add(step);
      }
      steps.push(...current.next);
      break;
    }
    const step = current.next[0];
    if (seen.has(step)) throw new ConfigError(`types.${type}.next: the pipeline loops back to "${step}"`);
    seen.add(step);
    steps.push(step);
    current = types.get(step);
  }
  return steps;
}

export function resolveType(
  name: string,
  type: JobTypeConfig,
  hierarchy: readonly string[],
  limits: Limits,
): ResolvedTypeConfig {
  const replicas = type.replicas ?? 3;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) {
    throw new ConfigError(`types.${name}.replicas: expected an integer in 1..16, got ${replicas}`);
  }
  const failureDomain: string = type.failureDomain ?? hierarchy.at(-1) ?? "satellite";
  if (failureDomain !== "satellite" && !hierarchy.includes(failureDomain)) {
    throw new ConfigError(
      `types.${name}.failureDomain: "${failureDomain}" is not a hierarchy level (${[...hierarchy, "satellite"].join(", ")})`,
    );
  }
  const attemptsMax = type.attemptsMax;
  if (attemptsMax !== undefined && (!Number.isInteger(attemptsMax) || attemptsMax < 1)) {
    throw new ConfigError(`types.${name}.attemptsMax: expected a positive integer`);
  }
  const overflow = type.overflow ?? "queue";
  if (overflow !== "queue" && overflow !== "spill") {
    throw new ConfigError(`types.${name}.overflow: expected "queue" or "spill"`);
  }
  return {
    replicas,
    failureDomain,
    rule: type.rule,
    next: type.next === undefined ? [] : Array.isArray(type.next) ? type.next : [type.next],
    timeoutMs: type.timeoutMs ?? limits.requestTimeoutMs,
    overflow,
    ...(attemptsMax !== undefined ? { attemptsMax } : {}),
    ...(type.runTimeoutMs !== undefined ? { runTimeoutMs: type.runTimeoutMs } : {}),
  };
}
