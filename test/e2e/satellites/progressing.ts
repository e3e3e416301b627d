// Test satellite: runs `ms` milliseconds reporting progress every 100 ms, and records each attempt
// it starts (a file `started-<tag>-<attempt>` in DSAT_TEST_DIR), so a test can tell a job that ran
// once from one that was retried.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineSatellite } from "../../../src/index.ts";

export default defineSatellite<{ ms: number; tag: string }, { tag: string; satellite: string }>({
  type: "progressing",
  concurrency: 4,
  async handle(payload, context) {
    const dir = process.env.DSAT_TEST_DIR;
    if (dir !== undefined)
      writeFileSync(join(dir, `started-${payload.tag}-${context.attempt}`), String(process.pid));
    for (let elapsed = 0; elapsed < payload.ms; elapsed += 100) {
      context.progress(elapsed);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { tag: payload.tag, satellite: context.satelliteId };
  },
});
