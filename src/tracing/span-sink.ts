// The router's `span` effects made OpenTelemetry spans (docs/observability.md, "Traces"). Through
// @opentelemetry/api only: without an SDK registered its tracer is a no-op, and the router emits
// spans only for jobs that came with a traceparent, so untraced work never gets here.
import { type SpanAttributes, SpanKind, type Tracer, trace } from "@opentelemetry/api";
import { contextOfTraceparent } from "./w3c.ts";

/** A finished span as the router describes it (RouterEffect "span", src/orchestrator/router/types.ts). */
export interface SpanRecord {
  traceparent: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes: SpanAttributes;
}

/** The instrumentation scope of the orchestrator's spans. */
export const ORCHESTRATOR_TRACER = "dsat.orchestrator";

/** An attempt is the orchestrator handing work to a satellite, whose `dsat.run` is a CONSUMER. */
function kindOf(name: string): SpanKind {
  return name === "dsat.attempt" ? SpanKind.PRODUCER : SpanKind.INTERNAL;
}

export class SpanSink {
  // The global provider's proxy: an SDK registered after the orchestrator started still gets spans.
  private readonly tracer: Tracer = trace.getTracer(ORCHESTRATOR_TRACER);

  /** Every span of a job is a child of the client's span: siblings, ordered by their times. */
  record(span: SpanRecord): void {
    this.tracer
      .startSpan(
        span.name,
        { startTime: span.startMs, kind: kindOf(span.name), attributes: span.attributes },
        contextOfTraceparent(span.traceparent),
      )
      .end(span.endMs);
  }
}
