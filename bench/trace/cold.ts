// The same reply-batch parsing hot (in a loop) and cold (after 16 MB of other memory was touched),
// as each process finds its caches after the other two ran: node --import tsx bench/trace/cold.ts
import {
  BATCH_ENTRIES_MAX,
  DSAT_BATCH_MARK,
  decode,
  encode,
  isReplyEntry,
  MDP_CLIENT,
  replyBatchFrames,
  splitBatch,
  withinDepth,
} from "../../src/protocol/index.ts";

const payload = encode(Buffer.alloc(64, 7));
const frames = replyBatchFrames([[1, "cX-1", "ok", payload.length, null]], [payload]);
const thrash = Buffer.alloc(16 * 1024 * 1024);
function work() {
  if (frames.length !== 6 || !frames[1].equals(MDP_CLIENT)) throw new Error("not a client message");
  if (!frames[3].equals(DSAT_BATCH_MARK)) throw new Error("not a batch");
  const batch = splitBatch(frames[4], frames[5], isReplyEntry, (e) => e[3], BATCH_ENTRIES_MAX);
  if (typeof batch === "string") throw new Error(batch);
  withinDepth(batch.payloads[0], 64);
  return decode(batch.payloads[0]);
}
for (const cold of [false, true]) {
  for (let i = 0; i < 20000; i++) work();
  let total = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    if (cold) for (let j = 0; j < thrash.length; j += 64) thrash[j]++;
    const t0 = performance.now();
    work();
    total += performance.now() - t0;
  }
  console.log(cold ? "cold" : "hot", ((total * 1000) / n).toFixed(2), "µs");
}
