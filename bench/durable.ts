// What durability costs: jobs/s through orchestrator + satellite + client without a journal and
// with one (fsync on each group commit, and fsync off), same run, rounds alternated. Every job
// writes two records (accepted with its payload, completed with its result; a retry adds a
// dispatched record) and both its dispatch and its reply wait for a group commit.
// Target: durable >= 0.5x.
//
// Then what a crash costs: the restart scenario of test/e2e/restart-scenario.ts (issue 20; real
// processes, 256 requests in flight, kill -9 of the orchestrator, restart) a few times, and the
// time from the restarted orchestrator's first moment on the wire to its first answer of a job it
// ran. Target: p99 < 1 s; a run that leaves a job unanswered or runs one after its answer counts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, type RestartRun, RestartScenario, seededRandom } from "../test/e2e/restart-scenario.ts";
import { echoRound, IN_FLIGHT } from "./echo-round.ts";
import { type BenchResult, median } from "./stats.ts";

/** Issue 20's target for the restart-to-first-answer time, p99. */
const RESTART_FIRST_ANSWER_MS_TARGET = 1000;

async function benchRestart(quick: boolean): Promise<BenchResult[]> {
  const runs = quick ? 3 : 10;
  const scenario = new RestartScenario(seededRandom(Date.now() >>> 0));
  const results: RestartRun[] = [];
  try {
    await scenario.start();
    for (let run = 0; run < runs; run++) results.push(await scenario.run(run, { jobs: 3000 }));
  } finally {
    scenario.stop();
  }
  const times = results.map((result) => result.restartToFirstAnswerMs);
  const p99 = percentile(times, 0.99);
  const verdict = p99 < RESTART_FIRST_ANSWER_MS_TARGET ? "met" : "MISSED";
  const broken = results.filter(
    (result) =>
      result.answered !== result.jobs ||
      result.wrongResults > 0 ||
      result.neverExecuted.length +
        result.executedAfterAnswer.length +
        result.unexplainedReExecutions.length >
        0,
  ).length;
  const name = `durable: kill -9, restart to first answer (${runs} runs)`;
  return [
    { name: `${name}, median`, value: percentile(times, 0.5), unit: "ms" },
    { name: `${name}, p99`, value: p99, unit: `ms (target < ${RESTART_FIRST_ANSWER_MS_TARGET}: ${verdict})` },
    {
      name: "durable: kill -9 runs losing or repeating an answer",
      value: broken,
      unit: `of ${runs} (target 0: ${broken === 0 ? "met" : "MISSED"})`,
    },
  ];
}

export async function benchDurable(quick: boolean): Promise<BenchResult[]> {
  const jobs = quick ? 20_000 : 100_000;
  const rounds = quick ? 1 : 3;
  const off: number[] = [];
  const fsync: number[] = [];
  const noFsync: number[] = [];
  const full: number[] = [];
  // The finished book at its bound for most of the round: every job that ends evicts the oldest.
  const finishedMax = Math.floor(jobs / 4);
  const journaled = async (withFsync: boolean, bounded = false) => {
    const dir = mkdtempSync(join(tmpdir(), "dsat-bench-journal-"));
    try {
      const journal = { dir, fsync: withFsync, ...(bounded ? { finishedMax } : {}) };
      return await echoRound(jobs, { orchestrator: { journal } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  for (let i = 0; i < rounds; i++) {
    off.push(await echoRound(jobs));
    fsync.push(await journaled(true));
    noFsync.push(await journaled(false));
    full.push(await journaled(true, true));
  }
  const offRate = median(off);
  const fsyncRate = median(fsync);
  const noFsyncRate = median(noFsync);
  const name = `durable: echo jobs/s, ${IN_FLIGHT} in flight, in-process`;
  return [
    { name: `${name}, no journal`, value: offRate, unit: "jobs/s" },
    { name: `${name}, journal (fsync)`, value: fsyncRate, unit: "jobs/s" },
    { name: `${name}, journal (no fsync)`, value: noFsyncRate, unit: "jobs/s" },
    { name: "durable: journal (fsync) / no journal", value: fsyncRate / offRate, unit: "x" },
    { name: "durable: journal (no fsync) / no journal", value: noFsyncRate / offRate, unit: "x" },
    {
      // Before RecencyMap (src/util/recency-map.ts) each eviction walked the Map's deleted slots:
      // 0.37x at 300,000 jobs with the default bound of 100,000.
      name: `durable: journal (fsync), finished book at its bound (finishedMax ${finishedMax.toLocaleString("en-US")}) / below it`,
      value: median(full) / fsyncRate,
      unit: "x",
      target: { atLeast: 0.8 },
    },
    ...(await benchRestart(quick)),
  ];
}

// Run alone: node --import tsx bench/durable.ts [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResult } = await import("./stats.ts");
  for (const result of await benchDurable(process.argv.includes("--quick")))
    console.log(formatResult(result));
}
