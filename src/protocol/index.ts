export * from "./batch.ts";
export { DecodeError, decode, encode } from "./codec.ts";
export { PAYLOAD_DEPTH_MAX, withinDepth } from "./depth.ts";
export { ATTEMPT_SPAN, attemptOfToken, attemptToken, termOfToken } from "./fencing.ts";
export * from "./frames.ts";
export {
  decodeShaped,
  ENTRY_FIELDS_MAX,
  HEADER_DEPTH_MAX,
  HEADER_INNER_ITEMS_MAX,
  HEADER_ITEMS_MAX,
  type InputLimits,
  type InputShapes,
  inputShapes,
} from "./input-shapes.ts";
export {
  decodeInputs,
  encodeInputs,
  INPUT_ADDRESS_LENGTH_MAX,
  InputsError,
  type InputsLimits,
  inputsProblem,
  type JobInputs,
  parseHostnameMap,
  replicaHost,
  SATELLITE_INPUTS_LIMITS,
} from "./inputs.ts";
export { type IntakeHeader, parseIntakeHeader } from "./intake.ts";
export { DEFAULT_LIMITS, type Limits, LimitsError, validateLimits } from "./limits.ts";
export { LOAD_SHAPE, loadHeartbeatFrames, loadWelcomeFrames, parseLoad, type SatelliteLoad } from "./load.ts";
export { assertShape, type Shape, ShapeError, shapeProblem } from "./shape.ts";
export { isTraceparent, TRACEPARENT_LENGTH } from "./trace-context.ts";
