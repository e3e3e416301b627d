// Test satellite for the restart tests (test/e2e/restart.test.ts): an echo that writes down every
// execution it starts, so a test can count executions per job. Each start appends a line
// "<job id> <attempt> <start, ms since the epoch with µs>" to DSAT_TEST_DIR/executions-<satellite>.log;
// the lines of one event-loop turn are appended together, with a synchronous write, before any of
// those jobs can answer. A payload with a number `ms` makes its job take that long.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { defineSatellite } from "../../../src/index.ts";

const dir = process.env.DSAT_TEST_DIR ?? ".";

let pending: string[] = [];
let logFile = "";

/** Appends this turn's lines in one write; runs before the turn's replies leave (see below). */
function writeDown(): void {
  if (pending.length === 0) return;
  appendFileSync(logFile, pending.join(""));
  pending = [];
}

export default defineSatellite({
  type: "counted",
  concurrency: 64,
  async handle(payload, context) {
    logFile ||= join(dir, `executions-${context.satelliteId}.log`);
    // Wall clock with sub-ms precision, comparable with the test process's own stamps.
    const startedAt = performance.timeOrigin + performance.now();
    if (pending.length === 0) queueMicrotask(writeDown);
    pending.push(`${context.id} ${context.attempt} ${startedAt.toFixed(3)}\n`);
    // The reply of a handler that resolves at once leaves in a later turn than this microtask, so
    // the line is on disk before the orchestrator (and so the client) can hear of the result.
    const ms = (payload as { ms?: unknown } | null)?.ms;
    if (typeof ms === "number" && ms > 0) await new Promise((done) => setTimeout(done, ms));
    return payload;
  },
});
