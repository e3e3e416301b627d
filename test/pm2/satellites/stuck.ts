// Test satellite for the watchdog: answers `{ hang: true }` on the first attempt by spinning its
// event loop forever (heartbeats stop, the process stays alive and `online` to pm2); every other
// job, and later attempts, are echoed back with the satellite's id and pid.
import { defineSatellite } from "../../../src/index.ts";

export default defineSatellite<
  { hang?: boolean; tag?: string } | null,
  { satellite: string; pid: number; attempt: number; tag?: string }
>({
  type: "stuck",
  concurrency: 4,
  handle(payload, context) {
    if (payload?.hang === true && context.attempt === 1) {
      context.log(`hanging on purpose (pid ${process.pid})`);
      for (;;) {
        // A hung event loop: no heartbeats, no signal handlers, no timers.
      }
    }
    return { satellite: context.satelliteId, pid: process.pid, attempt: context.attempt, tag: payload?.tag };
  },
});
