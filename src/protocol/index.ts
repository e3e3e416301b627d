export * from "./batch.ts";
export { DecodeError, decode, encode } from "./codec.ts";
export { PAYLOAD_DEPTH_MAX, withinDepth } from "./depth.ts";
export * from "./frames.ts";
export { DEFAULT_LIMITS, type Limits, LimitsError, validateLimits } from "./limits.ts";
