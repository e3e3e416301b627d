// Every event the orchestrator publishes on its events socket, as one typed catalogue: topic ->
// fields (docs/protocol.md, "Events", lists the same). Each event also carries `at` (ms since the
// epoch, the router's clock). Topics ending in a job type are per type, so a subscriber can take
// one type's events by prefix.
import type { SegmentDamage } from "../../journal/index.ts";
import type { TrackerEventName } from "../../tracker/index.ts";

/** Events with a fixed topic. */
export interface FixedEvents {
  "satellite.registered": { satellite: string; types: string[]; location: string; capacity: number };
  /** The same satellite process came back on a new connection: its jobs carry on. */
  "satellite.resumed": { satellite: string; jobs: number };
  "satellite.refused": { satellite: string; reason: string; muted: number };
  "satellite.lost": { satellite: string; reason: string; jobs: number };
  /** `by`: "satellite" (its own DRAIN, it is stopping) or "operator" (`dsat drain`). */
  "satellite.draining": { satellite: string; by?: "satellite" | "operator"; target?: string };
  /** `dsat undrain`: it takes new jobs again. */
  "satellite.undrained": { satellite: string; target: string };
  /** A handshake, READY or control request refused; `muted`: refusals left out since the last. */
  "security.refused": {
    mechanism: string;
    address: string;
    reason: string;
    muted: number;
    command?: string;
    role?: string;
    key?: string;
  };
  "security.peer-blocked": { peer: string; reason: string; forMs: number };
  "security.subscriptions-capped": { reason: string; muted: number };
  "orchestrator.stalled": { ms: number };
  "journal.failed": { error: string };
  "journal.resumed": { downMs: number };
  "journal.recovered": { jobs: number; afterMs: number };
  "journal.damaged": SegmentDamage;
  "job.retried": { id: string; type: string };
  /** `dsat score lock` / `unlock`: the score now in force. */
  "satellite.score": { satellite: string; score: number; locked: boolean };
  /** `dsat config set`: a live setting changed (router/live-config.ts). */
  "config.changed": { key: string; value: unknown; previous: unknown };
  "config.cache-flushed": { types: number; entries: number };
  /** `dsat rebalance` applied: queued keyed jobs moved to their first candidate now (router/rebalance.ts). */
  "rebalance.applied": { moves: number; full: number; left: number; by: "operator" };
  "disk-spill.error": { error: string };
  stats: { types: Record<string, unknown>; jobsInFlight: number };
}

/** What the tracker's own events (TrackerEventName "scope:name") carry once published. */
export interface TrackerEventFields {
  id?: string;
  satellite?: string;
  detail?: string;
}

/** A job's result (or failure) for a published job: `result.<type>`. */
export interface ResultFields {
  id: string;
  type: string;
  status: string;
  result?: unknown;
  error?: string;
}

type TrackerTopic<N extends string> = N extends `${infer Scope}:${infer Name}` ? `${Scope}.${Name}` : never;

/** Every topic: the fixed ones, and those with a job type at the end. */
export type EventTopic =
  | keyof FixedEvents
  | `result.${string}`
  | `job.step.${string}`
  | `job.progress.${string}`
  | TrackerTopic<TrackerEventName>
  | `${TrackerTopic<TrackerEventName>}.${string}`;

/** The fields an event of `topic` carries. */
export type EventFields<T extends EventTopic> = T extends keyof FixedEvents
  ? FixedEvents[T]
  : T extends `result.${string}`
    ? ResultFields
    : T extends `job.step.${string}`
      ? { id: string; step: string }
      : T extends `job.progress.${string}`
        ? { id: string; attempt: number; progress: unknown }
        : TrackerEventFields;

/** The topic a tracker event is published under: "job:retry" -> "job.retry" (+ ".<type>"). */
export function trackerTopic(name: TrackerEventName, type?: string): EventTopic {
  // Built once per (name, type): one is published per job (job:acked), and the strings add up.
  let byType = topics.get(name);
  if (byType === undefined) {
    byType = new Map();
    topics.set(name, byType);
  }
  const key = type ?? "";
  let topic = byType.get(key);
  if (topic === undefined) {
    const base = name.replace(":", ".") as TrackerTopic<TrackerEventName>;
    topic = type === undefined ? base : `${base}.${type}`;
    // Types come and go (learnt ones are evicted): the cache never outgrows a sane type count.
    if (byType.size >= TOPICS_PER_NAME_MAX) byType.clear();
    byType.set(key, topic);
  }
  return topic;
}

const TOPICS_PER_NAME_MAX = 4096;
const topics = new Map<string, Map<string, EventTopic>>();
