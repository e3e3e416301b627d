// What a dsat satellite reports with its heartbeats (docs/protocol.md, "Load"): jobs running, its
// application's own queue, the event-loop lag over the last period and its error rate. The lag is
// perf_hooks' monitorEventLoopDelay p99, reset each period: a handler that blocks the loop shows.
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { SatelliteLoad } from "../protocol/index.ts";

export class LoadMeter {
  private readonly delay: IntervalHistogram;
  private lastDone = 0;
  private lastErrors = 0;

  constructor(private readonly extra: (() => Partial<SatelliteLoad>) | undefined) {
    this.delay = monitorEventLoopDelay({ resolution: 20 });
    this.delay.enable();
  }

  /** The load since the last sample. `done` and `errors`: the runtime's counters (cumulative). */
  sample(inFlight: number, done: number, errors: number): SatelliteLoad {
    const finished = done - this.lastDone + (errors - this.lastErrors);
    const failed = errors - this.lastErrors;
    this.lastDone = done;
    this.lastErrors = errors;
    // p99 in ns; the histogram's floor is its resolution (20 ms), which is not lag.
    const lagMs = this.delay.count === 0 ? 0 : Math.max(0, this.delay.percentile(99) / 1e6 - 20);
    this.delay.reset();
    const load: SatelliteLoad = {
      inFlight,
      queued: 0,
      lagMs,
      errorRate: finished === 0 ? 0 : failed / finished,
    };
    // The application's own figures (its queue, or a lag it measures itself) win.
    if (this.extra !== undefined) {
      try {
        Object.assign(load, sanitize(this.extra()));
      } catch {
        // A failing hook costs the figures, never the heartbeat.
      }
    }
    return load;
  }

  close(): void {
    this.delay.disable();
  }
}

function sanitize(extra: Partial<SatelliteLoad>): Partial<SatelliteLoad> {
  const out: Partial<SatelliteLoad> = {};
  for (const key of ["inFlight", "queued", "lagMs", "errorRate"] as const) {
    const value = extra?.[key];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0)
      out[key] = key === "errorRate" ? Math.min(1, value) : value;
  }
  return out;
}
