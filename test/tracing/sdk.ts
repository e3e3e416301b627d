// An OpenTelemetry SDK for one test process: an in-memory exporter behind a simple processor, and
// AsyncLocalStorage as the context manager (so `startActiveSpan` reaches client.request). The
// orchestrator, satellites and client of a test run in that same process and share it.
import { context, type HrTime, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export function registerSdk(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  if (!trace.setGlobalTracerProvider(provider)) throw new Error("a tracer provider was registered already");
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return exporter;
}

/** Milliseconds since the epoch, fractional. */
export function ms(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}

export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export const idOf = (span: ReadableSpan) => span.spanContext().spanId;
