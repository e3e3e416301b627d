// Every test/raft/testdata/*.txt interaction script, replayed against real Raft cores with a fake clock
// (interaction.ts); the printed trace must match (UPDATE_SCRIPTS=1 rewrites it: docs/raft.md, "Testing").
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScript } from "./datadriven.ts";
import { InteractionEnv } from "./interaction.ts";

const DIRECTORY = fileURLToPath(new URL("./testdata/", import.meta.url));
const scripts = readdirSync(DIRECTORY).filter((name) => name.endsWith(".txt"));

describe("raft interaction scripts", () => {
  it("has scripts to run", () => {
    expect(scripts.length).toBeGreaterThan(0);
  });

  for (const file of scripts) {
    it(file, () => {
      const { mismatches } = runScript(`${DIRECTORY}${file}`, new InteractionEnv());
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
