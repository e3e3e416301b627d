// What observability costs (issue 17, "overhead in bench"): jobs/s through orchestrator +
// satellite + client in this process (echoRound, 1024 in flight), rounds alternated:
// - off: no OpenTelemetry SDK registered (the API is a no-op), no metrics;
// - traced: an SDK registered (BasicTracerProvider, a BatchSpanProcessor, an exporter that counts
//   and drops) and every request made under an active span: 7 spans a job (the caller's,
//   dsat.request, accept, place, attempt, run, result);
// - SDK, untraced: the same SDK registered, requests made without an active span (what a process
//   pays for having an SDK while dsat's jobs are not traced);
// - metrics: startMetrics() attached and /metrics scraped once a second.
// No target; the ratios to `off` are printed.
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { startMetrics } from "../src/metrics/index.ts";
import { echoRound, IN_FLIGHT } from "./echo-round.ts";
import { type BenchResult, median } from "./stats.ts";

/** Counts what it is given and drops it: the SDK's cost without an exporter's. */
class CountingExporter implements SpanExporter {
  spans = 0;

  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {}
}

async function sdkRound(jobs: number, exporter: CountingExporter, traceJobs: boolean): Promise<number> {
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 4096 })],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracer = trace.getTracer("bench");
  try {
    if (!traceJobs) return await echoRound(jobs);
    return await echoRound(jobs, {
      wrap: (request) =>
        tracer.startActiveSpan("bench.caller", (span) => request().finally(() => span.end())),
    });
  } finally {
    await provider.shutdown();
    // Back to no SDK at all for the next `off` round.
    trace.disable();
    context.disable();
  }
}

async function metricsRound(jobs: number): Promise<number> {
  return echoRound(jobs, {
    attach: async (orchestrator) => {
      const metrics = await startMetrics(orchestrator, { address: "127.0.0.1:0", log: () => {} });
      const timer = setInterval(() => {
        fetch(metrics.url)
          .then((response) => response.text())
          .catch(() => {});
      }, 1000);
      return async () => clearInterval(timer);
    },
  });
}

export async function benchObservability(quick: boolean): Promise<BenchResult[]> {
  const jobs = quick ? 10_000 : 40_000;
  const rounds = quick ? 1 : 5;
  const off: number[] = [];
  const traced: number[] = [];
  const untraced: number[] = [];
  const metrics: number[] = [];
  const exporter = new CountingExporter();
  let spansOfTracedRounds = 0;
  for (let i = 0; i < rounds; i++) {
    off.push(await echoRound(jobs));
    const before = exporter.spans;
    traced.push(await sdkRound(jobs, exporter, true));
    spansOfTracedRounds += exporter.spans - before;
    untraced.push(await sdkRound(jobs, exporter, false));
    metrics.push(await metricsRound(jobs));
  }
  const offRate = median(off);
  const tracedRate = median(traced);
  const untracedRate = median(untraced);
  const metricsRate = median(metrics);
  const name = `observability: echo jobs/s, ${IN_FLIGHT} in flight, in-process`;
  return [
    { name: `${name}, off`, value: offRate, unit: "jobs/s" },
    { name: `${name}, every job traced (SDK)`, value: tracedRate, unit: "jobs/s" },
    { name: `${name}, SDK registered, jobs untraced`, value: untracedRate, unit: "jobs/s" },
    { name: `${name}, metrics scraped 1/s`, value: metricsRate, unit: "jobs/s" },
    { name: "observability: traced / off", value: tracedRate / offRate, unit: "x" },
    { name: "observability: SDK untraced / off", value: untracedRate / offRate, unit: "x" },
    { name: "observability: metrics / off", value: metricsRate / offRate, unit: "x" },
    {
      name: "observability: spans exported per traced job",
      // echoRound's warm-up is traced too.
      value: spansOfTracedRounds / (rounds * (jobs + Math.min(jobs, 5000))),
      unit: "spans",
    },
  ];
}

// Run alone: node --import tsx bench/observability.ts [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResult } = await import("./stats.ts");
  for (const result of await benchObservability(process.argv.includes("--quick")))
    console.log(formatResult(result));
  process.exit(0);
}
