// Test satellite for the validation run: sleeps the `ms` it is given and says how long the sleep
// really took, so the test can tell a CPU-starved machine (timers firing late) from a simulator
// that models the run wrongly.
import { defineSatellite } from "../../../src/index.ts";

export default defineSatellite<{ ms: number }, { satellite: string; sleptMs: number }>({
  type: "slow",
  concurrency: 8,
  async handle(payload, context) {
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, payload.ms));
    return { satellite: context.satelliteId, sleptMs: performance.now() - started };
  },
});
