// Test satellite for the multi-host tests: waits `ms`, then says which host ran the job (DSAT_HOST,
// set by `dsat up` for each satellite app) and which attempt it was.
import { defineSatellite } from "../../../src/index.ts";

export default defineSatellite<{ ms?: number; n?: number }, { host: string; n?: number; attempt: number }>({
  type: "work",
  concurrency: 8,
  async handle(payload, context) {
    await new Promise((resolve) => setTimeout(resolve, payload?.ms ?? 0));
    return { host: process.env.DSAT_HOST ?? "?", n: payload?.n, attempt: context.attempt };
  },
});
