// Job traces through @opentelemetry/api (docs/observability.md, "Traces"): a no-op unless the user
// registers an OpenTelemetry SDK. The protocol and the router know only the traceparent text.
export { CLIENT_TRACER, endRequestSpan, startRequestSpan } from "./request-span.ts";
export { endRunSpan, type RunSpan, runInSpan, SATELLITE_TRACER, startRunSpan } from "./run-span.ts";
export { ORCHESTRATOR_TRACER, type SpanRecord, SpanSink } from "./span-sink.ts";
export { contextOfTraceparent, traceparentOf } from "./w3c.ts";
