// Baseline client: a DEALER keeping `window` requests in flight for `seconds`; prints JSON stats.
import { Dealer } from "zeromq";

const [endpoint, windowText, secondsText] = process.argv.slice(2);
const window = Number(windowText);
const seconds = Number(secondsText);
const dealer = new Dealer({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
dealer.connect(endpoint);
const payload = Buffer.alloc(64, 7);
const sentAt = new Map<number, number>();
const latencies: number[] = [];
let next = 0;
let completed = 0;
const send = () => {
  const id = next++;
  const tag = Buffer.allocUnsafe(4);
  tag.writeUInt32LE(id);
  sentAt.set(id, performance.now());
  dealer.send([tag, payload]).catch(() => {});
};
// Warm the connection up.
await new Promise((resolve) => setTimeout(resolve, 300));
const started = performance.now();
const deadline = started + seconds * 1000;
for (let i = 0; i < window; i++) send();
for await (const [tag] of dealer) {
  const id = tag.readUInt32LE();
  latencies.push(performance.now() - (sentAt.get(id) ?? 0));
  sentAt.delete(id);
  completed++;
  if (performance.now() < deadline) send();
  else if (sentAt.size === 0) break;
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
console.log(JSON.stringify({ perSecond: completed / elapsed, p50: q(0.5), p99: q(0.99), completed }));
dealer.close();
process.exit(0);
