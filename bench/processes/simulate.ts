// One run of scenarios/scale-1m.json on topologies/scale-1000.json, in its own process so the
// bench's heap and JIT state do not count. Argument: the job count wanted (1,000,000 is the
// scenario as written; fewer shortens the arrival window and moves the rack loss to its middle).
// Prints JSON: jobs submitted and lost, wall ms and CPU ms (user + system) of the run alone.
import { resolve } from "node:path";
import { loadScenario, simulate } from "../../src/simulate/index.ts";
import { loadTopology } from "../../src/topology/index.ts";

const root = resolve(import.meta.dirname, "../..");
const jobs = Number(process.argv[2] ?? 1_000_000);
const topology = loadTopology(resolve(root, "topologies/scale-1000.json"));
const written = loadScenario(resolve(root, "scenarios/scale-1m.json"));
const factor = jobs / 1_000_000;
const scenario = {
  ...written,
  durationMs: written.durationMs * factor,
  intervalMs: (written.intervalMs ?? 5000) * factor,
  events: (written.events ?? []).map((event) => ({ ...event, atMs: event.atMs * factor })),
};
const cpu = process.cpuUsage();
const started = performance.now();
const result = simulate(topology, scenario, written.seed ?? 1);
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
const types = Object.values(result.types);
console.log(
  JSON.stringify({
    jobs: types.reduce((sum, type) => sum + type.submitted, 0),
    lost: types.reduce((sum, type) => sum + type.lost, 0),
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    peakRssMb: process.memoryUsage().rss / 2 ** 20,
  }),
);
