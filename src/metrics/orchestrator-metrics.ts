// The orchestrator's Prometheus metrics in a registry of their own (never prom-client's global
// one: two orchestrators in one process, or a user's own metrics, stay apart). Attached through
// the orchestrator's public API only: onEvent() feeds the event counts as events happen, and each
// scrape reads status() once and fills every metric from that snapshot (docs/observability.md).
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { LATENCY_BUCKETS_MS } from "../tracker/index.ts";
import type { MetricDefinition } from "./definition.ts";
import { EventCounts } from "./event-counts.ts";
import { JOB_METRICS } from "./job-metrics.ts";
import { DISK_SPILL_METRICS, JOURNAL_METRICS, ORCHESTRATOR_METRICS } from "./orchestrator-figures.ts";
import { SATELLITE_FLEET_METRICS, SATELLITE_METRICS } from "./satellite-metrics.ts";
import { type MetricsSource, type ScrapeView, scrapeView } from "./scrape-view.ts";

export interface MetricsOptions {
  /** One series per live satellite (default true); false keeps only the per-state and per-domain counts. */
  perSatellite?: boolean;
  /** Node's process metrics: memory, CPU, event-loop lag, GC, handles (default true). */
  processMetrics?: boolean;
  /** Where a metric that could not be read is reported (once per metric). */
  log?: (line: string) => void;
}

/** Which optional parts the orchestrator has (its resolved config). */
export interface MetricsSourceConfig {
  config: { journal: unknown; diskSpill: unknown };
}

export class OrchestratorMetrics {
  readonly registry = new Registry();
  readonly definitions: readonly MetricDefinition[];
  private readonly events = new EventCounts();
  private readonly detach: () => void;
  /** The snapshot of the scrape under way (null between scrapes: metrics read alone show nothing). */
  private view: ScrapeView | null = null;
  private readonly readErrors = new Map<string, number>();
  private readonly log: (line: string) => void;

  constructor(
    private readonly source: MetricsSource & MetricsSourceConfig,
    options: MetricsOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.definitions = [
      ...JOB_METRICS,
      ...SATELLITE_FLEET_METRICS,
      ...(options.perSatellite === false ? [] : SATELLITE_METRICS),
      ...ORCHESTRATOR_METRICS,
      ...(source.config.journal !== null ? JOURNAL_METRICS : []),
      ...(source.config.diskSpill !== null ? DISK_SPILL_METRICS : []),
    ];
    for (const definition of this.definitions) this.register(definition);
    this.registerReadErrors();
    this.registerLatencyHistogram();
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.detach = source.onEvent(this.events.record);
  }

  /** The text exposition: status() read once, every metric filled from it. */
  async scrape(): Promise<string> {
    this.view = scrapeView(this.source.status(), this.events.series());
    try {
      return await this.registry.metrics();
    } finally {
      this.view = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops counting events and empties the registry. */
  close(): void {
    this.detach();
    this.registry.clear();
  }

  private register(definition: MetricDefinition): void {
    const fill = (set: (labels: Record<string, string>, value: number) => void) => this.fill(definition, set);
    const common = { name: definition.name, help: definition.help, labelNames: [...definition.labels] };
    if (definition.kind === "gauge")
      new Gauge({
        ...common,
        registers: [this.registry],
        collect() {
          this.reset();
          fill((labels, value) => this.set(labels, value));
        },
      });
    else
      new Counter({
        ...common,
        registers: [this.registry],
        collect() {
          this.reset();
          fill((labels, value) => {
            if (value >= 0) this.inc(labels, value);
          });
        },
      });
  }

  /** Reads one metric from the scrape's view; a figure that fails to read costs that metric only. */
  private fill(
    definition: MetricDefinition,
    set: (labels: Record<string, string>, value: number) => void,
  ): void {
    const view = this.view;
    if (view === null) return;
    try {
      definition.read(view, (labels, value) => {
        if (value !== null) set(labels, value);
      });
    } catch (error) {
      const errors = (this.readErrors.get(definition.name) ?? 0) + 1;
      this.readErrors.set(definition.name, errors);
      if (errors === 1) this.log(`metrics: cannot read ${definition.name}: ${(error as Error).message}`);
    }
  }

  /**
   * dsat_job_latency_seconds (by type) and dsat_journal_commit_seconds: real Prometheus histograms
   * (histogram_quantile() works on them). The tracker and the journal driver already keep every
   * sample in a fine histogram; prom-client's Histogram can only observe samples one by one, so
   * these hand prom-client those cumulative counts as they are at the scrape.
   */
  private registerLatencyHistogram(): void {
    this.registerHistogram(
      "dsat_job_latency_seconds",
      "Submit-to-end latency of jobs (pipeline steps) by type, any outcome, since the start; buckets from the tracker's histogram (a sample may count up to ~6% early).",
      (view) =>
        Object.entries(view.status.stats).map(([type, stats]) => ({
          labels: { type },
          buckets: stats.latencyBuckets,
          count: stats.latencyCount,
          sumMs: stats.latencySumMs,
        })),
    );
    if (this.source.config.journal === null) return;
    this.registerHistogram(
      "dsat_journal_commit_seconds",
      "Group commits, from the call to the records on disk (or, replicated, applied by a majority); buckets within ~6%.",
      (view) => {
        const latency = view.status.journal?.commitLatency;
        return latency === null || latency === undefined
          ? []
          : [{ labels: {}, buckets: latency.buckets, count: latency.count, sumMs: latency.sumMs }];
      },
    );
  }

  private registerHistogram(
    name: string,
    help: string,
    series: (
      view: ScrapeView,
    ) => Array<{ labels: Record<string, string>; buckets: number[]; count: number; sumMs: number }>,
  ): void {
    this.registry.registerMetric({
      name,
      help,
      type: "histogram",
      get: async () => {
        const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> =
          [];
        const view = this.view;
        for (const { labels, buckets, count, sumMs } of view === null ? [] : series(view)) {
          LATENCY_BUCKETS_MS.forEach((edgeMs, i) => {
            values.push({
              labels: { ...labels, le: edgeMs / 1000 },
              value: buckets[i],
              metricName: `${name}_bucket`,
            });
          });
          values.push({ labels: { ...labels, le: "+Inf" }, value: count, metricName: `${name}_bucket` });
          values.push({ labels, value: sumMs / 1000, metricName: `${name}_sum` });
          values.push({ labels, value: count, metricName: `${name}_count` });
        }
        return { name, help, type: "histogram", values, aggregator: "sum" };
      },
    } as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  private registerReadErrors(): void {
    const readErrors = this.readErrors;
    new Counter({
      name: "dsat_metrics_read_errors_total",
      help: "Scrapes that could not read a metric (a bug: the status() shape changed), by metric.",
      labelNames: ["metric"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [metric, errors] of readErrors) this.inc({ metric }, errors);
      },
    });
  }
}
