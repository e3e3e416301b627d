// W3C traceparent <-> OpenTelemetry span context, written out rather than through the global
// propagator: that one is a no-op until an SDK registers one, and dsat's wire carries the
// traceparent in its own field whatever the user's propagators are.
import { type Context, isSpanContextValid, ROOT_CONTEXT, type Span, trace } from "@opentelemetry/api";

/** The context of a checked traceparent (src/protocol isTraceparent), as a remote parent. */
export function contextOfTraceparent(traceparent: string, base: Context = ROOT_CONTEXT): Context {
  return trace.setSpanContext(base, {
    traceId: traceparent.slice(3, 35),
    spanId: traceparent.slice(36, 52),
    traceFlags: Number.parseInt(traceparent.slice(53, 55), 16),
    isRemote: true,
  });
}

/** The traceparent naming `span` as the parent, or null for an invalid (all-zero) context. */
export function traceparentOf(span: Span): string | null {
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return null;
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}
