// Heap per held job in the router alone (in process), by kind of object: heap snapshots before and
// after 20,000 hold jobs. node --expose-gc --import tsx bench/trace/heap-jobs.ts
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { writeHeapSnapshot } from "node:v8";
import { clientBatchFrames, encode, type RequestEntry, workerReadyFrames } from "../../src/protocol/index.ts";
import { inProcessRouter } from "./in-process-router.ts";

const N = 20_000;
const router = inProcessRouter({
  echo: { replicas: 3, failureDomain: "host" },
  hold: { replicas: 1, timeoutMs: 600_000 },
});
const now = Date.now();
router.step({ kind: "bound" }, now);
router.step(
  {
    kind: "frontend",
    frames: [
      Buffer.from("sat-1"),
      ...workerReadyFrames("hold", {
        id: "s1",
        types: ["echo", "hold"],
        location: [
          ["rack", "r1"],
          ["host", "s1"],
        ],
        capacity: 100_000,
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
const clientRoute = Buffer.from("client-routing-id-16");
function summary(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = f.length;
  const iType = f.indexOf("type"),
    iName = f.indexOf("name"),
    iSize = f.indexOf("self_size");
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const name = type === "object" || type === "closure" ? snap.strings[snap.nodes[i + iName]] : `(${type})`;
    const e = out.get(name) ?? { count: 0, size: 0 };
    e.count++;
    e.size += snap.nodes[i + iSize];
    out.set(name, e);
  }
  return out;
}
(globalThis as { gc?: () => void }).gc?.();
const a = summary(writeHeapSnapshot(`${tmpdir()}/dsat-heap-a.heapsnapshot`));
let c = 0;
const payload = encode(7);
for (let b = 0; b < N / 64; b++) {
  const entries: RequestEntry[] = [];
  const payloads: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    c++;
    entries.push(["hold", c, payload.length, 600_000, `cXXXXXXXXXXXX-${c.toString(36)}`, null]);
    payloads.push(payload);
  }
  router.step(
    { kind: "frontend", frames: [clientRoute, ...clientBatchFrames(entries, payloads, session)] },
    now,
  );
  router.takeEffects(true);
}
(globalThis as { gc?: () => void }).gc?.();
const bItems = summary(writeHeapSnapshot(`${tmpdir()}/dsat-heap-b.heapsnapshot`));
console.log(`jobs in router: ${router.status().jobs.inFlight}`);
const rows = [...bItems]
  .map(([k, v]) => [k, v.count - (a.get(k)?.count ?? 0), v.size - (a.get(k)?.size ?? 0)] as const)
  .filter(([, , s]) => s > N * 2)
  .sort((x, y) => y[2] - x[2]);
let total = 0;
for (const [, , s] of rows) total += s;
for (const [k, cnt, s] of rows.slice(0, 25))
  console.log(`${(s / N).toFixed(1).padStart(7)} B/job  ${(cnt / N).toFixed(2).padStart(6)} per job  ${k}`);
console.log(`total of these ${(total / N).toFixed(0)} B/job`);
rmSync(`${tmpdir()}/dsat-heap-a.heapsnapshot`, { force: true });
rmSync(`${tmpdir()}/dsat-heap-b.heapsnapshot`, { force: true });
