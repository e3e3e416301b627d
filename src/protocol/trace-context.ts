// W3C trace context (https://www.w3.org/TR/trace-context/): the `traceparent` a traced job carries
// from its client to its satellite (docs/protocol.md, "Trace context"). Only the text is checked
// here; OpenTelemetry itself stays out of the protocol and the router.

/** `00-<trace id: 32 hex>-<parent span id: 16 hex>-<flags: 2 hex>`, lower case. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

/** Characters of a version-00 traceparent. */
export const TRACEPARENT_LENGTH = 55;

/**
 * `value` is a traceparent dsat carries: version 00, lower-case hex, neither id all zeros. Anything
 * else (another version, upper case, a number) is not: the job runs untraced.
 */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== "string" || value.length !== TRACEPARENT_LENGTH) return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && match[1] !== ZERO_TRACE_ID && match[2] !== ZERO_SPAN_ID;
}
