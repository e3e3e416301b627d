// withinDepth skips a string's or binary's length field before its bytes: reading one byte early
// let the last byte of the content pass for a type byte (a false refusal, or hostile nesting after
// a crafted binary left unchecked).
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { PAYLOAD_DEPTH_MAX, withinDepth } from "../../src/protocol/index.ts";

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describe("withinDepth and length-prefixed values", () => {
  it("does not read the last byte of a binary or string as a container", () => {
    // 0x91 is a one-element array's header; here it is only the last byte of the content.
    for (const length of [1, 200, 70_000]) {
      const bytes = Buffer.alloc(length, 0x91);
      expect(withinDepth(pack([bytes]), 1)).toBe(true);
      expect(withinDepth(pack([bytes.toString("latin1")]), 1)).toBe(true);
    }
  });

  it("sees nesting that follows a binary whose last byte looks like a long string header", () => {
    const hostile = pack([Buffer.from([0xdb]), nested(PAYLOAD_DEPTH_MAX + 10)]);
    expect(withinDepth(hostile, PAYLOAD_DEPTH_MAX)).toBe(false);
  });

  it("skips extensions whole", () => {
    const date = pack([new Date(0), new Date(2 ** 40), "x"]);
    expect(withinDepth(date, 1)).toBe(true);
  });
});
