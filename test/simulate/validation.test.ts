// How far to trust the simulator (issue 16, "Trust"; docs/simulate.md): the scenario of
// fixtures/validation.json run twice, simulated (`simulate`, virtual clock, fixed seed) and for real
// under a pm2 daemon in a temp PM2_HOME (orchestrator and four satellites as real processes, a
// real client submitting at the same fixed rate, kill -9 of one satellite mid-run, pm2 restarting
// it). Jobs done, lost, retried and rerouted, and the latency percentiles, must agree within the
// tolerances below; the same seed twice gives the same JSON, byte for byte.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, type OrchestratorEvent } from "../../src/client/index.ts";
import { down, list, up } from "../../src/pm2/index.ts";
import {
  KeyPicker,
  loadScenario,
  type Percentiles,
  percentiles,
  Random,
  type Scenario,
  type SimulationResult,
  simulate,
} from "../../src/simulate/index.ts";
import { loadTopology } from "../../src/topology/index.ts";
import { freePorts } from "../helpers/ports.ts";

const root = resolve(import.meta.dirname, "../..");
const scenarioFile = join(import.meta.dirname, "fixtures/validation.json");
const dir = mkdtempSync(join(tmpdir(), "dsat-validation-"));
const home = join(dir, "pm2");
const topologyFile = join(dir, "topology.json");
const KILLED = "slow@h3";
const KILLED_APP = "dsat-sat-slow-h3";
/** In the order their satellites register (fixtures/validation.json's startMs). */
const HOSTS = ["h1", "h2", "h3", "h4"];

/**
 * The tolerances, decided from measured runs on the shared 2-core build machine (load average 4 to
 * 20; docs/simulate.md, "How far to trust it", has the table):
 * - done and lost: exact (every job done, none lost, in both).
 * - retried and rerouted: the killed satellite's jobs in flight at the kill instant (placement is
 *   the same in both runs, so the same jobs; the kill lands a few ms later for real, and a job
 *   whose sleep ends in those ms is done rather than retried): +-2. Jobs done per satellite: +-10
 *   (+-5 in quiet runs; measured 8 once in CI: which of two candidates takes a job whose first is
 *   the killed satellite depends on when pm2's restart registers it, a few ms apart in the two runs).
 * - latency: the real run may be slower than the simulated one by up to 15 % (p50) and 25 % (p95),
 *   faster by at most 10 % (or 5 ms and 10 ms, whichever is larger). Asymmetric on purpose: the
 *   simulator charges a job its sleep, the queueing and fixed link delays, not the CPU the real
 *   processes wait for; measured with the satellites' timers on time (overshoot p95 under 3 ms),
 *   the real run is 2 to 11 ms slower at p50 and p95. A real run much faster than the simulated
 *   one would be a modelling error (the simulator charging for something that is not there).
 * - a starved machine: when the satellites' sleeps overshoot by more than 5 ms at p95, other load
 *   held the real processes off the CPU (measured: overshoot p95 9 ms, real p95 +52 ms, about 6
 *   times the overshoot). The real run may then be slower by a further 8 times the measured
 *   overshoot (p95), said in the output; the "faster" bound (the modelling check) stays as it is.
 */
const COUNT_TOLERANCE = 2;
const PER_SATELLITE_TOLERANCE = 10;
const P50_TOLERANCE = { faster: 0.1, slower: 0.15, ms: 5 };
const P95_TOLERANCE = { faster: 0.1, slower: 0.25, ms: 10 };
const STARVED_OVERSHOOT_MS = 5;
/** On a starved machine: extra slowdown allowed per ms of measured sleep overshoot (p95). */
const STARVED_ALLOWANCE_PER_OVERSHOOT_MS = 8;

interface RealRun {
  submitted: number;
  completed: number;
  failed: string[];
  lost: number;
  retries: number;
  reroutes: number;
  timeouts: number;
  latencyMs: Percentiles;
  /** Jobs done per satellite id. */
  bySatellite: Map<string, number>;
  /** This process's event-loop delay during the run, ms: how starved of CPU the machine was. */
  loopDelayMs: { p50: number; p99: number };
  /** How much longer the satellites' sleeps took than asked, ms (timers fire late on a busy machine). */
  overshootMs: Percentiles;
  killAtMs: number;
  lostAtMs: number | null;
  registeredAgainAtMs: number | null;
}

let client: Client | undefined;
let eventsDone: Promise<void> | undefined;
const events: Array<{ at: number; event: OrchestratorEvent }> = [];
const pids = new Set<number>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

beforeAll(async () => {
  const [frontend, intake, eventsPort, control] = await freePorts(4);
  writeFileSync(
    topologyFile,
    JSON.stringify({
      orchestrator: {
        frontend: `tcp://127.0.0.1:${frontend}`,
        intake: `tcp://127.0.0.1:${intake}`,
        events: `tcp://127.0.0.1:${eventsPort}`,
        control: `tcp://127.0.0.1:${control}`,
        heartbeatMs: 250,
        tracker: { backoffBaseMs: 20, backoffMaxMs: 200 },
      },
      hierarchy: ["rack", "host"],
      hosts: { h1: { rack: "r1" }, h2: { rack: "r1" }, h3: { rack: "r2" }, h4: { rack: "r2" } },
      types: {
        slow: {
          module: join(root, "test/simulate/satellites/timed-sleep.ts"),
          concurrency: 8,
          replicas: 2,
          failureDomain: "rack",
          timeoutMs: 20_000,
        },
      },
    }),
  );
});

afterAll(async () => {
  await client?.close().catch(() => {});
  await eventsDone?.catch(() => {});
  await down(undefined, { home }).catch(() => {});
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  const daemonPid = join(home, "pm2.pid");
  if (existsSync(daemonPid)) {
    const pid = Number(readFileSync(daemonPid, "utf8"));
    if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** The arrival times the scenario's bursts give (size 1 every everyMs while inside the window). */
function arrivalTimes(scenario: Scenario): number[] {
  const load = scenario.load.slow;
  const every = load.burst?.everyMs as number;
  const times: number[] = [];
  for (let at = every; at < scenario.durationMs; at += every) times.push(at);
  return times;
}

/** The scenario played for real: the same arrivals, service times drawn from the same range. */
async function runForReal(scenario: Scenario, seed: number): Promise<RealRun> {
  const times = arrivalTimes(scenario);
  const time = scenario.service?.slow?.time as { minMs: number; maxMs: number };
  const kill = (scenario.events ?? []).find((event) => event.action === "kill") as { atMs: number };
  const random = new Random(seed);
  // The keys the simulator draws for this load (its stream "load:slow"; bursts draw nothing else
  // from it), in the same order: the same jobs land on the same satellites in both runs.
  const keyRandom = new Random(seed).fork("load:slow");
  const keys = new KeyPicker(scenario.load.slow.keys?.count as number, null);
  const bySatellite = new Map<string, number>();
  const overshoots: number[] = [];
  const latencies: number[] = [];
  const failed: string[] = [];
  let settled = 0;
  const killed = (await list({ home })).find((p) => p.name === KILLED_APP);
  if (killed === undefined || killed.pid <= 0) throw new Error(`${KILLED_APP} is not running`);
  const counted = events.length;
  const loop = monitorEventLoopDelay({ resolution: 2 });
  loop.enable();
  const start = performance.now() + 20;
  let next = 0;
  let killAtMs = -1;
  while (next < times.length) {
    const now = performance.now();
    if (killAtMs < 0 && now - start >= kill.atMs) {
      process.kill(killed.pid, "SIGKILL");
      killAtMs = performance.now() - start;
    }
    while (next < times.length && start + times[next] <= now) {
      const ms = time.minMs + Math.floor(random.next() * (time.maxMs - time.minMs + 1));
      const key = `k${keys.pick(keyRandom)}`;
      const sent = performance.now();
      next++;
      (client as Client)
        .request<{ satellite: string; sleptMs: number }>("slow", { ms }, { key, timeoutMs: 20_000 })
        .then(
          (reply) => {
            latencies.push(performance.now() - sent);
            overshoots.push(reply.sleptMs - ms);
            bySatellite.set(reply.satellite, (bySatellite.get(reply.satellite) ?? 0) + 1);
            settled++;
          },
          (error: unknown) => {
            failed.push(String(error));
            settled++;
          },
        );
    }
    await sleep(1);
  }
  const deadline = performance.now() + 25_000;
  while (settled < times.length && performance.now() < deadline) await sleep(20);
  loop.disable();
  while (settled < times.length && performance.now() < deadline) await sleep(20);
  // pm2 has the killed satellite back when it registers again (a new process boots in seconds).
  const isBack = ({ at, event }: { at: number; event: OrchestratorEvent }) =>
    event.topic === "satellite.registered" && event.satellite === KILLED && at - start > killAtMs;
  while (!events.slice(counted).some(isBack) && performance.now() < deadline + 15_000) await sleep(50);
  await sleep(300); // the last events on their way
  const seen = events.slice(counted);
  const count = (prefix: string) => seen.filter(({ event }) => event.topic.startsWith(prefix)).length;
  const back = seen.find(isBack);
  const lostEvent = seen.find(({ event }) => event.topic === "satellite.lost" && event.satellite === KILLED);
  return {
    submitted: times.length,
    completed: latencies.length,
    failed,
    lost: times.length - settled,
    retries: count("job.retry."),
    reroutes: count("job.rerouted."),
    timeouts: count("job.timeout."),
    latencyMs: percentiles(latencies),
    bySatellite,
    loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6 },
    overshootMs: percentiles(overshoots),
    killAtMs,
    lostAtMs: lostEvent === undefined ? null : lostEvent.at - start,
    registeredAgainAtMs: back === undefined ? null : back.at - start,
  };
}

function within(
  real: number,
  simulated: number,
  tolerance: { faster: number; slower: number; ms: number },
): boolean {
  const difference = real - simulated;
  return (
    difference <= Math.max(tolerance.slower * simulated, tolerance.ms) &&
    -difference <= Math.max(tolerance.faster * simulated, tolerance.ms)
  );
}

describe("the simulator against the same scenario run for real under pm2", () => {
  it("the same seed gives the same JSON, byte for byte; another seed does not", () => {
    const topology = loadTopology(topologyFile);
    const scenario = loadScenario(scenarioFile);
    const once = JSON.stringify(simulate(topology, scenario, 16));
    const twice = JSON.stringify(simulate(topology, scenario, 16));
    expect(twice).toBe(once);
    expect(JSON.stringify(simulate(topology, scenario, 17))).not.toBe(once);
  });

  /** Both runs, once the counts test has made them (the latency test reads them). */
  let compared: { sim: SimulationResult; real: RealRun } | null = null;

  it("done, lost, retried, rerouted and jobs per satellite agree", async () => {
    // One host at a time, each registered before the next starts: the order satellites register
    // in hands out the CRUSH device ids, so it must be the scenario's (its startMs overrides).
    for (const [i, host] of HOSTS.entries()) {
      const started = await up(topologyFile, {
        home,
        host,
        orchestrator: i === 0,
        timeoutMs: 30_000,
        apps: { killTimeoutMs: 2000, restartDelayMs: 100 },
      });
      for (const p of await list({ home })) if (p.pid > 0) pids.add(p.pid);
      expect(started.missing).toEqual([]);
    }
    const topology = loadTopology(topologyFile);
    const endpoints = topology.orchestrator as { frontend: string; events: string };
    client = await connect(endpoints.frontend, {
      events: endpoints.events,
      inFlightMax: 10_000,
      timeoutMs: 30_000,
    });
    eventsDone = (async () => {
      for await (const event of (client as Client).events("")) events.push({ at: performance.now(), event });
    })();
    await sleep(300); // the SUB joins
    // Warm the JIT and the connections (not counted): a fresh process runs its first jobs slowly.
    await Promise.all(Array.from({ length: 200 }, () => (client as Client).request("slow", { ms: 1 })));

    const scenario = loadScenario(scenarioFile);
    const seed = scenario.seed ?? 1;
    const real = await runForReal(scenario, seed);
    for (const p of await list({ home })) if (p.pid > 0) pids.add(p.pid);

    // The simulated run with this run's own kill instant and the time pm2 had it back.
    const timed: Scenario = {
      ...scenario,
      events: (scenario.events ?? []).map((event) =>
        event.action === "kill"
          ? { ...event, atMs: real.killAtMs }
          : event.action === "restore" && real.registeredAgainAtMs !== null
            ? { ...event, atMs: real.registeredAgainAtMs }
            : event,
      ),
    };
    const sim: SimulationResult = simulate(topology, timed, seed);
    const s = sim.types.slow;
    const rows = [
      ["submitted", s.submitted, real.submitted],
      ["done", s.completed, real.completed],
      ["failed", s.failed, real.failed.length],
      ["lost", s.lost, real.lost],
      ["retried", s.retries, real.retries],
      ["rerouted", s.reroutes, real.reroutes],
      ["ack timeouts", s.timeouts, real.timeouts],
      ["p50 ms", s.latencyMs.p50, real.latencyMs.p50],
      ["p95 ms", s.latencyMs.p95, real.latencyMs.p95],
      ["p99 ms", s.latencyMs.p99, real.latencyMs.p99],
      ["mean ms", s.latencyMs.mean, real.latencyMs.mean],
      ...sim.satellites.map((satellite) => [
        `done on ${satellite.id}`,
        satellite.jobs,
        real.bySatellite.get(satellite.id) ?? 0,
      ]),
    ];
    console.log(
      [
        `validation: kill at ${real.killAtMs.toFixed(1)} ms, lost at ${real.lostAtMs?.toFixed(0)} ms, registered again at ${real.registeredAgainAtMs?.toFixed(0)} ms; event-loop delay p50 ${real.loopDelayMs.p50.toFixed(1)} ms, p99 ${real.loopDelayMs.p99.toFixed(1)} ms; sleep overshoot p50 ${real.overshootMs.p50} ms, p95 ${real.overshootMs.p95} ms`,
        ...rows.map(
          ([name, a, b]) =>
            `${String(name).padEnd(14)} sim ${String(a).padStart(8)}  real ${Number(b).toFixed(1).padStart(8)}`,
        ),
      ].join("\n"),
    );

    expect(real.failed).toEqual([]);
    expect(s.submitted).toBe(real.submitted);
    expect(s.completed).toBe(s.submitted);
    expect(real.completed).toBe(real.submitted);
    expect([s.lost, real.lost, s.failed]).toEqual([0, 0, 0]);
    expect(real.registeredAgainAtMs).not.toBeNull();
    // The kill cost in-flight jobs in both, and about as many.
    expect(s.retries).toBeGreaterThan(0);
    expect(Math.abs(real.retries - s.retries)).toBeLessThanOrEqual(COUNT_TOLERANCE);
    expect(Math.abs(real.reroutes - s.reroutes)).toBeLessThanOrEqual(COUNT_TOLERANCE);
    // The same keys on the same CRUSH map: the same satellites did the same jobs.
    for (const satellite of sim.satellites) {
      const difference = (real.bySatellite.get(satellite.id) ?? 0) - satellite.jobs;
      expect(Math.abs(difference), satellite.id).toBeLessThanOrEqual(PER_SATELLITE_TOLERANCE);
    }
    compared = { sim, real };
  }, 90_000);

  it("latency p50 and p95 agree within the stated tolerance (wider, and said so, on a starved machine)", () => {
    if (compared === null) throw new Error("the real run did not complete");
    const { sim, real } = compared;
    // Timers firing late on the satellites mean the real processes waited for CPU: the simulator
    // does not model the host's other load, so the real run may be slower by what that costs.
    const starved = real.overshootMs.p95 > STARVED_OVERSHOOT_MS;
    const allowanceMs = starved ? STARVED_ALLOWANCE_PER_OVERSHOOT_MS * real.overshootMs.p95 : 0;
    if (starved)
      console.log(
        `validation: CPU-starved real run (sleep overshoot p95 ${real.overshootMs.p95} ms): the real run may be ${allowanceMs} ms slower`,
      );
    const widen = (tolerance: { faster: number; slower: number; ms: number }, simulated: number) => ({
      ...tolerance,
      ms: tolerance.ms,
      slower: tolerance.slower + allowanceMs / Math.max(1, simulated),
    });
    const s = sim.types.slow.latencyMs;
    expect(
      within(real.latencyMs.p50, s.p50, widen(P50_TOLERANCE, s.p50)),
      `p50 real ${real.latencyMs.p50} sim ${s.p50}`,
    ).toBe(true);
    expect(
      within(real.latencyMs.p95, s.p95, widen(P95_TOLERANCE, s.p95)),
      `p95 real ${real.latencyMs.p95} sim ${s.p95}`,
    ).toBe(true);
  });
});
