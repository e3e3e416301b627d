// CRUSH fixtures for tests: the crushtool reference maps (test/fixtures/crush, made by its
// generate.sh) compiled by name, the reference cases, and the names of the fixture files in a
// directory (crush-text and crush-binary have their own).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CrushMap, compileCrushText } from "../../src/crush/index.ts";

/** test/fixtures/crush: maps/, decompiled/, tree-order/ and cases.json. */
export const CRUSH_FIXTURES = join(import.meta.dirname, "../fixtures/crush");

/** The reference map test/fixtures/crush/maps/NAME.txt, compiled. */
export function loadMap(name: string): CrushMap {
  return compileCrushText(readFileSync(join(CRUSH_FIXTURES, "maps", `${name}.txt`), "utf8"));
}

/** One crushtool reference case (test/fixtures/crush/cases.json). */
export interface CrushCase {
  name: string;
  map: string;
  args: string[];
  output: string;
  stderr?: string;
}

export function loadCases(): CrushCase[] {
  return JSON.parse(readFileSync(join(CRUSH_FIXTURES, "cases.json"), "utf8")) as CrushCase[];
}

/**
 * The names of the files in `directory` ending in `suffix`, without it, sorted; those ending in
 * `excludedSuffix` (a derived file, say NAME.decompiled.txt beside NAME.txt) are left out.
 */
export function fixtureNames(directory: string, suffix: string, excludedSuffix?: string): string[] {
  return readdirSync(directory)
    .filter(
      (file) => file.endsWith(suffix) && (excludedSuffix === undefined || !file.endsWith(excludedSuffix)),
    )
    .map((file) => file.slice(0, -suffix.length))
    .sort();
}
