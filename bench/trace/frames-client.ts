// Raw echo with N frames per message (dsat's batches have 5-7): does the frame count cost per hop?
//   argv: endpoint frames seconds -> {perSecond, p50}
import { Dealer } from "zeromq";

const [endpoint, framesText, secondsText] = process.argv.slice(2);
const dealer = new Dealer({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
dealer.connect(endpoint);
const n = Number(framesText);
const parts = [
  Buffer.alloc(0),
  Buffer.from("MDPC01"),
  Buffer.from("dsat.batch"),
  Buffer.from("dsat/1b"),
  Buffer.alloc(30, 1),
  Buffer.alloc(66, 7),
  Buffer.alloc(24, 3),
];
const message = n === 1 ? [Buffer.concat(parts)] : parts.slice(0, n);
await new Promise((resolve) => setTimeout(resolve, 300));
const latencies: number[] = [];
const deadline = performance.now() + Number(secondsText) * 1000;
const started = performance.now();
let sent = performance.now();
await dealer.send(message);
for await (const _ of dealer) {
  const now = performance.now();
  latencies.push(now - sent);
  if (now > deadline) break;
  sent = now;
  await dealer.send(message);
}
latencies.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    frames: n,
    perSecond: latencies.length / ((performance.now() - started) / 1000),
    p50: latencies[latencies.length >> 1] * 1000,
  }),
);
process.exit(0);
