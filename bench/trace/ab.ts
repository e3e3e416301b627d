// A/B with warm, long-lived processes: the raw echo, tree A and tree B each keep their processes;
// measurement slices alternate between them (rotating order), so the machine's noise falls on all
// three alike. Prints medians of per-slice figures and of per-slice ratios. A tree may be "relay":
// a broker and a worker that only forward (relay-broker.ts), the ceiling for two hops each way.
//   node --import tsx bench/trace/ab.ts TREE_A TREE_B [window=1] [slices=30] [sliceMs=500] [warmMs=3000]
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePorts } from "../../test/helpers/ports.ts";

const [treeA, treeB, windowText = "1", slicesText = "30", sliceText = "500", warmText = "3000"] =
  process.argv.slice(2);
const window = Number(windowText);
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const children: ChildProcess[] = [];
const spawn = (file: string, args: string[]) => {
  const child = fork(file, args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  return child;
};
const waitFor = (child: ChildProcess, message: string) =>
  new Promise<void>((resolve) => child.on("message", (m) => m === message && resolve()));
type Result = { perSecond: number; p50: number; p90: number };
const measure = (client: ChildProcess, w: number, ms: number) =>
  new Promise<Result>((resolve) => {
    const listener = (m: unknown) => {
      if (typeof m === "object" && m !== null && "perSecond" in m) {
        client.off("message", listener);
        resolve(m as Result);
      }
    };
    client.on("message", listener);
    client.send({ window: w, ms });
  });

async function start(tree: string): Promise<ChildProcess> {
  const [fp, cp] = await freePorts(2);
  const frontend = `tcp://127.0.0.1:${fp}`;
  if (tree === "raw") {
    const server = spawn(here("../processes/raw-echo-server.ts"), [frontend]);
    await waitFor(server, "ready");
  } else if (tree === "relay") {
    // Two hops each way with no work: the ceiling of any broker (relay-broker.ts).
    const broker = spawn(here("./relay-broker.ts"), [frontend]);
    await waitFor(broker, "ready");
    const worker = spawn(here("./relay-worker.ts"), [frontend]);
    await waitFor(worker, "ready");
    await new Promise((r) => setTimeout(r, 300));
  } else {
    const orchestrator = spawn(here("./tree-orchestrator.ts"), [tree, frontend, `tcp://127.0.0.1:${cp}`]);
    await waitFor(orchestrator, "ready");
    const satellite = spawn(here("./tree-satellite.ts"), [tree, frontend, "s1", "r1", "1100"]);
    await waitFor(satellite, "ready");
    await new Promise((r) => setTimeout(r, 500));
  }
  const client = spawn(here("./slice-client.ts"), [tree === "relay" ? "raw" : tree, frontend]);
  await waitFor(client, "ready");
  return client;
}

const systems = { raw: await start("raw"), A: await start(treeA), B: await start(treeB) };
const names = ["raw", "A", "B"] as const;
// Warm-up: every system at 64 in flight, then at the measured window.
for (const name of names) await measure(systems[name], 64, Number(warmText));
for (const name of names) await measure(systems[name], window, 500);
const results: Record<string, Result[]> = { raw: [], A: [], B: [] };
const slices = Number(slicesText);
for (let i = 0; i < slices; i++) {
  const order = [...names.slice(i % 3), ...names.slice(0, i % 3)];
  for (const name of order) results[name].push(await measure(systems[name], window, Number(sliceText)));
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
console.log(`window ${window}, ${slices} slices of ${sliceText} ms each (A = ${treeA}, B = ${treeB})`);
for (const name of names) {
  const xs = results[name];
  console.log(
    `${name.padEnd(4)} jobs/s ${median(xs.map((x) => x.perSecond))
      .toFixed(0)
      .padStart(7)}  p50 ${median(xs.map((x) => x.p50))
      .toFixed(0)
      .padStart(6)} µs  p90 ${median(xs.map((x) => x.p90))
      .toFixed(0)
      .padStart(6)} µs`,
  );
}
const ratio = (a: Result[], b: Result[]) => median(a.map((x, i) => x.perSecond / b[i].perSecond));
console.log(
  `A/raw ${ratio(results.A, results.raw).toFixed(3)}  B/raw ${ratio(results.B, results.raw).toFixed(3)}  B/A ${ratio(results.B, results.A).toFixed(3)} (medians of per-slice ratios)`,
);
for (const child of children) child.kill("SIGKILL");
process.exit(0);
