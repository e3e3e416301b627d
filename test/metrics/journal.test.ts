// Journal and disk-spill metrics: present, and equal to status(), only when the orchestrator has
// them (an orchestrator without a journal shows no journal series at all).
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { startMetrics } from "../../src/metrics/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { parseExposition, samplesOf, sampleValue } from "./exposition.ts";

const cleanups = new Cleanups();
const temp = new TempDirs("dsat-metrics-journal-");
afterEach(async () => {
  await cleanups.run();
  await temp.removeAll();
});

async function loaded(config: Partial<OrchestratorConfig>, jobs: number) {
  const [frontend] = await freeEndpoints(1);
  const orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["host"],
    types: { echo: {} },
    log: () => {},
    ...config,
  });
  await orchestrator.start();
  cleanups.push(() => orchestrator.stop());
  const metrics = await startMetrics(orchestrator, { address: "127.0.0.1:0", processMetrics: false });
  const satellite = await runSatellite(defineSatellite({ type: "echo", handle: (payload) => payload }), {
    endpoint: frontend,
    id: "echo@h1",
    location: [["host", "h1"]],
    log: () => {},
  });
  cleanups.push(() => satellite.stop());
  const client = await connect(frontend, { timeoutMs: 10_000 });
  cleanups.push(() => client.close());
  for (let n = 0; n < jobs; n++) await client.request("echo", n);
  const exposition = parseExposition(await (await fetch(metrics.url)).text());
  return { orchestrator, exposition };
}

describe("journal metrics", () => {
  it("equal status().journal and diskSpill with a journal", async () => {
    const dir = await temp.make();
    const { orchestrator, exposition } = await loaded({ journal: { dir, fsync: false } }, 10);
    const { journal, diskSpill } = orchestrator.status();
    if (journal === null || diskSpill === null) throw new Error("expected a journal and a disk spill");
    expect(journal.records).toBeGreaterThanOrEqual(20); // accepted + completed per job
    expect(sampleValue(exposition, "dsat_journal_size_bytes")).toBe(journal.sizeBytes);
    expect(sampleValue(exposition, "dsat_journal_committed_seq")).toBe(journal.committedSeq);
    expect(sampleValue(exposition, "dsat_journal_finished_kept")).toBe(journal.finishedKept);
    expect(sampleValue(exposition, "dsat_journal_failed")).toBe(0);
    for (const operation of ["records", "commits", "compactions", "failures", "probes", "resumed"] as const)
      expect(sampleValue(exposition, "dsat_journal_operations_total", { operation }), operation).toBe(
        journal[operation],
      );
    expect(sampleValue(exposition, "dsat_disk_spill_file_bytes")).toBe(diskSpill.fileBytes);
    expect(sampleValue(exposition, "dsat_disk_spill_spilled_total")).toBe(diskSpill.spilledTotal);
    expect(sampleValue(exposition, "dsat_waiting_room_jobs", { storage: "disk" })).toBe(0);
  });

  it("are absent without a journal", async () => {
    const { exposition } = await loaded({}, 1);
    const names = new Set(exposition.samples.map((sample) => sample.name));
    expect([...names].filter((name) => /^dsat_(journal|disk_spill)_/.test(name))).toEqual([]);
    expect(samplesOf(exposition, "dsat_waiting_room_jobs", { storage: "memory" })).toHaveLength(1);
  });
});
