// measure: the first step of DSAT's example pipeline. Takes a reading (here: this process's memory
// and load, or the payload's numbers) and passes it on to the next step (store).
import { loadavg } from "node:os";
import { defineSatellite } from "../src/index.ts";

export interface Measurement {
  at: string;
  source: string;
  value: number;
}

export default defineSatellite<{ source?: string; value?: number } | null, Measurement>({
  type: "measure",
  concurrency: 8,
  handle(payload) {
    return {
      at: new Date().toISOString(),
      source: payload?.source ?? "loadavg",
      value: payload?.value ?? loadavg()[0],
    };
  },
});
