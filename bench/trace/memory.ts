// Orchestrator memory per job held (bench/core.ts's figure) for the source tree given, N jobs.
//   node --import tsx bench/trace/memory.ts TREE [jobs=100000]
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { controlRequest } from "../../src/client/index.ts";
import { freePorts } from "../../test/helpers/ports.ts";

const [tree, jobsText = "100000"] = process.argv.slice(2);
const jobs = Number(jobsText);
const children: ChildProcess[] = [];
const spawn = (file: string, args: string[], gc = false) => {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), args, {
    execArgv: ["--import", "tsx", ...(gc ? ["--expose-gc"] : [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  return child;
};
const waitFor = (child: ChildProcess, message: string) =>
  new Promise<void>((resolve) => child.on("message", (m) => m === message && resolve()));
const [fp, cp] = await freePorts(2);
const frontend = `tcp://127.0.0.1:${fp}`;
const control = `tcp://127.0.0.1:${cp}`;
await waitFor(spawn("./tree-orchestrator.ts", [tree, frontend, control], true), "ready");
await waitFor(
  spawn(`${tree}/bench/processes/satellite.ts`, [frontend, "s1", "r1", String(Math.min(jobs + 10, 100_000))]),
  "ready",
);
for (;;) {
  const status = (await controlRequest(control, "satellites").catch(() => ({}))) as {
    satellites?: unknown[];
  };
  if ((status.satellites?.length ?? 0) > 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
type Memory = { heapUsed: number; arrayBuffers: number; jobs: number };
const before = (await controlRequest(control, "memory")) as Memory;
const client = spawn(`${tree}/bench/processes/client.ts`, [frontend, "hold", String(jobs), "0"]);
await waitFor(client, "sent");
let during: Memory = { heapUsed: 0, arrayBuffers: 0, jobs: 0 };
for (let i = 0; i < 300 && during.jobs < jobs; i++) {
  during = (await controlRequest(control, "memory", 10_000)) as Memory;
  if (during.jobs < jobs) await new Promise((r) => setTimeout(r, 200));
}
const heap = (during.heapUsed - before.heapUsed) / jobs;
const buffers = (during.arrayBuffers - before.arrayBuffers) / jobs;
console.log(
  `${tree}: ${during.jobs} held: heap ${heap.toFixed(0)} + buffers ${buffers.toFixed(0)} = ${(heap + buffers).toFixed(0)} bytes per job`,
);
for (const child of children) child.kill("SIGKILL");
process.exit(0);
