// cpu: a CPU-heavy job: counts primes below `limit` in slices, reporting progress after each slice
// (which also proves liveness to the tracker) and stopping when the job is cancelled.
import { defineSatellite, NonRetryableError } from "../src/index.ts";

const SLICE = 20_000;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export default defineSatellite<{ limit?: number }, { limit: number; primes: number }>({
  type: "cpu",
  concurrency: 1,
  async handle(payload, context) {
    const limit = payload?.limit ?? 200_000;
    if (!Number.isInteger(limit) || limit < 0 || limit > 50_000_000) {
      throw new NonRetryableError("cpu expects { limit: integer in 0..50000000 }");
    }
    let primes = 0;
    for (let start = 0; start < limit; start += SLICE) {
      if (context.signal.aborted) throw new Error("cancelled");
      const end = Math.min(limit, start + SLICE);
      for (let n = start; n < end; n++) if (isPrime(n)) primes++;
      context.progress({ done: end, of: limit });
      // Yield so heartbeats and cancels get through between slices.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { limit, primes };
  },
});
