// The events catalogue as the metrics see it (docs/protocol.md "Events", router/events.ts): a
// topic is a base topic, optionally followed by "." and a job type. Label values come from this
// fixed list and from job types (bounded by the orchestrator's types and limits.dynamicTypesMax),
// so a topic outside the list is counted as "other" rather than becoming a new series.
import { ErrorCode } from "../protocol/index.ts";

export const BASE_TOPICS: ReadonlySet<string> = new Set([
  "result",
  "stats",
  "job.acked",
  "job.progress",
  "job.timeout",
  "job.stalled",
  "job.lost",
  "job.retry",
  "job.rerouted",
  "job.poison",
  "job.unplaceable",
  "job.late-result-dropped",
  "job.step",
  "job.retried",
  "satellite.registered",
  "satellite.refused",
  "satellite.resumed",
  "satellite.lost",
  "satellite.draining",
  "satellite.undrained",
  "satellite.score",
  "config.changed",
  "config.cache-flushed",
  "rebalance.applied",
  "satellite.breaker-open",
  "satellite.breaker-half-open",
  "satellite.breaker-closed",
  "satellite.restarted",
  "satellite.restart-skipped",
  "tracker.illegal-transition",
  "tracker.unknown-job",
  "tracker.duplicate-job",
  "journal.recovered",
  "journal.damaged",
  "journal.failed",
  "journal.resumed",
  "disk-spill.error",
  "orchestrator.stalled",
  "security.refused",
  "security.peer-blocked",
  "security.subscriptions-capped",
]);

/** The label value of a topic outside the catalogue, and of counts past the table's bound. */
export const OTHER = "other";

export interface ParsedTopic {
  /** A base topic of the catalogue, or OTHER. */
  base: string;
  /** The job type after the base topic, or "" when the topic has none. */
  type: string;
}

/** "job.retry.resize" -> { base: "job.retry", type: "resize" }; types may hold dots themselves. */
export function parseTopic(topic: string): ParsedTopic {
  const first = topic.indexOf(".");
  const second = first < 0 ? -1 : topic.indexOf(".", first + 1);
  const two = second < 0 ? topic : topic.slice(0, second);
  if (BASE_TOPICS.has(two)) return { base: two, type: second < 0 ? "" : topic.slice(second + 1) };
  const one = first < 0 ? topic : topic.slice(0, first);
  if (BASE_TOPICS.has(one)) return { base: one, type: first < 0 ? "" : topic.slice(first + 1) };
  return { base: OTHER, type: "" };
}

const STATUSES: ReadonlySet<string> = new Set(["ok", ...Object.values(ErrorCode)]);

/** A result's status as a label: "ok", an error code of the protocol, or OTHER. */
export function resultStatus(status: unknown): string {
  return typeof status === "string" && STATUSES.has(status) ? status : OTHER;
}
