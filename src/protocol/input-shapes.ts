// The shape (shape.ts) of every MessagePack frame dsat decodes from a peer, built from the limits
// table (limits.ts). The byte bounds are configurable; the structural ones below are facts of the
// protocol: headers are flat maps, batch entries are arrays of scalars.
import { decode } from "./codec.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { assertShape, type Shape } from "./shape.ts";

/** Most entries one batch may carry. */
export const BATCH_ENTRIES_MAX = 4096;
/** Fields of one batch entry (the longest, a job entry with a traceparent and inputs, has 10). */
export const ENTRY_FIELDS_MAX = 10;
/** Nesting inside a header: a hello's location is a list of pairs (3 levels); one more is slack. */
export const HEADER_DEPTH_MAX = 4;
/** Items of one container inside a header (a hello's types); at least `typesPerSatelliteMax`. */
export const HEADER_INNER_ITEMS_MAX = 1024;
/** Items of all containers of one header together. */
export const HEADER_ITEMS_MAX = 4096;

export type InputLimits = Pick<
  Limits,
  | "headerBytesMax"
  | "satelliteHeaderBytesMax"
  | "headerKeysMax"
  | "progressBytesMax"
  | "payloadDepthMax"
  | "typesPerSatelliteMax"
>;

export interface InputShapes {
  /** A dsat client's request header `{ c, id?, k?, t? }`. */
  requestHeader: Shape;
  /** A satellite's REPLY header `{ s, e?, r? }` and READY hello. */
  satelliteHeader: Shape;
  /** The job header a satellite reads. */
  jobHeader: Shape;
  /** An intake message's header `{ id?, k? }`. */
  intakeHeader: Shape;
  /** A control request `{ cmd, ... }` (not necessarily a map: a non-map gets an error reply). */
  controlRequest: Shape;
  /** A PROGRESS value: anything, small and not too deep. */
  progress: Shape;
  /** The entries frame of a batch: an array of arrays of scalars. */
  batchEntries: Shape;
  /** ACK-BATCH: a flat array [id, attempt, id, attempt, ...]. */
  ackEntries: Shape;
  /** The body of a dsat client's `mmi.service` request: a service name (a string of 1-255 bytes). */
  serviceName: Shape;
}

function build(limits: InputLimits): InputShapes {
  const header = (name: string, bytesMax: number): Shape => ({
    name,
    bytesMax,
    top: "map",
    topItemsMax: limits.headerKeysMax,
    innerItemsMax: Math.max(HEADER_INNER_ITEMS_MAX, limits.typesPerSatelliteMax),
    itemsMax: Math.max(HEADER_ITEMS_MAX, 4 * limits.typesPerSatelliteMax),
    depthMax: HEADER_DEPTH_MAX,
    extensions: false,
  });
  return {
    requestHeader: header("request header", limits.headerBytesMax),
    satelliteHeader: header("satellite header", limits.satelliteHeaderBytesMax),
    jobHeader: header("job header", limits.satelliteHeaderBytesMax),
    intakeHeader: header("intake header", limits.headerBytesMax),
    controlRequest: { ...header("control request", limits.headerBytesMax), top: "any" },
    progress: {
      name: "PROGRESS value",
      bytesMax: limits.progressBytesMax,
      top: "any",
      topItemsMax: Number.POSITIVE_INFINITY,
      innerItemsMax: Number.POSITIVE_INFINITY,
      itemsMax: Number.POSITIVE_INFINITY,
      depthMax: limits.payloadDepthMax,
      extensions: true,
    },
    batchEntries: {
      name: "batch entries",
      bytesMax: Number.POSITIVE_INFINITY, // libzmq's maxMessageSize bounds the message
      top: "array",
      topItemsMax: BATCH_ENTRIES_MAX,
      innerItemsMax: ENTRY_FIELDS_MAX,
      itemsMax: BATCH_ENTRIES_MAX * (1 + ENTRY_FIELDS_MAX),
      depthMax: 2,
      extensions: false,
    },
    serviceName: {
      name: "service name",
      bytesMax: 2 + 255, // str8 header and 255 bytes
      top: "any",
      topItemsMax: 0,
      innerItemsMax: 0,
      itemsMax: 0,
      depthMax: 0,
      extensions: false,
    },
    ackEntries: {
      name: "ACK-BATCH entries",
      bytesMax: Number.POSITIVE_INFINITY,
      top: "array",
      topItemsMax: 2 * BATCH_ENTRIES_MAX,
      innerItemsMax: 0,
      itemsMax: 2 * BATCH_ENTRIES_MAX,
      depthMax: 1,
      extensions: false,
    },
  };
}

const cache = new WeakMap<InputLimits, InputShapes>();
// The last lookup, checked first: a process has one orchestrator's limits (a WeakMap lookup costs
// ~35 ns per message, this ~2 ns).
let lastLimits: InputLimits | null = null;
let lastShapes: InputShapes | null = null;

/** The shapes for `limits`, built once per limits object. */
export function inputShapes(limits: InputLimits = DEFAULT_LIMITS): InputShapes {
  if (limits === lastLimits && lastShapes !== null) return lastShapes;
  let shapes = cache.get(limits);
  if (shapes === undefined) {
    shapes = build(limits);
    cache.set(limits, shapes);
  }
  lastLimits = limits;
  lastShapes = shapes;
  return shapes;
}

/**
 * Decodes `bytes` after checking them against `shape`. Throws ShapeError (a bound exceeded) or
 * DecodeError (not MessagePack), never anything else.
 */
export function decodeShaped(bytes: Uint8Array, shape: Shape): unknown {
  assertShape(bytes, shape);
  return decode(bytes);
}
