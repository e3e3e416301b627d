// Every knob of the tracker, with its unit and default, in one table. `validateTrackerConfig` fills
// defaults and rejects bad combinations in sentences (raft's Config.validate).

export interface TrackerConfig {
  /** A sent attempt must be acked within this, ms; else job:timeout, cancel-on-satellite, retry. */
  ackTimeoutMs: number;
  /** Longest run of an acked attempt, ms (from the ack); else job:timeout and retry. */
  runTimeoutMs: number;
  /** Per job type overrides of runTimeoutMs, ms. A submit's own runTimeoutMs wins over both. */
  runTimeoutMsByType: Readonly<Record<string, number>>;
  /** An acked attempt with no progress (or ack) for this long is stalled, ms: retried elsewhere. */
  stallTimeoutMs: number;
  /** Attempts (dispatches) per job before it fails; a submit's attemptsMax wins. 1..255. */
  attemptsMax: number;
  /** Per job type overrides of attemptsMax. */
  attemptsMaxByType: Readonly<Record<string, number>>;
  /** First retry delay, ms; doubled per attempt up to backoffMaxMs. */
  backoffBaseMs: number;
  /** Largest retry delay, ms. */
  backoffMaxMs: number;
  /** Fraction of each delay drawn at random (0: none, 1: anywhere in 0..delay). */
  jitter: number;
  /** A job no candidate can take (unplaceable) for this long fails, ms. */
  placeTimeoutMs: number;
  /** Consecutive failures of one satellite that open its breaker. */
  breakerFailuresThreshold: number;
  /** How long an open breaker stays open before one probe job is allowed (half-open), ms. */
  breakerCooldownMs: number;
  /** Distinct satellites a job may crash (lost, stalled, crashed) before it is quarantined as poison. */
  poisonCrashThreshold: number;
  /** Timer wheel resolution, ms: timers fire on the first tick at or after their due time. */
  wheelTickMs: number;
  /** Timer wheel slots (a power of two); wheelSlots * wheelTickMs is one rotation. */
  wheelSlots: number;
  /** Timers fired per `tick` call at most; the rest fire on the next call. */
  timersPerTickMax: number;
  /** Jobs tracked at once; a submit beyond that completes failed at once. */
  jobsMax: number;
  /** Distinct job types (each holds counters and a latency histogram). */
  typesMax: number;
  /** Satellites tracked (breaker state, jobs on it). */
  satellitesMax: number;
  /** Ended jobs remembered (id, type, outcome) to classify late results and answer jobState. */
  recentJobsMax: number;
}

/** Candidates per job at most: exclusions and crashes are kept as bits of one 32-bit mask. */
export const CANDIDATES_MAX = 30;
/** attempt numbers are stored in a byte. */
export const ATTEMPTS_MAX_LIMIT = 255;

export const defaultTrackerConfig: Readonly<TrackerConfig> = Object.freeze({
  ackTimeoutMs: 5_000,
  runTimeoutMs: 300_000,
  runTimeoutMsByType: {},
  stallTimeoutMs: 30_000,
  attemptsMax: 3,
  attemptsMaxByType: {},
  backoffBaseMs: 100,
  backoffMaxMs: 10_000,
  jitter: 0.2,
  placeTimeoutMs: 5_000,
  breakerFailuresThreshold: 5,
  breakerCooldownMs: 10_000,
  poisonCrashThreshold: 2,
  wheelTickMs: 10,
  wheelSlots: 16_384,
  timersPerTickMax: 100_000,
  jobsMax: 1_048_576,
  typesMax: 1_024,
  satellitesMax: 65_536,
  recentJobsMax: 4_096,
});

export class TrackerConfigError extends Error {
  override name = "TrackerConfigError";
}

/** Settings that change at run time (`dsat config set`, docs/operations.md): the others size tables. */
export const TRACKER_LIVE = [
  "ackTimeoutMs",
  "runTimeoutMs",
  "stallTimeoutMs",
  "attemptsMax",
  "backoffBaseMs",
  "backoffMaxMs",
  "jitter",
  "placeTimeoutMs",
  "breakerFailuresThreshold",
  "breakerCooldownMs",
  "poisonCrashThreshold",
] as const satisfies ReadonlyArray<keyof TrackerConfig>;

/** Settings that size the tracker's tables and wheel. */
export const TRACKER_RESTART_ONLY = [
  "wheelTickMs",
  "wheelSlots",
  "timersPerTickMax",
  "jobsMax",
  "typesMax",
  "satellitesMax",
  "recentJobsMax",
] as const satisfies ReadonlyArray<keyof TrackerConfig>;

/** Every integer setting: the live ones (jitter is a fraction) and those that size tables. */
const INTEGER_FIELDS = [...TRACKER_LIVE.filter((name) => name !== "jitter"), ...TRACKER_RESTART_ONLY];

const INT32_MAX = 2 ** 31 - 1;

function reject(sentence: string): never {
  throw new TrackerConfigError(sentence);
}

function checkPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > INT32_MAX) {
    reject(`${name} must be a positive integer below 2^31, got ${String(value)}.`);
  }
}

function checkRunTimeout(name: string, runTimeoutMs: number, config: TrackerConfig): void {
  checkPositiveInteger(name, runTimeoutMs);
  if (config.stallTimeoutMs > runTimeoutMs) {
    reject(
      `stallTimeoutMs (${config.stallTimeoutMs}) is longer than ${name} (${runTimeoutMs}), ` +
        "so a stalled job could never be told from a slow one.",
    );
  }
}

function checkAttemptsMax(name: string, attemptsMax: number): void {
  checkPositiveInteger(name, attemptsMax);
  if (attemptsMax > ATTEMPTS_MAX_LIMIT)
    reject(`${name} must be at most ${ATTEMPTS_MAX_LIMIT}, got ${attemptsMax}.`);
}

/** Fills defaults and rejects bad values and combinations, in sentences. */
export function validateTrackerConfig(partial: Partial<TrackerConfig> = {}): TrackerConfig {
  const config: TrackerConfig = { ...defaultTrackerConfig, ...partial };
  for (const name of INTEGER_FIELDS) checkPositiveInteger(name, config[name]);
  if (typeof config.jitter !== "number" || !(config.jitter >= 0 && config.jitter <= 1)) {
    reject(`jitter is a fraction of the delay and must be within 0..1, got ${String(config.jitter)}.`);
  }
  if (config.backoffMaxMs < config.backoffBaseMs) {
    reject(`backoffMaxMs (${config.backoffMaxMs}) is below backoffBaseMs (${config.backoffBaseMs}).`);
  }
  if ((config.wheelSlots & (config.wheelSlots - 1)) !== 0) {
    reject(`wheelSlots must be a power of two, got ${config.wheelSlots}.`);
  }
  if (config.ackTimeoutMs < 2 * config.wheelTickMs) {
    reject(
      `ackTimeoutMs (${config.ackTimeoutMs}) must span at least two wheel ticks (${config.wheelTickMs} ms each).`,
    );
  }
  if (config.breakerCooldownMs < config.wheelTickMs) {
    reject(
      `breakerCooldownMs (${config.breakerCooldownMs}) is shorter than one wheel tick (${config.wheelTickMs} ms).`,
    );
  }
  checkAttemptsMax("attemptsMax", config.attemptsMax);
  for (const [type, value] of Object.entries(config.attemptsMaxByType)) {
    checkAttemptsMax(`attemptsMaxByType.${type}`, value);
  }
  checkRunTimeout("runTimeoutMs", config.runTimeoutMs, config);
  for (const [type, value] of Object.entries(config.runTimeoutMsByType)) {
    checkRunTimeout(`runTimeoutMsByType.${type}`, value, config);
  }
  if (config.poisonCrashThreshold > CANDIDATES_MAX) {
    reject(
      `poisonCrashThreshold (${config.poisonCrashThreshold}) exceeds ${CANDIDATES_MAX}, the candidates a job can have.`,
    );
  }
  if (config.typesMax > 65_535) reject(`typesMax must be at most 65535 (types are stored in 16 bits).`);
  return config;
}

/** The same validator under the name the style guide uses. */
export const validateConfig = validateTrackerConfig;
