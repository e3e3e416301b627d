// Issue 12's soak, in real processes: a `dsat orchestrator`, dsat satellites of which some are
// killed (SIGKILL) and restarted at random every few seconds, plain 7/MDP workers in Python that
// join and leave, a garbage sender and a client that never reads its replies, while a good client
// streams jobs. Used by test/e2e/chaos.test.ts (a short run in `npm test`, three 60 s runs under
// SOAK=1, i.e. `npm run soak`).
//
// What a run checks: every good request is answered exactly once with its own payload (none fails,
// none times out, no duplicate reply), the orchestrator process stays up, and its RSS stays under
// the stated bound.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Dealer } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { clientBatchFrames, encode, type RequestEntry } from "../../src/protocol/index.ts";
import { frontendMessage, sample } from "../helpers/fuzz-frames.ts";
import { PythonPeers, waitForLine } from "../helpers/python.ts";
import { Cluster, root } from "./harness.ts";
import { seededRandom } from "./restart-scenario.ts";

export interface ChaosOptions {
  durationMs: number;
  /** dsat satellites, one per host; the first `killable` of them are killed and restarted. */
  satellites: number;
  killable: number;
  /** Plain Python workers that come and go. */
  plainWorkers: number;
  /** Good requests in flight at once. */
  concurrency: number;
  seed: number;
  /** The orchestrator's RSS must stay under this, MiB. */
  rssBoundMiB: number;
}

export interface ChaosRun {
  durationMs: number;
  goodSent: number;
  goodAnswered: number;
  /** Requests that failed, by error (digits as N). */
  failures: Record<string, number>;
  wrongResults: number;
  /** Duplicate replies the client received and dropped. */
  orphans: number;
  /** Requests answered other than exactly once. */
  notOnce: number;
  kills: number;
  plainJoins: number;
  plainLeaves: number;
  garbageSent: number;
  slowReaderSent: number;
  rssMaxMiB: number;
  rssBoundMiB: number;
  orchestratorAlive: boolean;
  counters: Record<string, unknown>;
  jobsPerSecond: number;
}

const WORKER_PY = join(root, "test/interop/mdp_worker.py");
const TYPE = "counted";

export async function chaosRun(options: ChaosOptions): Promise<ChaosRun> {
  const random = seededRandom(options.seed);
  const cluster = new Cluster();
  const peers = new PythonPeers();
  const timers: NodeJS.Timeout[] = [];
  const sockets: Dealer[] = [];
  let client: Client | null = null;
  try {
    const hosts: Record<string, Record<string, string>> = {};
    for (let n = 1; n <= options.satellites; n++) hosts[`h${n}`] = { rack: `r${1 + (n % 4)}` };
    await cluster.write({
      orchestrator: {
        heartbeatMs: 200,
        limits: { plainHeartbeatMs: 500 },
        tracker: {
          ackTimeoutMs: 2000,
          stallTimeoutMs: 5000,
          runTimeoutMs: 20_000,
          breakerFailuresThreshold: 50,
        },
      },
      hierarchy: ["rack", "host"],
      hosts,
      types: {
        [TYPE]: { module: join(root, "test/e2e/satellites/counted-echo.ts"), replicas: 3, timeoutMs: 60_000 },
      },
    });
    const orchestrator = cluster.start("orchestrator", ["orchestrator"]);
    await cluster.waitForOrchestrator();
    const startSatellite = (host: string) =>
      cluster.start(`${TYPE}@${host}`, ["satellite", "test/e2e/satellites/counted-echo.ts", "--host", host]);
    for (const host of Object.keys(hosts)) startSatellite(host);
    await cluster.waitForSatellites(options.satellites);
    const frontend = cluster.endpoints.frontend;

    // RSS of the orchestrator process, sampled.
    let rssMaxMiB = 0;
    const sampleRss = () => {
      try {
        const status = readFileSync(`/proc/${orchestrator.pid}/status`, "utf8");
        const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        rssMaxMiB = Math.max(rssMaxMiB, kib / 1024);
      } catch {
        // gone: reported below
      }
    };
    timers.push(setInterval(sampleRss, 250));

    // Chaos 1: kill -9 and restart the killable satellites at random.
    let kills = 0;
    const killLoop = async (stop: () => boolean) => {
      while (!stop()) {
        await sleep(1500 + random() * 2500);
        if (stop()) break;
        const host = `h${1 + Math.floor(random() * options.killable)}`;
        const name = `${TYPE}@${host}`;
        const child = cluster.processes.get(name);
        if (child?.pid !== undefined && child.exitCode === null) {
          process.kill(child.pid, "SIGKILL");
          kills++;
        }
        await sleep(300 + random() * 1200);
        startSatellite(host);
      }
    };

    // Chaos 2: plain workers join and leave (SIGTERM: it says DISCONNECT; SIGKILL: it does not).
    let plainJoins = 0;
    let plainLeaves = 0;
    const plain: Array<ChildProcess | null> = Array.from({ length: options.plainWorkers }, () => null);
    const plainLoop = async (stop: () => boolean) => {
      while (!stop()) {
        await sleep(700 + random() * 1500);
        if (stop()) break;
        const slot = Math.floor(random() * plain.length);
        const worker = plain[slot];
        if (worker === null) {
          const child = peers.spawn(WORKER_PY, ["--heartbeat-ms", "500", frontend, TYPE]);
          plain[slot] = child;
          plainJoins++;
          await waitForLine(child, /^ready$/, 10_000).catch(() => {});
        } else {
          if (worker.pid !== undefined) process.kill(worker.pid, random() < 0.5 ? "SIGTERM" : "SIGKILL");
          plain[slot] = null;
          plainLeaves++;
        }
      }
    };

    // Chaos 3: garbage on the frontend, from one peer.
    let garbageSent = 0;
    const garbage = new Dealer({ linger: 0, sendTimeout: 0 });
    garbage.connect(frontend);
    sockets.push(garbage);
    void (async () => {
      for await (const _ of garbage) {
        // read and drop what comes back
      }
    })().catch(() => {});
    const garbageMessages = sample(frontendMessage, options.seed, 2000);
    timers.push(
      setInterval(() => {
        for (let n = 0; n < 20; n++) {
          garbage.send(garbageMessages[garbageSent % garbageMessages.length]).catch(() => {});
          garbageSent++;
        }
      }, 50),
    );

    // Chaos 4: a client that sends jobs with 10 KB payloads and never reads its replies.
    let slowReaderSent = 0;
    const slow = new Dealer({ linger: 0, sendTimeout: 0, receiveHighWaterMark: 1 });
    slow.connect(frontend);
    sockets.push(slow);
    const slowSession = Buffer.from("chaos-slow-reader-session");
    const big = encode("s".repeat(10_000));
    timers.push(
      setInterval(() => {
        const entries: RequestEntry[] = [];
        const payloads: Buffer[] = [];
        for (let n = 0; n < 20; n++) {
          entries.push([TYPE, slowReaderSent++, big.length, 30_000, null, null]);
          payloads.push(big);
        }
        slow.send(clientBatchFrames(entries, payloads, slowSession)).catch(() => {});
      }, 100),
    );

    // The good client: a stream of jobs, each with its own payload, `concurrency` at a time.
    client = await connect(frontend, { timeoutMs: 60_000 });
    let orphans = 0;
    client.on("reply:orphan", () => orphans++);
    const answers = new Map<number, number>();
    const failed = new Set<number>();
    const failures: Record<string, number> = {};
    let wrongResults = 0;
    let goodSent = 0;
    let stopping = false;
    const started = Date.now();
    const stop = () => stopping;
    const chaos = [killLoop(stop), plainLoop(stop)];
    const stream = async () => {
      while (!stopping) {
        const n = goodSent++;
        const payload = { n, pad: "p".repeat(n % 200) };
        try {
          const result = await (client as Client).request(TYPE, payload, { id: `good-${n}` });
          answers.set(n, (answers.get(n) ?? 0) + 1);
          if ((result as { n?: number }).n !== n) wrongResults++;
        } catch (error) {
          const key = String(error).replace(/\d+/g, "N");
          failures[key] = (failures[key] ?? 0) + 1;
          failed.add(n);
        }
      }
    };
    const streams = Array.from({ length: options.concurrency }, stream);
    await sleep(options.durationMs);
    stopping = true;
    await Promise.all(chaos);
    await Promise.all(streams);
    const elapsedMs = Date.now() - started;
    for (const timer of timers.splice(0)) clearInterval(timer);
    sampleRss();
    let notOnce = 0;
    for (let n = 0; n < goodSent; n++) if (!failed.has(n) && answers.get(n) !== 1) notOnce++;
    const orchestratorAlive = orchestrator.exitCode === null && orchestrator.signalCode === null;
    let counters: Record<string, unknown> = {};
    if (orchestratorAlive) {
      const status = (await cluster.status()) as unknown as { counters: Record<string, unknown> };
      counters = status.counters;
    }
    return {
      durationMs: elapsedMs,
      goodSent,
      goodAnswered: goodSent - failed.size,
      failures,
      wrongResults,
      orphans,
      notOnce,
      kills,
      plainJoins,
      plainLeaves,
      garbageSent,
      slowReaderSent,
      rssMaxMiB: Math.round(rssMaxMiB),
      rssBoundMiB: options.rssBoundMiB,
      orchestratorAlive,
      counters,
      jobsPerSecond: Math.round((goodSent / elapsedMs) * 1000),
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.close();
    await client?.close();
    peers.killAll();
    cluster.stop();
  }
}

/** One line of figures for a run. */
export function describeChaosRun(run: ChaosRun): string {
  const security = (run.counters.security ?? {}) as Record<string, number>;
  return [
    `chaos: ${run.goodAnswered}/${run.goodSent} good jobs answered once in ${(run.durationMs / 1000).toFixed(1)} s (${run.jobsPerSecond} jobs/s)`,
    `${run.kills} satellite kills, plain workers +${run.plainJoins}/-${run.plainLeaves}`,
    `${run.garbageSent} garbage messages, ${run.slowReaderSent} jobs from a client that never reads (${security.slowReaderRefused ?? 0} refused)`,
    `orchestrator RSS max ${run.rssMaxMiB} MiB (bound ${run.rssBoundMiB})`,
    `satellites lost ${String(run.counters.satellitesLost ?? "?")}, resumed ${String(run.counters.satellitesResumed ?? "?")}, orphan replies ${run.orphans}`,
  ].join("; ");
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
