// A satellite's span for the job it runs (docs/observability.md, "Traces"): a CONSUMER span
// `dsat.run <type>` under the job's traceparent, the active context while the handler runs so
// the handler's own spans nest under it. Jobs without a traceparent get none.
import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { contextOfTraceparent } from "./w3c.ts";

/** The instrumentation scope of the satellites' spans. */
export const SATELLITE_TRACER = "dsat.satellite";

export interface RunSpan {
  span: Span;
  /** The context handlers run in: the job's span over the caller's context. */
  context: ReturnType<typeof context.active>;
}

export function startRunSpan(
  traceparent: string,
  job: { id: string; type: string; attempt: number },
  satelliteId: string,
): RunSpan {
  const parent = contextOfTraceparent(traceparent, context.active());
  const span = trace.getTracer(SATELLITE_TRACER).startSpan(
    `dsat.run ${job.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "dsat.job.id": job.id,
        "dsat.job.type": job.type,
        "dsat.attempt": job.attempt,
        "dsat.satellite": satelliteId,
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Calls `run` with the job's span active. */
export function runInSpan<T>(run: RunSpan, fn: () => T): T {
  return context.with(run.context, fn);
}

/** Ends the span with the job's outcome: `ok`, or `error` with its message. */
export function endRunSpan(run: RunSpan, outcome: "ok" | "error", message?: string): void {
  run.span.setAttribute("dsat.outcome", outcome);
  run.span.setStatus(
    outcome === "ok" ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: message ?? "" },
  );
  run.span.end();
}
