// The relay broker's worker: echoes every message.
import { Dealer } from "zeromq";

const dealer = new Dealer({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
dealer.connect(process.argv[2]);
await dealer.send("WORKER");
process.send?.("ready");
for await (const frames of dealer) dealer.send(frames).catch(() => {});
