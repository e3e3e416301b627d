// How deeply a MessagePack value nests, read from the bytes without decoding them, so a hostile
// payload (an array inside an array ... 100,000 times) is refused before a recursive decoder
// runs out of stack. Iterative: one counter of remaining items per open container.

/** Default limit on payload nesting (arrays and maps), checked before decoding. */
export const PAYLOAD_DEPTH_MAX = 64;

/**
 * true when `bytes` holds MessagePack values nested at most `maxDepth` containers deep. Malformed
 * or truncated input returns true: the decoder reports those itself.
 */
export function withinDepth(bytes: Uint8Array, maxDepth: number): boolean {
  // remaining[d] = items still to read in the container open at depth d (depth 0: top level).
  const remaining: number[] = [Number.POSITIVE_INFINITY];
  let at = 0;
  const length = bytes.length;
  while (at < length) {
    // Close containers whose items are all read.
    while (remaining.length > 1 && remaining[remaining.length - 1] === 0) remaining.pop();
    remaining[remaining.length - 1]--;
    const type = bytes[at++];
    let open = -1; // items of a container this byte opens
    if (type <= 0x7f || type >= 0xe0 || type === 0xc0 || type === 0xc2 || type === 0xc3) {
      // fixint, nil, booleans: nothing follows
    } else if (type >= 0x80 && type <= 0x8f) open = (type & 0x0f) * 2;
    else if (type >= 0x90 && type <= 0x9f) open = type & 0x0f;
    else if (type >= 0xa0 && type <= 0xbf) at += type & 0x1f;
    else {
      switch (type) {
        case 0xc4:
        case 0xd9:
          at += 1 + uintAt(bytes, at, 1);
          break; // bin8, str8
        case 0xc5:
        case 0xda:
          at += 2 + uintAt(bytes, at, 2);
          break; // bin16, str16
        case 0xc6:
        case 0xdb:
          at += 4 + uintAt(bytes, at, 4);
          break; // bin32, str32
        case 0xc7:
          at += 2 + uintAt(bytes, at, 1);
          break; // ext8
        case 0xc8:
          at += 3 + uintAt(bytes, at, 2);
          break; // ext16
        case 0xc9:
          at += 5 + uintAt(bytes, at, 4);
          break; // ext32
        case 0xca:
          at += 4;
          break; // float32
        case 0xcb:
          at += 8;
          break; // float64
        case 0xcc:
        case 0xd0:
          at += 1;
          break;
        case 0xcd:
        case 0xd1:
          at += 2;
          break;
        case 0xce:
        case 0xd2:
          at += 4;
          break;
        case 0xcf:
        case 0xd3:
          at += 8;
          break;
        case 0xd4:
          at += 2;
          break; // fixext1
        case 0xd5:
          at += 3;
          break;
        case 0xd6:
          at += 5;
          break;
        case 0xd7:
          at += 9;
          break;
        case 0xd8:
          at += 17;
          break;
        case 0xdc:
          open = uintAt(bytes, at, 2);
          at += 2;
          break; // array16
        case 0xdd:
          open = uintAt(bytes, at, 4);
          at += 4;
          break; // array32
        case 0xde:
          open = uintAt(bytes, at, 2) * 2;
          at += 2;
          break; // map16
        case 0xdf:
          open = uintAt(bytes, at, 4) * 2;
          at += 4;
          break; // map32
        default:
          return true; // 0xc1 (never used): malformed, the decoder will say so
      }
    }
    if (open >= 0) {
      if (remaining.length > maxDepth) return false;
      if (open > 0) remaining.push(open);
    }
  }
  return true;
}

/**
 * The big-endian unsigned integer of `size` bytes at `at` (missing bytes read as 0). A module
 * function rather than a closure in withinDepth: under tsx (esbuild's keepNames) every named
 * closure is given its name as it is made, ~0.3 µs per call (docs/performance.md).
 */
function uintAt(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + (bytes[at + i] ?? 0);
  return value;
}
