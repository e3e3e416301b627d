// Every test/orchestrator/testdata/*.txt script, replayed against a fresh router with a fake clock;
// the printed effects must match (UPDATE_SCRIPTS=1 rewrites them: docs/router.md, "Script tests").
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScript } from "./script.ts";

const DIRECTORY = fileURLToPath(new URL("../testdata/", import.meta.url));
const scripts = readdirSync(DIRECTORY).filter((name) => name.endsWith(".txt"));

describe("router scripts", () => {
  it("has scripts to run", () => {
    expect(scripts.length).toBeGreaterThan(0);
  });

  for (const file of scripts) {
    it(file, () => {
      const { mismatches } = runScript(`${DIRECTORY}${file}`);
      // Rewriting: the new output is in the file; show what changed, to be read before committing.
      if (process.env.UPDATE_SCRIPTS === "1") {
        if (mismatches.length > 0) console.log(`rewrote ${file}:\n\n${mismatches.join("\n\n")}`);
        return;
      }
      if (mismatches.length > 0)
        throw new Error(
          `${mismatches.length} block(s) differ (UPDATE_SCRIPTS=1 rewrites them; read the diff first):\n\n${mismatches.join("\n\n")}`,
        );
    });
  }
});
