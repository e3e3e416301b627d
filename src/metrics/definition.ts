// One metric filled on scrape from the ScrapeView: its name, kind, labels, and how to read it.
// Counters read totals the orchestrator (or the event listener) keeps, so a scrape sets them to
// those totals; a total that starts again (a learnt type forgotten, a satellite re-registered) is a
// counter reset, which Prometheus' rate() and increase() handle.
import type { ScrapeView } from "./scrape-view.ts";

export type Emit = (labels: Record<string, string>, value: number | null) => void;

export interface MetricDefinition {
  name: string;
  help: string;
  kind: "gauge" | "counter";
  labels: readonly string[];
  read(view: ScrapeView, emit: Emit): void;
}

export function gauge(
  name: string,
  help: string,
  labels: readonly string[],
  read: MetricDefinition["read"],
): MetricDefinition {
  return { name, help, kind: "gauge", labels, read };
}

export function counter(
  name: string,
  help: string,
  labels: readonly string[],
  read: MetricDefinition["read"],
): MetricDefinition {
  return { name, help, kind: "counter", labels, read };
}
