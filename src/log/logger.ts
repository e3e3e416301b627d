// dsat's logger: JSON lines on stdout through pino (pm2 collects stdout, as for every dsat process),
// one line per record: {"level":30,"time":...,"name":"orchestrator","msg":"..."}. The level is set
// at start (DSAT_LOG_LEVEL) and may change at run time (setLevel; the control command `log-level`).
import { pino } from "pino";

/** Levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** Where a logger writes: stdout by default; a stream in tests. */
export interface LogDestination {
  write(line: string): void;
}

export interface LoggerOptions {
  /** `orchestrator`, `satellite`: the `name` field of every line. */
  name: string;
  /** Default: DSAT_LOG_LEVEL, else `info`. */
  level?: LogLevel;
  /** Fields on every line, e.g. `{ satellite: "echo@h1" }`. */
  fields?: Record<string, string | number>;
  destination?: LogDestination;
}

/** A leveled logger; `line` takes the plain text lines dsat's modules produce. */
export interface Logger {
  readonly name: string;
  level: LogLevel;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
  /** A text line at the level its first words imply: `warning: ...` warn, `... error ...:` error, else info. */
  line(text: string): void;
  /** Whether `level` is logged now (to skip building a line that would be dropped). */
  enabled(level: LogLevel): boolean;
}

/**
 * The start level: DSAT_LOG_LEVEL when it names a level, else `info`. A value that is not a level
 * is reported on stderr once and ignored, not fatal.
 */
export function levelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = env.DSAT_LOG_LEVEL;
  if (value === undefined || value === "") return "info";
  const lower = value.toLowerCase();
  if (isLogLevel(lower)) return lower;
  if (!warnedBadEnv) {
    warnedBadEnv = true;
    process.stderr.write(
      `dsat: DSAT_LOG_LEVEL=${value} is not a level (${LOG_LEVELS.join(", ")}); using info\n`,
    );
  }
  return "info";
}

let warnedBadEnv = false;

const WARNING = /^(?:[\w.-]+: )?warning\b/i;
const ERROR = /^(?:[\w.-]+: )?(?:error|internal error)\b|: error\b/i;

class PinoLogger implements Logger {
  constructor(
    readonly name: string,
    private readonly pino: pino.Logger,
  ) {
    this.line = this.line.bind(this);
  }

  get level(): LogLevel {
    return this.pino.level as LogLevel;
  }

  set level(level: LogLevel) {
    this.pino.level = level;
  }

  error(message: string): void {
    this.pino.error(message);
  }

  warn(message: string): void {
    this.pino.warn(message);
  }

  info(message: string): void {
    this.pino.info(message);
  }

  debug(message: string): void {
    this.pino.debug(message);
  }

  trace(message: string): void {
    this.pino.trace(message);
  }

  line(text: string): void {
    if (WARNING.test(text)) this.pino.warn(text);
    else if (ERROR.test(text)) this.pino.error(text);
    else this.pino.info(text);
  }

  enabled(level: LogLevel): boolean {
    return level !== "silent" && this.pino.isLevelEnabled(level);
  }
}

const shared = new Map<string, Logger>();

/**
 * The process's logger of that name (created on first use, at DSAT_LOG_LEVEL): what an
 * orchestrator or satellite logs through when it is given no `log`. One per name, so a level set
 * at run time holds for everything of that name in the process.
 */
export function sharedLogger(name: string): Logger {
  let logger = shared.get(name);
  if (logger === undefined) shared.set(name, (logger = createLogger({ name })));
  return logger;
}

/** A satellite's default log: JSON lines named `satellite`, with its id on each (DSAT_LOG_LEVEL). */
export function satelliteLog(id: string): (line: string) => void {
  return createLogger({ name: "satellite", fields: { satellite: id } }).line;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? levelFromEnv();
  if (!isLogLevel(level))
    throw new TypeError(`log level: expected one of ${LOG_LEVELS.join(", ")}, got ${String(level)}`);
  const logger = pino(
    {
      level,
      // No pid and hostname on every line: pm2 knows the process, the topology the host.
      base: { name: options.name, ...options.fields },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return new PinoLogger(options.name, logger);
}

/** A `log-level [LEVEL]` answer: the logger's level, set first when `level` is given. */
export function changeLogLevel(
  logger: Logger | null,
  level: unknown,
  who: string,
): { ok: boolean; level?: LogLevel; previous?: LogLevel; error?: string } {
  if (logger === null)
    return { ok: false, error: `this ${who} logs through a line function (its log option): no level` };
  if (level === undefined || level === null) return { ok: true, level: logger.level as LogLevel };
  if (!isLogLevel(level))
    return {
      ok: false,
      error: `unknown log level ${JSON.stringify(level)}; known: ${LOG_LEVELS.join(", ")}`,
    };
  const previous = logger.level as LogLevel;
  logger.level = level;
  logger.info(`${who}: log level ${previous} -> ${level}`);
  return { ok: true, level, previous };
}
