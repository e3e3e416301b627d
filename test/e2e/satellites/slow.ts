// Test satellite: records that it started a job (a file named after the job in DSAT_TEST_DIR, holding
// this process's pid), waits `ms`, and says which satellite and process ran it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineSatellite } from "../../../src/index.ts";

export default defineSatellite<
  { ms?: number; tag?: string },
  { satellite: string; pid: number; tag?: string }
>({
  type: "slow",
  concurrency: 4,
  async handle(payload, context) {
    const dir = process.env.DSAT_TEST_DIR;
    if (dir !== undefined && payload?.tag !== undefined) {
      writeFileSync(join(dir, `started-${payload.tag}-${context.attempt}`), String(process.pid));
    }
    await new Promise((resolve) => setTimeout(resolve, payload?.ms ?? 0));
    return { satellite: context.satelliteId, pid: process.pid, tag: payload?.tag };
  },
});
