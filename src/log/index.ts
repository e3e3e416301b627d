// Structured logs (docs/observability.md, "Logs"): one JSON-lines logger for orchestrators and
// satellites, levels settable at run time.
export {
  changeLogLevel,
  createLogger,
  isLogLevel,
  LOG_LEVELS,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  levelFromEnv,
  satelliteLog,
  sharedLogger,
} from "./logger.ts";
