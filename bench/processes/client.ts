// A dsat client keeping `window` requests in flight for `seconds`; prints JSON stats. With mode
// "hold", it sends `count` hold jobs and waits to be told to finish.
import { connect } from "../../src/client/index.ts";

const [endpoint, mode, windowText, secondsText] = process.argv.slice(2);
const window = Number(windowText);
const client = await connect(endpoint, { inFlightMax: window + 1, timeoutMs: 600_000 });
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
const seconds = Number(secondsText);
const latencies: number[] = [];
let completed = 0;
let failed = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
const worker = async () => {
  while (performance.now() < deadline) {
    const sent = performance.now();
    try {
      await client.request("echo", payload);
      latencies.push(performance.now() - sent);
      completed++;
    } catch {
      failed++;
    }
  }
};
await Promise.all(Array.from({ length: window }, worker));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0;
console.log(JSON.stringify({ perSecond: completed / elapsed, p50: q(0.5), p99: q(0.99), completed, failed }));
await client.close();
process.exit(0);
