// Tracker benchmark: memory per tracked job (jobs submitted and dispatched, so each holds a satellite
// link and an ack timer) and the tracker's own cost per job for a submit -> dispatched -> ack ->
// succeeded cycle, effects drained as the orchestrator would. Memory is heapUsed + arrayBuffers (the
// job table and the timer wheel live in typed arrays) after a GC when node runs with --expose-gc;
// without it the figure is best effort. Job ids and candidate lists are made before the baseline:
// the orchestrator owns them, the tracker only points at them.
import { Tracker } from "../src/tracker/index.ts";
import { type BenchResult, median } from "./stats.ts";

const SATELLITES = Array.from({ length: 100 }, (_, index) => `sat-${index}`);
/** Shared candidate lists, as a placement cache would hand out. */
const CANDIDATE_LISTS = Array.from({ length: 1000 }, (_, index) => [
  SATELLITES[index % 100],
  SATELLITES[(index + 37) % 100],
  SATELLITES[(index + 71) % 100],
]);

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
}

function memoryBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function bytesPerTrackedJob(jobs: number): number {
  const ids = Array.from({ length: jobs }, (_, index) => `job-${index}`);
  collect();
  const before = memoryBytes();
  const tracker = new Tracker({ jobsMax: jobs, ackTimeoutMs: 60_000 }, () => 0.5);
  for (let index = 0; index < jobs; index++) {
    const jobId = ids[index];
    const candidates = CANDIDATE_LISTS[index % CANDIDATE_LISTS.length];
    tracker.step({ kind: "submit", jobId, type: "echo", candidates, deadlineAtMs: 120_000 }, 0);
    tracker.step({ kind: "dispatched", jobId, attempt: 1, satelliteId: candidates[0] }, 0);
    if ((index & 1023) === 0) tracker.takeEffects();
  }
  tracker.takeEffects();
  collect();
  const after = memoryBytes();
  if (tracker.jobsTracked !== jobs || ids.length !== jobs) throw new Error("jobs lost");
  return (after - before) / jobs;
}

function nanosecondsPerCycle(jobs: number, rounds: number): number[] {
  const ids = Array.from({ length: jobs }, (_, index) => `job-${index}`);
  const results: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const tracker = new Tracker({ jobsMax: jobs }, () => 0.5);
    let now = round * 1e6;
    const start = process.hrtime.bigint();
    for (let index = 0; index < jobs; index++) {
      const jobId = ids[index];
      const candidates = CANDIDATE_LISTS[index % CANDIDATE_LISTS.length];
      const satelliteId = candidates[0];
      tracker.step({ kind: "submit", jobId, type: "echo", candidates }, now);
      tracker.step({ kind: "dispatched", jobId, attempt: 1, satelliteId }, now);
      tracker.step({ kind: "ack", jobId, attempt: 1, satelliteId }, now);
      tracker.step({ kind: "succeeded", jobId, attempt: 1, satelliteId }, now);
      if ((index & 63) === 0) {
        now += 1;
        tracker.tick(now);
        tracker.takeEffects();
      }
    }
    tracker.takeEffects();
    results.push(Number(process.hrtime.bigint() - start) / jobs);
    if (tracker.jobsTracked !== 0) throw new Error("jobs left over");
  }
  return results;
}

export function benchTracker(quick: boolean): BenchResult[] {
  const memoryJobs = quick ? 200_000 : 1_000_000;
  const cycleJobs = quick ? 100_000 : 1_000_000;
  const gcNote = (globalThis as { gc?: () => void }).gc === undefined ? ", no --expose-gc" : "";
  nanosecondsPerCycle(20_000, 2); // warm-up
  const overhead = median(nanosecondsPerCycle(cycleJobs, quick ? 3 : 5));
  const memory = bytesPerTrackedJob(memoryJobs);
  return [
    {
      name: `tracker: memory per tracked job (${memoryJobs.toLocaleString("en-US")} in flight${gcNote})`,
      value: memory,
      unit: "bytes",
    },
    { name: "tracker: overhead per job (submit, dispatched, ack, succeeded)", value: overhead, unit: "ns" },
    { name: "tracker: job cycles per second (one core)", value: 1e9 / overhead, unit: "jobs/s" },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResult } = await import("./stats.ts");
  for (const result of benchTracker(process.argv.includes("--quick"))) console.log(formatResult(result));
}
