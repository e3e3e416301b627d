// Baseline: a bare zeromq.js ROUTER that echoes every message (no protocol, no placement).
import { Router } from "zeromq";

const endpoint = process.argv[2];
const router = new Router({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
await router.bind(endpoint);
process.send?.("ready");
for await (const frames of router) {
  router.send(frames).catch(() => {});
}
