// CPU per job of each piece at 1 in flight, in one process, no sockets: the router's two steps
// (client batch -> job batch; reply batch -> reply batch), and the protocol work the client and
// satellite do per job. node --import tsx bench/trace/cost.ts
import { randomBytes } from "node:crypto";
import {
  BATCH_ENTRIES_MAX,
  clientBatchFrames,
  decode,
  encode,
  isJobEntry,
  isReplyEntry,
  type JobEntry,
  type JobReplyEntry,
  jobReplyBatchFrames,
  type RequestEntry,
  splitBatch,
  withinDepth,
  workerReadyFrames,
} from "../../src/protocol/index.ts";
import { inProcessRouter } from "./in-process-router.ts";

const router = inProcessRouter({ echo: { replicas: 3, failureDomain: "host" } });
let now = Date.now();
router.step({ kind: "bound" }, now);
const satRoute = Buffer.from("sat-1");
const clientRoute = Buffer.from("client-1");
router.step(
  {
    kind: "frontend",
    frames: [
      satRoute,
      ...workerReadyFrames("echo", {
        id: "s1",
        types: ["echo"],
        location: [
          ["rack", "r1"],
          ["host", "s1"],
        ],
        capacity: 64,
        weight: 1,
        batch: true,
        heartbeatMs: 1000,
        incarnation: "x",
      }),
    ],
  },
  now,
);
router.takeEffects(true);
const session = randomBytes(24);
const payload = encode(Buffer.alloc(64, 7));

function timeIt(name: string, n: number, body: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 20_000); i++) body(i); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) body(i);
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${name.padEnd(60)} ${us.toFixed(2).padStart(7)} µs`);
}

let correlation = 0;
let requestUs = 0;
let replyUs = 0;
timeIt("router: a job through (both steps, frames built outside)", 100_000, () => {
  const c = ++correlation;
  const entry: RequestEntry = ["echo", c, payload.length, 30_000, `cX-${c.toString(36)}`, null];
  const frames = [clientRoute, ...clientBatchFrames([entry], [payload], session)];
  now++;
  const t0 = performance.now();
  router.step({ kind: "frontend", frames }, now);
  const effects = router.takeEffects(true);
  const t1 = performance.now();
  const toSat = effects.find((e) => e.kind === "send");
  if (toSat === undefined || toSat.kind !== "send") throw new Error("no job sent");
  const batch = splitBatch(toSat.frames[4], toSat.frames[5], isJobEntry, (e) => e[3], BATCH_ENTRIES_MAX);
  if (typeof batch === "string") throw new Error(batch);
  const job = batch.entries[0] as JobEntry;
  const reply: JobReplyEntry = [job[0], job[1], 0, batch.payloads[0].length, null, null];
  const replyFrames = [satRoute, ...jobReplyBatchFrames([reply], [batch.payloads[0]])];
  const t2 = performance.now();
  router.step({ kind: "frontend", frames: replyFrames }, now);
  const back = router.takeEffects(true);
  const t3 = performance.now();
  if (!back.some((e) => e.kind === "send")) throw new Error("no reply");
  requestUs += t1 - t0;
  replyUs += t3 - t2;
});
console.log(
  `  of which request step ${((requestUs * 1000) / correlation).toFixed(2)} µs, reply step ${((replyUs * 1000) / correlation).toFixed(2)} µs (incl. warm-up)`,
);

// Client side per job: encode payload + entry, build batch; decode the reply batch.
const replyEntriesFrame = encode([[1, "cX-1", "ok", payload.length, null]]);
timeIt("client: encode request (payload + batch frames)", 200_000, (i) => {
  const body = encode(Buffer.alloc(64, 7));
  clientBatchFrames([["echo", i, body.length, 30_000, `cX-${i.toString(36)}`, null]], [body], session);
});
timeIt("client: decode reply batch + payload", 200_000, () => {
  const batch = splitBatch(replyEntriesFrame, payload, isReplyEntry, (e) => e[3], BATCH_ENTRIES_MAX);
  if (typeof batch === "string") throw new Error(batch);
  withinDepth(batch.payloads[0], 64);
  decode(batch.payloads[0]);
});
const jobEntriesFrame = encode([["cX-1", 1, "echo", payload.length, 1, Date.now(), null, null]]);
timeIt("satellite: decode job batch + payload, encode reply batch", 200_000, () => {
  const batch = splitBatch(jobEntriesFrame, payload, isJobEntry, (e) => e[3], BATCH_ENTRIES_MAX);
  if (typeof batch === "string") throw new Error(batch);
  withinDepth(batch.payloads[0], 64);
  const value = decode(batch.payloads[0]);
  const result = encode(value);
  jobReplyBatchFrames([["cX-1", 1, 0, result.length, null, null]], [result]);
});
timeIt("msgpack: encode 64-byte Buffer", 500_000, () => encode(Buffer.alloc(64, 7)));
timeIt("msgpack: decode 64-byte Buffer", 500_000, () => decode(payload));
timeIt("setImmediate round (one)", 20_000, () => {});
let imm = 0;
const t0 = performance.now();
await new Promise<void>((resolve) => {
  const next = () => (++imm < 20_000 ? setImmediate(next) : resolve());
  setImmediate(next);
});
console.log(
  `${"setImmediate, one after another".padEnd(60)} ${(((performance.now() - t0) * 1000) / imm).toFixed(2).padStart(7)} µs`,
);
