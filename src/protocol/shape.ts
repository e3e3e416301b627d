// The shape of a MessagePack value, read from its bytes before anything decodes it. Decoding costs
// far more per byte than reading the bytes (msgpackr builds an object property per map entry: a
// 700 KB header with 90,000 keys takes ~50 ms, and a client can queue hundreds of them), so every
// frame the orchestrator decodes from a peer is checked here first: its size, what the top value
// is, how many items its containers hold, how deep they nest. The walk is iterative (one counter of
// remaining items per open container, as in depth.ts) and stops at the first bound exceeded: a map
// header announcing 90,000 entries is refused after reading 5 bytes.

/** What one frame may hold. Every bound is checked before the frame is decoded. */
export interface Shape {
  /** What the frame is called in a refusal ("request header", "batch entries"). */
  name: string;
  /** Size of the frame, bytes. */
  bytesMax: number;
  /** What the top-level value must be. */
  top: "map" | "array" | "any";
  /** Entries of the top-level map or elements of the top-level array. */
  topItemsMax: number;
  /** Entries or elements of any container below the top level. */
  innerItemsMax: number;
  /** Entries and elements of all containers together (a map entry counts once). */
  itemsMax: number;
  /** Containers nested in one another, the top-level one included (a scalar has depth 0). */
  depthMax: number;
  /** May the value hold MessagePack extensions (ext and fixext)? dsat's headers and entries hold none. */
  extensions: boolean;
}

export class ShapeError extends Error {
  override name = "ShapeError";
}

const MAP = 1;
const ARRAY = 2;

/**
 * null when `bytes` fit `shape`, else why not (a sentence naming the frame and the bound). Only
 * the first value is read; truncated or invalid MessagePack passes, for the decoder to refuse.
 */
export function shapeProblem(bytes: Uint8Array, shape: Shape): string | null {
  const length = bytes.length;
  if (length > shape.bytesMax) return `${shape.name} has ${length} bytes, more than ${shape.bytesMax}`;
  if (length === 0) return null;
  const kind = containerKind(bytes[0]);
  if (shape.top === "map" && kind !== MAP) return `${shape.name} is not a MessagePack map`;
  if (shape.top === "array" && kind !== ARRAY) return `${shape.name} is not a MessagePack array`;
  // remaining[d]: items still to read in the container open at depth d (depth 0: the top value).
  // One preallocated stack (the walk never re-enters itself): no allocation per frame.
  const levels = Math.min(shape.depthMax, length) + 2;
  if (stack.length < levels) stack = new Float64Array(levels);
  const remaining = stack;
  remaining[0] = 1;
  let level = 0; // index of the innermost open container
  let items = 0;
  let at = 0;
  while (at < length) {
    while (remaining[level] === 0) {
      if (level === 0) return null; // the top value is complete
      level--;
    }
    remaining[level]--;
    const type = bytes[at++];
    let open = -1; // items of the container this byte opens (a map entry counts once)
    let isMap = false;
    if (type <= 0x7f || type >= 0xe0 || type === 0xc0 || type === 0xc2 || type === 0xc3) {
      continue; // fixint, nil, booleans: nothing follows
    } else if (type <= 0x8f) {
      open = type & 0x0f;
      isMap = true;
    } else if (type <= 0x9f) open = type & 0x0f;
    else if (type <= 0xbf) {
      at += type & 0x1f;
      continue;
    } else {
      switch (type) {
        case 0xc4: // bin8
        case 0xd9: // str8
          at += 1 + readUint(bytes, at, 1);
          continue;
        case 0xc5: // bin16
        case 0xda: // str16
          at += 2 + readUint(bytes, at, 2);
          continue;
        case 0xc6: // bin32
        case 0xdb: // str32
          at += 4 + readUint(bytes, at, 4);
          continue;
        case 0xca: // float32
        case 0xce: // uint32
        case 0xd2: // int32
          at += 4;
          continue;
        case 0xcb: // float64
        case 0xcf: // uint64
        case 0xd3: // int64
          at += 8;
          continue;
        case 0xcc: // uint8
        case 0xd0: // int8
          at += 1;
          continue;
        case 0xcd: // uint16
        case 0xd1: // int16
          at += 2;
          continue;
        case 0xc7: // ext8
        case 0xc8: // ext16
        case 0xc9: // ext32
        case 0xd4: // fixext1
        case 0xd5: // fixext2
        case 0xd6: // fixext4
        case 0xd7: // fixext8
        case 0xd8: // fixext16
          if (!shape.extensions) return `${shape.name} holds a MessagePack extension`;
          at += extensionBytes(bytes, at, type);
          continue;
        case 0xdc: // array16
          open = readUint(bytes, at, 2);
          at += 2;
          break;
        case 0xdd: // array32
          open = readUint(bytes, at, 4);
          at += 4;
          break;
        case 0xde: // map16
          open = readUint(bytes, at, 2);
          at += 2;
          isMap = true;
          break;
        case 0xdf: // map32
          open = readUint(bytes, at, 4);
          at += 4;
          isMap = true;
          break;
        default:
          return null; // 0xc1 (never used): invalid, the decoder says so
      }
    }
    const depth = level + 1; // of the container being opened
    if (depth > shape.depthMax) return `${shape.name} nests deeper than ${shape.depthMax} levels`;
    const itemsMax = depth === 1 ? shape.topItemsMax : shape.innerItemsMax;
    if (open > itemsMax)
      return `${shape.name} has a ${isMap ? "map" : "array"} of ${open} items, more than ${itemsMax}`;
    items += open;
    if (items > shape.itemsMax) return `${shape.name} holds more than ${shape.itemsMax} items`;
    if (open > 0) remaining[++level] = isMap ? open * 2 : open;
  }
  return null;
}

let stack = new Float64Array(72);

/** Throws ShapeError unless `bytes` fit `shape`. */
export function assertShape(bytes: Uint8Array, shape: Shape): void {
  const problem = shapeProblem(bytes, shape);
  if (problem !== null) throw new ShapeError(problem);
}

function containerKind(type: number): number {
  if ((type >= 0x80 && type <= 0x8f) || type === 0xde || type === 0xdf) return MAP;
  if ((type >= 0x90 && type <= 0x9f) || type === 0xdc || type === 0xdd) return ARRAY;
  return 0;
}

/** Big-endian unsigned integer of `size` bytes at `at` (0 past the end: truncation is the decoder's). */
function readUint(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + (bytes[at + i] ?? 0);
  return value;
}

/** Bytes after an extension's type byte: length field, ext type, data. */
function extensionBytes(bytes: Uint8Array, at: number, type: number): number {
  switch (type) {
    case 0xc7:
      return 2 + readUint(bytes, at, 1);
    case 0xc8:
      return 3 + readUint(bytes, at, 2);
    case 0xc9:
      return 5 + readUint(bytes, at, 4);
    default:
      return 1 + (1 << (type - 0xd4)); // fixext 1, 2, 4, 8, 16
  }
}
