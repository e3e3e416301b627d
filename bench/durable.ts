// What durability costs: jobs/s through orchestrator + satellite + client without a journal and
// with one (fsync on each group commit, and fsync off), same run, rounds alternated. Every job
// writes two records (accepted with its payload, completed with its result; a retry adds a
// dispatched record) and both its dispatch and its reply wait for a group commit.
// Target: durable >= 0.5x.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { echoRound, IN_FLIGHT } from "./echo-round.ts";
import { type BenchResult, median } from "./stats.ts";

export async function benchDurable(quick: boolean): Promise<BenchResult[]> {
  const jobs = quick ? 20_000 : 100_000;
  const rounds = quick ? 1 : 3;
  const off: number[] = [];
  const fsync: number[] = [];
  const noFsync: number[] = [];
  const journaled = async (withFsync: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), "dsat-bench-journal-"));
    try {
      return await echoRound(jobs, { orchestrator: { journal: { dir, fsync: withFsync } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  for (let i = 0; i < rounds; i++) {
    off.push(await echoRound(jobs));
    fsync.push(await journaled(true));
    noFsync.push(await journaled(false));
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
  ];
}

// Run alone: node --import tsx bench/durable.ts [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResult } = await import("./stats.ts");
  for (const result of await benchDurable(process.argv.includes("--quick")))
    console.log(formatResult(result));
}
