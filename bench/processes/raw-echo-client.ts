// Baseline client: a DEALER keeping `window` requests in flight for `seconds`; prints JSON stats.
// Warmed up like the dsat client (client.ts): `warmSeconds` at 64 or more in flight, not counted.
import { Dealer } from "zeromq";

const [endpoint, windowText, secondsText, warmText = "0"] = process.argv.slice(2);
const window = Number(windowText);
const dealer = new Dealer({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
dealer.connect(endpoint);
const payload = Buffer.alloc(64, 7);
const sentAt = new Map<number, number>();
let next = 0;
const send = () => {
  const id = next++;
  const tag = Buffer.allocUnsafe(4);
  tag.writeUInt32LE(id);
  sentAt.set(id, performance.now());
  dealer.send([tag, payload]).catch(() => {});
};
const replies = dealer[Symbol.asyncIterator]();
/** Keeps `inFlight` requests going until `deadline`, then waits for the last replies. */
async function load(inFlight: number, deadline: number, latencies: number[] | null): Promise<number> {
  let completed = 0;
  for (let i = 0; i < inFlight; i++) send();
  while (sentAt.size > 0) {
    const { value, done } = await replies.next();
    if (done) break;
    const id = value[0].readUInt32LE();
    latencies?.push(performance.now() - (sentAt.get(id) ?? 0));
    sentAt.delete(id);
    completed++;
    if (performance.now() < deadline) send();
  }
  return completed;
}
// Warm the connection up.
await new Promise((resolve) => setTimeout(resolve, 300));
const warmSeconds = Number(warmText);
if (warmSeconds > 0) await load(Math.max(window, 64), performance.now() + warmSeconds * 1000, null);
const latencies: number[] = [];
const started = performance.now();
const completed = await load(window, started + Number(secondsText) * 1000, latencies);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
console.log(JSON.stringify({ perSecond: completed / elapsed, p50: q(0.5), p99: q(0.99), completed }));
dealer.close();
process.exit(0);
