// Counts of the orchestrator's events, kept by the in-process listener. The listener runs on the
// orchestrator's hot path (a job.acked per attempt), so it does one Map update keyed by the raw
// topic and nothing else; topics are parsed and summed into labelled series only on scrape.
import { OTHER, parseTopic, resultStatus } from "./topics.ts";

/**
 * Distinct topics (and result statuses) counted apart; beyond, counts go to OTHER. The catalogue's
 * ~35 base topics times the job types (limits.dynamicTypesMax, 1024 by default) stay well below.
 */
export const EVENT_KEYS_MAX = 65_536;

export interface EventSeries {
  /** dsat_events_total: every event by base topic. */
  byTopic: Map<string, number>;
  /** dsat_job_events_total: job.* events by event ("retry") and job type ("" when none). */
  jobEvents: Map<string, { event: string; type: string; count: number }>;
  /** dsat_results_total: result.<type> events by type and status. */
  results: Map<string, { type: string; status: string; count: number }>;
}

export class EventCounts {
  private readonly counts = new Map<string, number>();
  private overflow = 0;

  constructor(private readonly keysMax = EVENT_KEYS_MAX) {}

  /** The orchestrator's onEvent listener: must never throw (it runs inside publishEvent). */
  readonly record = (topic: string, fields: Record<string, unknown>): void => {
    // Results are split by status: "result.<type>\n<status>" ("\n" never occurs in a topic we count).
    const key = topic.startsWith("result.") ? `${topic}\n${resultStatus(fields?.status)}` : topic;
    const count = this.counts.get(key);
    if (count !== undefined) this.counts.set(key, count + 1);
    else if (this.counts.size < this.keysMax) this.counts.set(key, 1);
    else this.overflow++;
  };

  /** The counts so far, summed into the series the metrics expose. */
  series(): EventSeries {
    const series: EventSeries = { byTopic: new Map(), jobEvents: new Map(), results: new Map() };
    const add = (map: Map<string, number>, key: string, count: number) =>
      map.set(key, (map.get(key) ?? 0) + count);
    if (this.overflow > 0) add(series.byTopic, OTHER, this.overflow);
    for (const [key, count] of this.counts) {
      const newline = key.indexOf("\n");
      const topic = newline < 0 ? key : key.slice(0, newline);
      const { base, type } = parseTopic(topic);
      add(series.byTopic, base, count);
      if (base.startsWith("job.")) {
        const event = base.slice("job.".length);
        const id = `${event}\n${type}`;
        const entry = series.jobEvents.get(id) ?? { event, type, count: 0 };
        entry.count += count;
        series.jobEvents.set(id, entry);
      } else if (base === "result") {
        const status = newline < 0 ? OTHER : key.slice(newline + 1);
        const id = `${type}\n${status}`;
        const entry = series.results.get(id) ?? { type, status, count: 0 };
        entry.count += count;
        series.results.set(id, entry);
      }
    }
    return series;
  }
}
