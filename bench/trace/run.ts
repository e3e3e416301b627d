// Latency trace at 1 in flight: every process records its sends and receives (hook.ts); prints
// where each job's time goes, stage by stage (µs). `raw` traces the raw DEALER/ROUTER echo.
//   node --import tsx bench/trace/run.ts dsat|raw SECONDS [--cpu-prof]
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../../test/helpers/ports.ts";

const mode = process.argv[2] ?? "dsat";
const seconds = Number(process.argv[3] ?? 3);
const extra = process.argv.slice(4); // e.g. --cpu-prof
const dir = mkdtempSync(join(tmpdir(), "dsat-trace-"));
const hook = fileURLToPath(new URL("./hook.ts", import.meta.url));
// "relay…" and "relay:…" name files of this directory, others the benchmark's processes.
const proc = (name: string) =>
  fileURLToPath(
    new URL(
      name.startsWith("relay:")
        ? `./${name.slice(6)}`
        : name.startsWith("relay")
          ? `./${name}`
          : `../processes/${name}`,
      import.meta.url,
    ),
  );
const spawn = (name: string, role: string, args: string[]) =>
  fork(proc(name), args, {
    execArgv: [
      "--import",
      "tsx",
      "--import",
      hook,
      ...extra,
      ...(extra.includes("--cpu-prof")
        ? [`--cpu-prof-dir=${dir}`, `--cpu-prof-name=${role}.cpuprofile`]
        : []),
    ],
    env: { ...process.env, TRACE_ROLE: role, TRACE_DIR: dir },
    stdio: ["ignore", role === "client" ? "pipe" : "inherit", "inherit", "ipc"],
  });
const waitFor = (child: ChildProcess, message: string) =>
  new Promise<void>((resolve) => child.on("message", (m) => m === message && resolve()));
const exited = (child: ChildProcess) => new Promise((resolve) => child.on("exit", resolve));

const [fp, cp] = await freePorts(2);
const frontend = `tcp://127.0.0.1:${fp}`;
let stages: Array<readonly [string, string]>;
let out = "";
if (mode === "raw") {
  const server = spawn("raw-echo-server.ts", "server", [frontend]);
  await waitFor(server, "ready");
  const client = spawn("raw-echo-client.ts", "client", [frontend, "1", String(seconds)]);
  client.stdout?.on("data", (c) => (out += c));
  await exited(client);
  server.kill("SIGTERM");
  await exited(server);
  stages = [
    ["client", "send Dealer"],
    ["server", "recv Router"],
    ["server", "send Router"],
    ["client", "recv Dealer"],
    ["client", "send Dealer"],
  ];
} else if (mode === "relay") {
  const server = spawn("relay-broker.ts", "server", [frontend]);
  await waitFor(server, "ready");
  const worker = spawn("relay-worker.ts", "worker", [frontend]);
  await waitFor(worker, "ready");
  await new Promise((r) => setTimeout(r, 300));
  const client = spawn("raw-echo-client.ts", "client", [frontend, "1", String(seconds)]);
  client.stdout?.on("data", (c) => (out += c));
  await exited(client);
  server.kill("SIGTERM");
  worker.kill("SIGTERM");
  await Promise.all([exited(server), exited(worker)]);
  stages = [
    ["client", "send Dealer"],
    ["server", "recv Router"],
    ["server", "send Router"],
    ["worker", "recv Dealer"],
    ["worker", "send Dealer"],
    ["server", "recv Router"],
    ["server", "send Router"],
    ["client", "recv Dealer"],
    ["client", "send Dealer"],
  ];
} else {
  // TRACE_TREE=/path/to/a/checkout traces that source tree (tree-*.ts) instead of this one.
  const tree = process.env.TRACE_TREE;
  const orchestrator =
    tree === undefined
      ? spawn("orchestrator.ts", "orch", [frontend, `tcp://127.0.0.1:${cp}`])
      : spawn("relay:tree-orchestrator.ts", "orch", [tree, frontend, `tcp://127.0.0.1:${cp}`]);
  await waitFor(orchestrator, "ready");
  const satellite =
    tree === undefined
      ? spawn("satellite.ts", "sat", [frontend, "s1", "r1", "64"])
      : spawn("relay:tree-satellite.ts", "sat", [tree, frontend, "s1", "r1", "64"]);
  await waitFor(satellite, "ready");
  await new Promise((r) => setTimeout(r, 300));
  const client =
    tree === undefined
      ? spawn("client.ts", "client", [frontend, "echo", "1", String(seconds)])
      : spawn("relay:tree-client.ts", "client", [tree, frontend, "1", String(seconds), "0"]);
  client.stdout?.on("data", (c) => (out += c));
  await exited(client);
  satellite.kill("SIGINT");
  orchestrator.kill("SIGTERM");
  await Promise.all([exited(satellite), exited(orchestrator)]);
  stages = [
    ["client", "send Dealer C"],
    ["orch", "recv Router C"],
    ["orch", "send Router W20"],
    ["sat", "recv Dealer W20"],
    ["sat", "send Dealer W21"],
    ["orch", "recv Router W21"],
    ["orch", "send Router C"],
    ["client", "recv Dealer C"],
    ["client", "send Dealer C"],
  ];
}
console.log(out.trim());
console.log(`trace dir ${dir}`);

type Ev = { t: number; role: string; label: string };
const events: Ev[] = [];
const cpu: string[] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".tsv")))
  for (const line of readFileSync(join(dir, file), "utf8").trim().split("\n")) {
    const [t, role, label] = line.split("\t");
    if (label.startsWith("cpu/event")) cpu.push(`${role} ${label}`);
    else events.push({ t: Number(t), role, label });
  }
events.sort((a, b) => a.t - b.t);
// Leave the first SKIP_MS of traffic out (JIT warm-up): TRACE_SKIP_MS, default 2000.
{
  const skipMs = Number(process.env.TRACE_SKIP_MS ?? 2000);
  const first = events.find((e) => e.role === "client" && e.label.startsWith("send"));
  if (first !== undefined) {
    const from = first.t + skipMs * 1000;
    const kept = events.filter((e) => e.t >= from);
    events.length = 0;
    for (const e of kept) events.push(e);
  }
}
const gaps: number[][] = stages.map(() => []);
const matches = (e: Ev, s: readonly [string, string]) => e.role === s[0] && e.label.startsWith(s[1]);
// Walk the merged timeline: each job is the stages in order; anything else between is skipped.
let jobs = 0;
let i = 0;
while (i < events.length) {
  while (i < events.length && !matches(events[i], stages[0])) i++;
  const ts = [events[i]?.t];
  let j = i + 1;
  let s = 1;
  for (; s < stages.length && j < events.length; j++) {
    if (matches(events[j], stages[s])) {
      ts.push(events[j].t);
      s++;
      if (s === stages.length) break;
    } else if (matches(events[j], stages[0]) && s < stages.length - 1) break; // out of step
  }
  if (s === stages.length) {
    for (let k = 1; k < stages.length; k++) gaps[k].push(ts[k] - ts[k - 1]);
    gaps[0].push(ts[stages.length - 1] - ts[0]);
    jobs++;
  }
  i = s === stages.length ? j : j;
  if (j >= events.length) break;
}
const q = (xs: number[], f: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(f * s.length))] ?? 0;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const row = (name: string, xs: number[]) =>
  console.log(
    name.padEnd(48),
    q(xs, 0.5).toFixed(0).padStart(7),
    mean(xs).toFixed(0).padStart(7),
    q(xs, 0.9).toFixed(0).padStart(7),
    q(xs, 0.99).toFixed(0).padStart(7),
  );
console.log(`jobs traced: ${jobs}; cpu (user, system µs): ${cpu.join("; ")}`);
console.log(
  "stage (µs)".padEnd(48),
  "p50".padStart(7),
  "mean".padStart(7),
  "p90".padStart(7),
  "p99".padStart(7),
);
for (let s = 1; s < stages.length; s++) row(`${stages[s - 1].join(":")} -> ${stages[s].join(":")}`, gaps[s]);
row("cycle", gaps[0]);

// Inside each process: from a receive to the next send, how much is waiting for setImmediate.
for (const role of new Set(events.map((e) => e.role))) {
  const mine = events.filter((e) => e.role === role);
  const toAsk: number[] = [];
  const askToRun: number[] = [];
  const runToSend: number[] = [];
  let recvAt = -1;
  let askAt = -1;
  let runAt = -1;
  for (const e of mine) {
    if (e.label.startsWith("recv")) {
      recvAt = e.t;
      askAt = -1;
      runAt = -1;
    } else if (e.label === "imm-ask" && recvAt >= 0 && askAt < 0) askAt = e.t;
    else if (e.label === "imm-run" && askAt >= 0 && runAt < 0) runAt = e.t;
    else if (e.label.startsWith("send") && recvAt >= 0 && askAt >= 0 && runAt >= 0) {
      toAsk.push(askAt - recvAt);
      askToRun.push(runAt - askAt);
      runToSend.push(e.t - runAt);
      recvAt = -1;
    }
  }
  if (toAsk.length === 0) continue;
  row(`${role}: recv -> setImmediate asked`, toAsk);
  row(`${role}: setImmediate asked -> ran`, askToRun);
  row(`${role}: setImmediate ran -> send`, runToSend);
}

// With TRACE_METHODS=1: the median time from each process's receive to each later mark, until its send.
if (process.env.TRACE_METHODS === "1") {
  for (const role of new Set(events.map((e) => e.role))) {
    const mine = events.filter((e) => e.role === role);
    const offsets = new Map<string, number[]>();
    let recvAt = -1;
    let seq: string[] = [];
    for (const e of mine) {
      if (e.label.startsWith("recv")) {
        recvAt = e.t;
        seq = [e.label.split(" ").slice(0, 3).join(" ")];
        continue;
      }
      if (recvAt < 0) continue;
      const key = `${seq[0]} … ${e.label}#${seq.filter((l) => l === e.label).length}`;
      seq.push(e.label);
      let list = offsets.get(key);
      if (list === undefined) offsets.set(key, (list = []));
      list.push(e.t - recvAt);
      if (e.label.startsWith("send")) recvAt = -1;
    }
    console.log(`-- ${role}: µs after the receive (p50, count)`);
    const rows = [...offsets].filter(([, xs]) => xs.length > 100).sort((a, b) => q(a[1], 0.5) - q(b[1], 0.5));
    for (const [key, xs] of rows)
      console.log(`   ${q(xs, 0.5).toFixed(1).padStart(7)} ${String(xs.length).padStart(7)}  ${key}`);
  }
}
