// `npm run soak`: the long versions of the tests that repeat a scenario many times. SOAK=1 tells
// those files to run their full count (e.g. 20 orchestrator restarts instead of 3); the files run
// one at a time, since each loads the machine on its own. To soak another file, add it below.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const SOAK_FILES = [
  "test/e2e/chaos.test.ts", // issue 12: 8 satellites killed and joining, garbage, a slow reader, 3 x 60 s
  "test/e2e/restart.test.ts", // issue 20: kill -9 of a durable orchestrator under load, 20 runs
];

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: SOAK_FILES,
    env: { SOAK: "1" },
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
