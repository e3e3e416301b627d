// A bare relay between raw-echo-client and a relay worker: the hop count of dsat (client ->
// broker -> worker -> broker -> client) with none of its work. Frames: client [tag, payload];
// to the worker [client id, tag, payload]; the worker echoes them back.
import { Router } from "zeromq";

const endpoint = process.argv[2];
const router = new Router({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
await router.bind(endpoint);
let worker: Buffer | null = null;
process.send?.("ready");
const workUs = Number(process.env.RELAY_WORK_US ?? 0);
const workBefore = process.env.RELAY_WORK_BEFORE === "1";
const spin = () => {
  const end = performance.now() + workUs / 1000;
  while (performance.now() < end);
};
for await (const frames of router) {
  if (workUs > 0 && workBefore) spin();
  if (frames.length === 2 && frames[1].toString() === "WORKER") {
    worker = frames[0];
    continue;
  }
  if (worker !== null && frames[0].equals(worker)) router.send(frames.slice(1)).catch(() => {});
  else if (worker !== null) router.send([worker, ...frames]).catch(() => {});
  if (workUs > 0 && !workBefore) spin();
}
