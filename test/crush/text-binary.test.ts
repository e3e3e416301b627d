// The text compiler against crushtool's binary output, through the binary codec: the strongest
// check that ids, weights, derived bucket data, shadow trees and table sizes all match.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCrushBinary, encodeCrushBinary } from "../../src/crush/binary/index.ts";
import { compileCrushText, decompileCrushMap } from "../../src/crush/text/index.ts";
import { fixtureNames } from "../helpers/crush-maps.ts";

const MAPS = join(import.meta.dirname, "../fixtures/crush-text/maps");
const names = fixtureNames(MAPS, ".bin");

describe("crushtool text vs crushtool binary", () => {
  it.each(names)("%s: compiles to crushtool's bytes", (name) => {
    const map = compileCrushText(readFileSync(join(MAPS, `${name}.txt`), "utf8"));
    const expected = new Uint8Array(readFileSync(join(MAPS, `${name}.bin`)));
    expect(Buffer.from(encodeCrushBinary(map)).equals(Buffer.from(expected))).toBe(true);
  });

  it.each(names)("%s: decompiling crushtool's binary prints what crushtool -d prints", (name) => {
    const map = decodeCrushBinary(new Uint8Array(readFileSync(join(MAPS, `${name}.bin`))));
    expect(decompileCrushMap(map)).toBe(readFileSync(join(MAPS, `${name}.decompiled.txt`), "utf8"));
  });
});
