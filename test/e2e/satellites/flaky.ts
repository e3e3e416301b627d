// Test satellite for the tracker's end-to-end tests. The payload's `mode` says what to do:
//   ok              answer at once
//   fatal           fail with a non-retryable error
//   stall-once      attempt 1 goes silent forever (alive, heartbeating, no progress); later attempts answer
//   progress        run `ms`, reporting progress every 100 ms
//   wait-abort      run until the job is cancelled, then write aborted-<tag> in DSAT_TEST_DIR
// A satellite whose DSAT_TEST_DIR holds a file named broken-<its id> throws (retryably) on every job.
// Each attempt writes started-<tag>-<attempt> holding its satellite id.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineSatellite, NonRetryableError } from "../../../src/index.ts";

interface Payload {
  mode: "ok" | "fatal" | "stall-once" | "progress" | "wait-abort";
  tag?: string;
  ms?: number;
}

const dir = process.env.DSAT_TEST_DIR ?? ".";

export default defineSatellite<Payload, { satellite: string; attempt: number }>({
  type: "flaky",
  concurrency: 8,
  async handle(payload, context) {
    if (payload.tag !== undefined)
      writeFileSync(join(dir, `started-${payload.tag}-${context.attempt}`), context.satelliteId);
    if (existsSync(join(dir, `broken-${context.satelliteId}`)))
      throw new Error(`${context.satelliteId} is broken`);
    const answer = { satellite: context.satelliteId, attempt: context.attempt };
    switch (payload.mode) {
      case "fatal":
        throw new NonRetryableError("bad input");
      case "stall-once":
        if (context.attempt === 1) await new Promise(() => {});
        return answer;
      case "progress":
        for (let elapsed = 0; elapsed < (payload.ms ?? 1000); elapsed += 100) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          context.progress({ elapsed });
        }
        return answer;
      case "wait-abort":
        await new Promise<void>((resolve) =>
          context.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        writeFileSync(join(dir, `aborted-${payload.tag}`), context.satelliteId);
        throw new Error("aborted");
      default:
        return answer;
    }
  },
});
