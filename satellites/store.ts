// store: the second step of the pipeline: appends a measurement to a CSV file (DSAT_CSV, default
// dsat-measurements.csv in the system's temp directory) and returns the line it wrote.
import { appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineSatellite, NonRetryableError } from "../src/index.ts";
import type { Measurement } from "./measure.ts";

const file = process.env.DSAT_CSV ?? join(tmpdir(), "dsat-measurements.csv");

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export default defineSatellite<Measurement, { file: string; line: string }>({
  type: "store",
  concurrency: 1, // one writer per file
  handle(measurement) {
    if (typeof measurement?.at !== "string" || typeof measurement.value !== "number") {
      throw new NonRetryableError("store expects a measurement { at, source, value }");
    }
    const line = [measurement.at, measurement.source, String(measurement.value)].map(csvField).join(",");
    appendFileSync(file, `${line}\n`);
    return { file, line };
  },
});
