// Issue 20's scenario in real processes, one run at a time: a durable `dsat orchestrator` (default
// journal settings), two `counted` satellites (test/e2e/satellites/counted-echo.ts, which write down
// every execution), and a client in this process streaming jobs 256 at a time. Each run kills the
// orchestrator with SIGKILL at a random point of the stream, starts it again after a random pause,
// and sometimes kills it once more during recovery (while it replays the journal, or just after it
// binds while replayed jobs are being placed). Used by test/e2e/restart.test.ts and `npm run bench`.
//
// What a run checks (docs/journal.md, "What a client sees during a restart"):
// - answered: every request resolves, once (a promise settles once; duplicate replies are dropped
//   by the client and counted as orphans), with its own payload; no request fails or times out;
// - executions (from the satellites' logs): every job ran at least once, no execution of a job
//   started after its answer reached the client, and a job ran more than once only if it was
//   unfinished at a kill (its first execution started before a kill that came before its answer);
// - restart-to-first-answer: from the restarted orchestrator's first moment on the wire (the first
//   of: its "frontend" log line, read here, and this client's reconnection) to the first answer
//   of a job that ran after that moment.

import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Client, connect } from "../../src/client/index.ts";
import { seededRandom } from "../../src/util/index.ts";
import { Cluster, exited, waitUntil } from "./harness.ts";

export interface RestartRunOptions {
  /** Jobs streamed in this run. */
  jobs: number;
  /** Requests in flight at once (the issue's `-c 256`). */
  concurrency?: number;
  /** Also kill the restarted orchestrator during its recovery. */
  killDuringRecovery?: boolean;
}

export interface RestartRun {
  run: number;
  jobs: number;
  /** When the kills landed, ms after the stream started; the last restart is the one measured. */
  killsAtMs: number[];
  answered: number;
  /** Requests that failed, by error (code: message, digits as N). */
  failures: Record<string, number>;
  /** Requests answered with another job's payload. */
  wrongResults: number;
  /** Duplicate replies the client received and dropped (allowed: a resend crossing a reply). */
  orphans: number;
  resent: number;
  /** The client socket's connections (libzmq monitor) before the first kill and after it. */
  connects: { beforeKill: number; afterKill: number };
  /** Jobs the restarted orchestrators found unfinished in the journal. */
  replayed: number;
  executions: number;
  /** Jobs that ran more than once, each explained by a kill while it was unfinished. */
  reExecuted: number;
  /** Violations, by job id: never ran, ran after its answer, ran twice without a kill to explain it. */
  neverExecuted: string[];
  executedAfterAnswer: string[];
  unexplainedReExecutions: string[];
  /** NaN when nothing ran after the restart (the run's stream had ended). */
  restartToFirstAnswerMs: number;
}

/** No answer for this long ends a run: what still waits is lost (restarts take about a second). */
const STALL_MS = 15_000;

const wallClockMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export class RestartScenario {
  readonly cluster = new Cluster();
  private orchestrators = 0;
  private orchestrator: ChildProcess | null = null;
  /** When the current orchestrator's "frontend" line (it has bound) was read; NaN before. */
  private boundAt = Number.NaN;

  constructor(readonly random: () => number) {}

  async start(): Promise<void> {
    await this.cluster.write({
      // Journal and liveness settings are the defaults: the restart must be quick without tuning.
      orchestrator: { journal: { dir: join(this.cluster.dir, "journal") } },
      hierarchy: ["rack", "host"],
      hosts: { h1: { rack: "r1" }, h2: { rack: "r2" } },
      types: { counted: { replicas: 2, failureDomain: "rack", timeoutMs: 120_000 } },
    });
    this.startOrchestrator();
    await this.cluster.waitForOrchestrator();
    for (const host of ["h1", "h2"])
      this.cluster.start(`counted@${host}`, [
        "satellite",
        "test/e2e/satellites/counted-echo.ts",
        "--host",
        host,
      ]);
    await this.cluster.waitForSatellites(2);
  }

  private startOrchestrator(): ChildProcess {
    const name = `orchestrator-${this.orchestrators++}`;
    const child = this.cluster.start(name, ["orchestrator"], {}, true);
    this.orchestrator = child;
    this.boundAt = Number.NaN;
    child.stdout?.on("data", (chunk: Buffer) => {
      if (Number.isNaN(this.boundAt) && chunk.includes("orchestrator: frontend "))
        this.boundAt = wallClockMs();
    });
    return child;
  }

  private async killOrchestrator(): Promise<void> {
    const child = this.orchestrator;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await exited(child);
  }

  /** The restarted orchestrators' "N unfinished jobs to run again" since orchestrator `from`. */
  private replayedSince(from: number): number {
    let replayed = 0;
    for (let index = from; index < this.orchestrators; index++)
      for (const line of this.cluster.output.get(`orchestrator-${index}`) ?? []) {
        const match = / (\d+) unfinished jobs to run again/.exec(line);
        if (match !== null) replayed += Number(match[1]);
      }
    return replayed;
  }

  /** Every execution the satellites wrote down: job id -> start times (wall clock, ms). */
  private executions(): Map<string, number[]> {
    const starts = new Map<string, number[]>();
    for (const name of readdirSync(this.cluster.dir)) {
      if (!name.startsWith("executions-")) continue;
      for (const line of readFileSync(join(this.cluster.dir, name), "utf8").split("\n")) {
        const [id, , at] = line.split(" ");
        if (at === undefined) continue;
        const list = starts.get(id);
        if (list === undefined) starts.set(id, [Number(at)]);
        else list.push(Number(at));
      }
    }
    return starts;
  }

  async run(run: number, options: RestartRunOptions): Promise<RestartRun> {
    const { jobs } = options;
    const concurrency = options.concurrency ?? 256;
    const firstOrchestrator = this.orchestrators;
    // A fresh client per run, as a user starting `dsat publish` would: its first connection too.
    const client = await connect(this.cluster.endpoints.frontend, { inFlightMax: concurrency });
    const reconnects: number[] = [];
    observeConnects(client, reconnects);
    let orphans = 0;
    let resent = 0;
    client.on("reply:orphan", () => orphans++);
    client.on("resent", (count) => {
      resent += count;
    });
    const answeredAt = new Map<string, number>();
    const failures: Record<string, number> = {};
    let wrongResults = 0;
    // Every other run's jobs take 3 ms, so more of them are running on a satellite at the kill.
    const ms = run % 2 === 0 ? 0 : 3;
    let issued = 0;
    const started = wallClockMs();
    const worker = async () => {
      while (issued < jobs) {
        const n = issued++;
        const id = `run${run}-${n}`;
        try {
          const result = await client.request<{ n: number }>(
            "counted",
            { n, ms },
            { id, timeoutMs: 120_000 },
          );
          answeredAt.set(id, wallClockMs());
          if (result?.n !== n) wrongResults++;
        } catch (error) {
          const kind = `${(error as { code?: string }).code}: ${(error as Error).message}`.replace(
            /\d+/g,
            "N",
          );
          failures[kind] = (failures[kind] ?? 0) + 1;
        }
      }
    };
    const stream = Promise.all(Array.from({ length: Math.min(concurrency, jobs) }, worker));
    const kills: number[] = [];
    // The kill: after 10-60% of the jobs are answered.
    const killAfter = Math.floor(jobs * (0.1 + 0.5 * this.random()));
    await waitUntil(`${killAfter} answers`, () => answeredAt.size >= killAfter, 60_000);
    await this.killOrchestrator();
    kills.push(wallClockMs());
    await sleep(100 + 900 * this.random());
    this.startOrchestrator();
    if (options.killDuringRecovery === true) {
      if (this.random() < 0.5) {
        // While it starts and replays the journal (before it binds).
        await sleep(200 + 800 * this.random());
      } else {
        // Just after it binds: replayed and resent jobs are being placed.
        await waitUntil("the restarted orchestrator to bind", () => !Number.isNaN(this.boundAt), 60_000);
        await sleep(250 * this.random());
      }
      await this.killOrchestrator();
      kills.push(wallClockMs());
      await sleep(100 + 400 * this.random());
      this.startOrchestrator();
    }
    const lastKill = kills[kills.length - 1];
    // A lost job would hang its request until its deadline: after STALL_MS without an answer the
    // run ends, and closing the client fails what is still waiting (counted as failures).
    let progress = -1;
    let progressAt = wallClockMs();
    let ended = false;
    void stream.then(() => {
      ended = true;
    });
    while (!ended) {
      const settled = answeredAt.size + Object.values(failures).reduce((sum, count) => sum + count, 0);
      if (settled !== progress) {
        progress = settled;
        progressAt = wallClockMs();
      } else if (wallClockMs() - progressAt > STALL_MS) break;
      await sleep(100);
    }
    await client.close();
    await stream;
    // The restarted orchestrator's first moment on the wire.
    const reconnected = reconnects.find((at) => at > lastKill) ?? Number.POSITIVE_INFINITY;
    const back = Math.min(this.boundAt, reconnected);

    // Executions against answers. Lines are written before their jobs can answer, so every
    // answered job's executions are on disk by now.
    const starts = this.executions();
    const neverExecuted: string[] = [];
    const executedAfterAnswer: string[] = [];
    const unexplainedReExecutions: string[] = [];
    let executions = 0;
    let reExecuted = 0;
    let firstAnswerAfterRestart = Number.POSITIVE_INFINITY;
    for (const [id, answered] of answeredAt) {
      const ran = starts.get(id) ?? [];
      executions += ran.length;
      if (ran.length === 0) neverExecuted.push(id);
      if (ran.some((at) => at > answered)) executedAfterAnswer.push(id);
      if (ran.length > 1) {
        const first = Math.min(...ran);
        // Allowed only when a kill found it unfinished: first run before the kill, answer after it.
        if (kills.some((kill) => first < kill && answered > kill)) reExecuted++;
        else unexplainedReExecutions.push(id);
      }
      if (answered > back && answered < firstAnswerAfterRestart && ran.some((at) => at > back))
        firstAnswerAfterRestart = answered;
    }
    return {
      run,
      jobs,
      killsAtMs: kills.map((kill) => Math.round(kill - started)),
      answered: answeredAt.size,
      failures,
      wrongResults,
      orphans,
      resent,
      connects: {
        beforeKill: reconnects.filter((at) => at < kills[0]).length,
        afterKill: reconnects.filter((at) => at > kills[0]).length,
      },
      replayed: this.replayedSince(firstOrchestrator),
      executions,
      reExecuted,
      neverExecuted,
      executedAfterAnswer,
      unexplainedReExecutions,
      restartToFirstAnswerMs: Number.isFinite(firstAnswerAfterRestart)
        ? firstAnswerAfterRestart - back
        : Number.NaN,
    };
  }

  stop(): void {
    this.cluster.stop();
  }
}

/** Times of the client socket's connections (libzmq's monitor), read through the client's socket. */
function observeConnects(client: Client, into: number[]): void {
  const dealer = (client as unknown as { dealer: { events: { on(event: "connect", f: () => void): void } } })
    .dealer;
  dealer.events.on("connect", () => into.push(wallClockMs()));
}

export function percentile(values: number[], fraction: number): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

/** One line per run, for the test's output and the bench. */
export function describeRun(result: RestartRun): string {
  const failed = Object.values(result.failures).reduce((sum, count) => sum + count, 0);
  const violations =
    result.neverExecuted.length + result.executedAfterAnswer.length + result.unexplainedReExecutions.length;
  return (
    `run ${result.run}: ${result.answered}/${result.jobs} answered, ${failed} failed, kills at ${result.killsAtMs.join(", ")} ms, ` +
    `${result.replayed} replayed, ${result.resent} resent (client connects ${result.connects.beforeKill}+${result.connects.afterKill}), ${result.orphans} duplicate replies dropped, ` +
    `${result.executions} executions (${result.reExecuted} jobs re-run after a kill, ${violations} violations), ` +
    `restart-to-first-answer ${Number.isNaN(result.restartToFirstAnswerMs) ? "-" : `${Math.round(result.restartToFirstAnswerMs)} ms`}`
  );
}

export { seededRandom };
