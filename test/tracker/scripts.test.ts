// Every testdata/*.txt script, replayed against the tracker; the printed effects must match.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScript } from "./script.ts";

const DIRECTORY = fileURLToPath(new URL("./testdata/", import.meta.url));

describe("tracker scripts", () => {
  for (const file of readdirSync(DIRECTORY).filter((name) => name.endsWith(".txt"))) {
    it(file, () => {
      const { actual, expected } = runScript(`${DIRECTORY}${file}`);
      expect(actual).toBe(expected);
    });
  }
});
