// Scores (docs/operations.md, "Scores"): how a satellite's load becomes a score 0-100, as the
// topology's `orchestrator.scores` sets it. A declarative weighted formula, no expressions: each
// load term is a fraction 0..1 and costs up to its weight in points.
import { ConfigError } from "./type-config.ts";

export interface ScoreWeights {
  /** Jobs running / capacity. */
  inFlight: number;
  /** Jobs waiting in its own queue (an application's backlog, reported with its load) / capacity. */
  queued: number;
  /** Event-loop lag / lagMaxMs. */
  lag: number;
  /** Error rate / errorRateMax. */
  errors: number;
}

export interface ScoresConfig {
  /** The only formula: 100 less each term's weight times its fraction (0..1). */
  formula?: "weighted";
  weights?: Partial<ScoreWeights>;
  /** Lag that costs the whole lag weight, ms (default 500). */
  lagMaxMs?: number;
  /** Error rate that costs the whole errors weight, 0..1 (default 0.5). */
  errorRateMax?: number;
  /** Scores move in steps of this many points, and only when the load moved that much (default 5). */
  step?: number;
  /** The lowest score the formula gives (default 10): only a lock, or silence, takes a satellite to 0. */
  min?: number;
  /** New satellites start locked at 0 (no job) until `dsat score unlock` (default false). */
  startLocked?: boolean;
}

export interface ResolvedScores {
  formula: "weighted";
  weights: ScoreWeights;
  lagMaxMs: number;
  errorRateMax: number;
  step: number;
  min: number;
  startLocked: boolean;
}

export const DEFAULT_SCORES: Readonly<ResolvedScores> = Object.freeze({
  formula: "weighted",
  weights: Object.freeze({ inFlight: 20, queued: 30, lag: 30, errors: 20 }),
  lagMaxMs: 500,
  errorRateMax: 0.5,
  step: 5,
  min: 10,
  startLocked: false,
});

const WEIGHT_NAMES = ["inFlight", "queued", "lag", "errors"] as const;

function number(path: string, value: unknown, min: number, max: number, integer = false): number {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  )
    throw new ConfigError(
      `${path}: expected ${integer ? "an integer" : "a number"} in ${min}..${max}, got ${JSON.stringify(value)}`,
    );
  return value;
}

export function resolveScores(config: ScoresConfig | undefined): ResolvedScores {
  if (config === undefined) return { ...DEFAULT_SCORES, weights: { ...DEFAULT_SCORES.weights } };
  if (typeof config !== "object" || config === null) throw new ConfigError("scores: expected an object");
  if (config.formula !== undefined && config.formula !== "weighted")
    throw new ConfigError(`scores.formula: expected "weighted", got ${JSON.stringify(config.formula)}`);
  const weights = { ...DEFAULT_SCORES.weights };
  for (const [name, value] of Object.entries(config.weights ?? {})) {
    if (!(WEIGHT_NAMES as readonly string[]).includes(name))
      throw new ConfigError(`scores.weights.${name}: unknown term (${WEIGHT_NAMES.join(", ")})`);
    weights[name as keyof ScoreWeights] = number(`scores.weights.${name}`, value, 0, 100);
  }
  if (config.startLocked !== undefined && typeof config.startLocked !== "boolean")
    throw new ConfigError("scores.startLocked: expected true or false");
  return {
    formula: "weighted",
    weights,
    lagMaxMs: number("scores.lagMaxMs", config.lagMaxMs ?? DEFAULT_SCORES.lagMaxMs, 1, 3_600_000),
    errorRateMax: number("scores.errorRateMax", config.errorRateMax ?? DEFAULT_SCORES.errorRateMax, 0.001, 1),
    step: number("scores.step", config.step ?? DEFAULT_SCORES.step, 1, 50, true),
    min: number("scores.min", config.min ?? DEFAULT_SCORES.min, 0, 100, true),
    startLocked: config.startLocked ?? false,
  };
}
