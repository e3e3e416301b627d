// The tracker: the pure job state machine (no sockets, timers or clock). See docs/tracker.md.
export { TrackerAssertionError } from "./assert.ts";
export {
  ATTEMPTS_MAX_LIMIT,
  CANDIDATES_MAX,
  defaultTrackerConfig,
  TRACKER_LIVE,
  TRACKER_RESTART_ONLY,
  type TrackerConfig,
  TrackerConfigError,
  validateConfig,
  validateTrackerConfig,
} from "./config.ts";
export { LATENCY_BUCKETS_MS, LatencyHistogram } from "./histogram.ts";
export { type TimerHandle, TimerWheel, type TimerWheelOptions } from "./timer-wheel.ts";
export { type JobInfo, Tracker } from "./tracker.ts";
export { TRANSITIONS } from "./transitions.ts";
export type * from "./types.ts";
