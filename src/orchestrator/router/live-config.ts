// Live configuration (OpenIO's get/set_live_config; docs/operations.md, "Live config"): the
// settings that may change while the orchestrator runs, read and changed by key. A change is a
// router event (`config-set`), so a replicated log can carry it; the shell has already checked the
// value against the topology's schema (classifyLiveKey names the schema node), and the router
// checks it again against what it depends on (the tracker's own rules, the limits' combinations).
import { validateLimits } from "../../protocol/index.ts";
import { TRACKER_LIVE, TRACKER_RESTART_ONLY } from "../../tracker/index.ts";
import { resolveScores, type ScoreWeights } from "../scores-config.ts";
import type { RouterState } from "./state.ts";

/** Limits read at each use (the others size sockets, tables or shapes made at start). */
const LIMITS_LIVE = [
  "inFlightPerClientMax",
  "clientBytesMax",
  "jobsBytesMax",
  "satelliteQueueMax",
  "titanicTimeoutMs",
] as const;

const TYPE_LIVE = ["timeoutMs", "runTimeoutMs", "attemptsMax"] as const;
const SCORES_LIVE = ["lagMaxMs", "errorRateMax", "step", "min", "startLocked"] as const;
const WEIGHTS = ["inFlight", "queued", "lag", "errors"] as const;

export type LiveKey =
  /** `schema`: the JSON Pointer of the value's node in topologies/topology.schema.json. */
  { kind: "live"; schema: string } | { kind: "restart-only" | "unknown"; why: string };

const ORCHESTRATOR = "/$defs/orchestrator/properties";

const has = (list: readonly string[], name: string | undefined): boolean =>
  name !== undefined && list.includes(name);

/** Whether `key` may change at run time, and where the schema says what it must be. */
export function classifyLiveKey(key: string): LiveKey {
  const parts = key.split(".");
  const [head, a, b] = parts;
  const restart = (what: string): LiveKey => ({
    kind: "restart-only",
    why: `${key} ${what}: it changes only with a restart (edit the topology, then restart the orchestrator)`,
  });
  switch (head) {
    case "types":
      if (parts.length !== 3 || a === "") break;
      if (has(TYPE_LIVE, b)) return { kind: "live", schema: `/$defs/type/properties/${b}` };
      return restart("shapes the type's placement or its satellites");
    case "tracker":
      if (parts.length !== 2) break;
      if (has(TRACKER_LIVE, a)) return { kind: "live", schema: `${ORCHESTRATOR}/tracker/properties/${a}` };
      if (has(TRACKER_RESTART_ONLY, a)) return restart("sizes the tracker's tables");
      break;
    case "limits":
      if (parts.length !== 2) break;
      if (has(LIMITS_LIVE, a)) return { kind: "live", schema: `${ORCHESTRATOR}/limits/properties/${a}` };
      return restart("sizes sockets, tables or input checks made at start");
    case "scores":
      if (parts.length === 3 && a === "weights" && has(WEIGHTS, b))
        return { kind: "live", schema: `${ORCHESTRATOR}/scores/properties/weights/properties/${b}` };
      if (parts.length === 2 && has(SCORES_LIVE, a))
        return { kind: "live", schema: `${ORCHESTRATOR}/scores/properties/${a}` };
      if (parts.length === 2 && a === "formula") return restart("names the formula");
      break;
    case "frontend":
    case "intake":
    case "events":
    case "control":
    case "hierarchy":
    case "security":
    case "journal":
    case "diskSpill":
    case "heartbeatMs":
    case "dynamicTypes":
      return restart(head === "hierarchy" ? "shapes every CRUSH map" : "is bound or opened at start");
  }
  return {
    kind: "unknown",
    why: `unknown setting "${key}"; live ones: types.TYPE.{${TYPE_LIVE.join(",")}}, tracker.{${TRACKER_LIVE.join(",")}}, limits.{${LIMITS_LIVE.join(",")}}, scores.{${SCORES_LIVE.join(",")}}, scores.weights.{${WEIGHTS.join(",")}}`,
  };
}

/** Every live setting and its value now, by key (`dsat config get`). */
export function liveSettings(r: RouterState): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  const tracker = r.tracker.config;
  for (const [name, type] of [...r.config.types].sort(([x], [y]) => x.localeCompare(y))) {
    settings[`types.${name}.timeoutMs`] = type.timeoutMs;
    settings[`types.${name}.runTimeoutMs`] = tracker.runTimeoutMsByType[name] ?? tracker.runTimeoutMs;
    settings[`types.${name}.attemptsMax`] = tracker.attemptsMaxByType[name] ?? tracker.attemptsMax;
  }
  for (const name of TRACKER_LIVE) settings[`tracker.${name}`] = tracker[name];
  for (const name of LIMITS_LIVE) settings[`limits.${name}`] = r.config.limits[name];
  const scores = r.config.scores;
  for (const name of WEIGHTS) settings[`scores.weights.${name}`] = scores.weights[name];
  for (const name of SCORES_LIVE) settings[`scores.${name}`] = scores[name];
  return settings;
}

export function getLiveConfig(
  r: RouterState,
  key?: string,
): { ok: boolean; settings?: Record<string, unknown>; error?: string } {
  const settings = liveSettings(r);
  if (key === undefined || key === "") return { ok: true, settings };
  const known = classifyLiveKey(key);
  if (known.kind !== "live") return { ok: false, error: known.why };
  if (!(key in settings)) return { ok: false, error: `${key}: no type "${key.split(".")[1]}" is known` };
  return { ok: true, settings: { [key]: settings[key] } };
}

/** `config-set`: checks and applies one change; `config.changed` records it. */
export function setLiveConfig(
  r: RouterState,
  key: string,
  value: unknown,
): { ok: boolean; value?: unknown; error?: string } {
  const known = classifyLiveKey(key);
  if (known.kind !== "live") return { ok: false, error: known.why };
  const previous = liveSettings(r)[key];
  const problem = apply(r, key, value);
  if (problem !== null) return { ok: false, error: problem.startsWith(key) ? problem : `${key}: ${problem}` };
  r.publishEvent("config.changed", { key, value, previous });
  r.log(`orchestrator: config ${key} = ${JSON.stringify(value)} (was ${JSON.stringify(previous)})`);
  return { ok: true, value };
}

const positiveInteger = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value > 0;

/** Applies a change, or says why not (the same words as the checks at start). */
function apply(r: RouterState, key: string, value: unknown): string | null {
  const [head, a, b] = key.split(".");
  switch (head) {
    case "types": {
      const type = r.config.types.get(a);
      if (type === undefined) return `no type "${a}" is known`;
      if (!positiveInteger(value)) return `expected a positive integer, got ${JSON.stringify(value)}`;
      if (b === "timeoutMs") {
        type.timeoutMs = value;
        return null;
      }
      const tracker = r.tracker.config;
      const problem =
        b === "runTimeoutMs"
          ? r.tracker.reconfigure({ runTimeoutMsByType: { ...tracker.runTimeoutMsByType, [a]: value } })
          : r.tracker.reconfigure({ attemptsMaxByType: { ...tracker.attemptsMaxByType, [a]: value } });
      if (problem !== null) return problem;
      if (b === "runTimeoutMs") type.runTimeoutMs = value;
      else type.attemptsMax = value;
      return null;
    }
    case "tracker":
      return r.tracker.reconfigure({ [a]: value });
    case "limits": {
      const name = a as (typeof LIMITS_LIVE)[number];
      try {
        validateLimits({ ...r.config.limits, [name]: value });
      } catch (error) {
        return (error as Error).message;
      }
      r.config.limits[name] = value as number;
      return null;
    }
    case "scores": {
      const scores = r.config.scores;
      const weights: ScoreWeights = { ...scores.weights };
      const changed =
        a === "weights" ? { ...scores, weights: { ...weights, [b]: value } } : { ...scores, [a]: value };
      try {
        const resolved = resolveScores(changed as never);
        Object.assign(scores, { ...resolved, weights: Object.assign(scores.weights, resolved.weights) });
      } catch (error) {
        return (error as Error).message;
      }
      // Scores follow the new formula at the next heartbeats.
      return null;
    }
  }
  return "not a live setting";
}

/**
 * `dsat cache flush`: every type's remembered CRUSH candidates are forgotten, so the next jobs are
 * placed from the map as it is now (after an external change the router did not see).
 */
export function flushPlacementCaches(r: RouterState): { ok: boolean; value: number } {
  let entries = 0;
  for (const placement of r.placements.values()) entries += placement.flushCache();
  r.publishEvent("config.cache-flushed", { types: r.placements.size, entries });
  return { ok: true, value: entries };
}
