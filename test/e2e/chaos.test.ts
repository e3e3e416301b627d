// Issue 12's soak (test/e2e/chaos-scenario.ts): satellites killed and restarted, plain workers
// coming and going, a garbage sender and a client that never reads, while good jobs stream. A short
// run here; SOAK=1 (`npm run soak`) runs the full one: 8 satellites (3 killed at random), 5 plain
// workers, 60 s, three times in a row.
import { describe, expect, it } from "vitest";
import { type ChaosOptions, chaosRun, describeChaosRun } from "./chaos-scenario.ts";

const soak = process.env.SOAK === "1";
const options: ChaosOptions = soak
  ? {
      durationMs: 60_000,
      satellites: 8,
      killable: 3,
      plainWorkers: 5,
      concurrency: 64,
      seed: 0,
      rssBoundMiB: 400,
    }
  : {
      durationMs: 12_000,
      satellites: 4,
      killable: 2,
      plainWorkers: 2,
      concurrency: 32,
      seed: 0,
      rssBoundMiB: 400,
    };
const runs = soak ? 3 : 1;

describe(`chaos soak (${soak ? "full" : "short"})`, () => {
  for (let run = 1; run <= runs; run++)
    it(
      `run ${run} of ${runs}: every good job answered once, the orchestrator bounded`,
      async () => {
        const seed = Number(process.env.CHAOS_SEED ?? 1000 + run);
        const result = await chaosRun({ ...options, seed });
        console.log(`seed ${seed}: ${describeChaosRun(result)}`);
        expect(result.orchestratorAlive).toBe(true);
        expect(result.failures).toEqual({});
        expect(result.wrongResults).toBe(0);
        expect(result.notOnce).toBe(0);
        expect(result.orphans).toBe(0);
        expect(result.goodSent).toBeGreaterThan(0);
        expect(result.kills).toBeGreaterThan(0);
        expect(result.rssMaxMiB).toBeLessThan(result.rssBoundMiB);
      },
      options.durationMs + 180_000,
    );
});
