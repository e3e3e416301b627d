// echo that takes a few ms per job (DSAT_ECHO_DELAY_MS, default 5), so a stream of jobs is still in
// flight when a test kills the orchestrator.
import { defineSatellite } from "../../../src/index.ts";

const delayMs = Number(process.env.DSAT_ECHO_DELAY_MS ?? 5);

export default defineSatellite({
  type: "paced",
  concurrency: 32,
  handle: async (payload) => {
    await new Promise((done) => setTimeout(done, delayMs));
    return payload;
  },
});
