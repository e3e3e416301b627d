// A dsat client keeping `window` requests in flight for `seconds`; prints JSON stats. A warm-up of
// `warmSeconds` at 64 or more in flight comes first, not counted (the JIT compiles the hot paths:
// a fresh process runs its first seconds at half speed, docs/performance.md). With mode "hold", it
// sends `count` hold jobs and waits to be told to finish.
import { connect } from "../../src/client/index.ts";

const [endpoint, mode, windowText, secondsText, warmText = "0"] = process.argv.slice(2);
const window = Number(windowText);
const warmWindow = Math.max(window, 64);
const client = await connect(endpoint, { inFlightMax: warmWindow + 1, timeoutMs: 600_000 });
const payload = Buffer.alloc(64, 7);
await new Promise((resolve) => setTimeout(resolve, 300));
if (mode === "hold") {
  const all = Array.from({ length: window }, (_, i) => client.request("hold", i));
  process.send?.("sent");
  await Promise.all(all);
  console.log(JSON.stringify({ completed: window }));
  await client.close();
  process.exit(0);
}
let failed = 0;
/** Keeps `inFlight` requests going until `deadline`; each latency (ms) goes to `latencies`. */
async function load(inFlight: number, deadline: number, latencies: number[] | null): Promise<number> {
  let completed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        await client.request("echo", payload);
        latencies?.push(performance.now() - sent);
        completed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return completed;
}
const warmSeconds = Number(warmText);
if (warmSeconds > 0) await load(warmWindow, performance.now() + warmSeconds * 1000, null);
const latencies: number[] = [];
const started = performance.now();
const completed = await load(window, started + Number(secondsText) * 1000, latencies);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0;
console.log(JSON.stringify({ perSecond: completed / elapsed, p50: q(0.5), p99: q(0.99), completed, failed }));
await client.close();
process.exit(0);
