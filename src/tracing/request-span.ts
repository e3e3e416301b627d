// The client's span for one request (docs/observability.md, "Traces"): made only when the caller
// has an active span, so an untraced request costs one context lookup and allocates nothing.
import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/** The instrumentation scope of the client's spans. */
export const CLIENT_TRACER = "dsat.client";

/** A CLIENT span `dsat.request <type>` under the active span, or null when there is none. */
export function startRequestSpan(type: string, jobId: string): Span | null {
  const active = context.active();
  if (trace.getSpan(active) === undefined) return null;
  return trace
    .getTracer(CLIENT_TRACER)
    .startSpan(
      `dsat.request ${type}`,
      { kind: SpanKind.CLIENT, attributes: { "dsat.job.id": jobId, "dsat.job.type": type } },
      active,
    );
}

/** Ends a request's span: OK, or ERROR with the error's code and message. */
export function endRequestSpan(span: Span, error?: Error & { code?: string }): void {
  if (error === undefined) span.setStatus({ code: SpanStatusCode.OK });
  else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    if (error.code !== undefined) span.setAttribute("dsat.status", error.code);
  }
  span.end();
}
