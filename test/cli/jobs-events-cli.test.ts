// `dsat jobs`, `dsat retry` and `dsat events` as real child processes against an in-process durable
// orchestrator (journal) built from a topology file the CLI reads too. A satellite fails jobs flagged
// { fail: true } with NonRetryableError while `failing` is on; the failed job is listed, retried from
// the CLI after the satellite is "fixed", and ends done. `dsat events --count N` prints N JSON lines.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import type { JobSummary } from "../../src/orchestrator/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import {
  defineSatellite,
  NonRetryableError,
  runSatellite,
  type SatelliteRuntime,
} from "../../src/satellite/index.ts";
import { loadTopology, orchestratorConfig } from "../../src/topology/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";
import { ROOT, type RunResult, runDsat } from "./helpers.ts";

/** The satellite's behaviour, switched by the tests. */
let failing = true;
const runs = new Map<string, number>();
const flaky = defineSatellite({
  type: "flaky",
  concurrency: 8,
  handle: (payload: unknown, context) => {
    runs.set(context.id, (runs.get(context.id) ?? 0) + 1);
    const flags = (payload ?? {}) as { fail?: boolean; progress?: boolean };
    if (failing && flags.fail === true) throw new NonRetryableError("asked to fail");
    if (flags.progress === true) context.progress({ half: true }); // a job.progress.flaky event
    return payload;
  },
});

const dir = mkdtempSync(join(tmpdir(), "dsat-jobs-cli-"));
const topologyFile = join(dir, "topology.json");
const journalDir = join(dir, "journal");
let orchestrator: Orchestrator;
let satellite: SatelliteRuntime;
let client: Client;
const children = new Set<ChildProcess>();

const text = (buffer: Buffer) => buffer.toString("utf8");
const cli = (...args: string[]): Promise<RunResult> => runDsat([...args, "--topology", topologyFile], 30_000);

/** `dsat jobs ... --json`, parsed. */
async function jobsJson(...args: string[]): Promise<{ ok: boolean; jobs: JobSummary[]; total: number }> {
  const run = await cli("jobs", ...args, "--json");
  expect(text(run.stderr)).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(text(run.stdout));
}

/** The table rows of `dsat jobs` output (header first), split on runs of 2+ spaces. */
function tableRows(stdout: string): string[][] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s{2,}/));
}

function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^dsat: /);
  expect(lines[0]).toMatch(pattern);
}

beforeAll(async () => {
  const [frontend, events, control] = await freeEndpoints(3);
  writeFileSync(
    topologyFile,
    JSON.stringify({
      orchestrator: { frontend, events, control, heartbeatMs: 200, journal: { dir: "journal" } },
      hierarchy: ["host"],
      hosts: { h1: {} },
      types: { flaky: { attemptsMax: 1 } },
    }),
  );
  // The same file the CLI reads: the orchestrator binds what `--topology` points the CLI at.
  const config = orchestratorConfig(loadTopology(topologyFile));
  expect(config.journal?.dir).toBe(journalDir);
  orchestrator = new Orchestrator({ ...config, log: () => {} });
  await orchestrator.start();
  satellite = await runSatellite(flaky, {
    endpoint: frontend,
    id: "flaky@h1",
    location: [["host", "h1"]],
    heartbeatMs: 200,
    reconnectMaxMs: 500,
    log: () => {},
  });
  await until(() => orchestrator.status().satellites.length === 1, 5000, "the satellite to register");
  client = await connect(frontend, { timeoutMs: 10_000 });
});

afterAll(async () => {
  // Only the processes this file started, by PID.
  for (const child of children) if (child.exitCode === null && child.pid !== undefined) child.kill("SIGKILL");
  await client?.close();
  await satellite?.stop();
  await orchestrator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("dsat jobs / dsat retry", () => {
  it("lists a failed job with --state failed, and not the ones that succeeded", async () => {
    expect(await client.request("flaky", { n: 1 }, { id: "ok-1" })).toEqual({ n: 1 });
    await expect(client.request("flaky", { fail: true, n: 2 }, { id: "bad-1" })).rejects.toThrow(
      /asked to fail/,
    );
    expect(runs.get("bad-1")).toBe(1); // NonRetryableError: not tried again elsewhere
    const run = await cli("jobs", "--state", "failed");
    expect(text(run.stderr)).toBe("");
    expect(run.code).toBe(0);
    const rows = tableRows(text(run.stdout));
    expect(rows[0]).toEqual(["ID", "TYPE", "STATE", "ATTEMPT", "SATELLITE", "RECEIVED", "ENDED", "ERROR"]);
    expect(rows.slice(1).map((row) => row[0])).toEqual(["bad-1"]);
    expect(rows[1].slice(0, 3)).toEqual(["bad-1", "flaky", "failed"]);
    expect(rows[1].at(-1)).toMatch(/asked to fail/);
    const listed = await jobsJson("--state", "failed");
    expect(listed.jobs).toHaveLength(1);
    expect(listed.jobs[0]).toMatchObject({ id: "bad-1", type: "flaky", phase: "finished", state: "failed" });
    // And the other filter: the job that succeeded is done, the failed one is not.
    const done = await jobsJson("--state", "done");
    expect(done.jobs.map((job) => job.id)).toEqual(["ok-1"]);
  });

  it("dsat retry ID runs the failed job again; once the satellite is fixed it ends done", async () => {
    failing = false;
    const before = runs.get("bad-1") ?? 0;
    const results: Array<Record<string, unknown>> = [];
    const unsubscribe = orchestrator.onEvent((topic, event) => {
      if (topic === "result.flaky" && event.id === "bad-1") results.push(event);
    });
    try {
      const run = await cli("retry", "bad-1");
      expect(text(run.stderr)).toBe("");
      expect(run.code).toBe(0);
      expect(text(run.stdout)).toMatch(/job bad-1 is running again/);
      await until(
        () => orchestrator.listJobs({ id: "bad-1" }).jobs[0]?.state === "done",
        10_000,
        "the retried job to end done",
      );
      expect(runs.get("bad-1")).toBe(before + 1);
      // Its client is gone from the job (it got its error): the result goes to the events socket.
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ id: "bad-1", type: "flaky" });
    } finally {
      unsubscribe();
    }
    const show = await cli("jobs", "bad-1");
    expect(text(show.stderr)).toBe("");
    expect(show.code).toBe(0);
    const rows = tableRows(text(show.stdout));
    expect(rows).toHaveLength(2);
    expect(rows[1].slice(0, 3)).toEqual(["bad-1", "flaky", "done"]);
    expect(await jobsJson("bad-1")).toMatchObject({
      jobs: [{ id: "bad-1", state: "done", phase: "finished", message: null }],
    });
    expect((await jobsJson("--state", "failed")).jobs).toEqual([]);
  });

  it("dsat retry refuses a job that succeeded and an unknown id, with exit 1 and one line", async () => {
    const succeeded = await cli("retry", "bad-1");
    expect(succeeded.code).toBe(1);
    expectOneLineError(text(succeeded.stderr), /retry bad-1: .*succeeded; nothing to retry/);
    const unknown = await cli("retry", "no-such-job");
    expect(unknown.code).toBe(1);
    expectOneLineError(text(unknown.stderr), /retry no-such-job: no finished job "no-such-job"/);
    const missing = await cli("jobs", "no-such-job");
    expect(missing.code).toBe(1);
    expect(text(missing.stdout)).toMatch(/no job "no-such-job"/);
  });

  it("dsat jobs --state rejects an unknown state", async () => {
    const run = await cli("jobs", "--state", "bogus");
    expect(run.code).toBe(1);
    expectOneLineError(text(run.stderr), /--state: unknown state "bogus"/);
  });
});

describe("dsat events", () => {
  it("--count N prints N JSON lines of the events of running jobs, then exits 0", async () => {
    const COUNT = 6;
    const child = spawn(
      process.execPath,
      ["bin/dsat", "events", "--count", String(COUNT), "--topology", topologyFile],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    // Jobs until the command has seen its N events (it needs a second or two to start): bounded.
    const ids = new Set<string>();
    const deadline = Date.now() + 30_000;
    for (let round = 0; child.exitCode === null && round < 300; round++) {
      if (Date.now() > deadline) break;
      const batch = [0, 1].map((i) => `ev-${round}-${i}`);
      for (const id of batch) ids.add(id);
      await Promise.all(batch.map((id) => client.request("flaky", { id, progress: true }, { id })));
      await sleep(100);
    }
    const code = await Promise.race([exited, sleep(10_000).then(() => "timeout" as const)]);
    expect(code).toBe(0);
    expect(Buffer.concat(err).toString()).toBe("");
    const lines = Buffer.concat(out).toString().split("\n");
    expect(lines.pop()).toBe(""); // ends with a newline
    expect(lines).toHaveLength(COUNT);
    const events = lines.map((line) => JSON.parse(line) as { topic: string; at: number; id?: string });
    for (const event of events) {
      expect(typeof event.topic).toBe("string");
      expect(typeof event.at).toBe("number");
      expect(Math.abs(Date.now() - event.at)).toBeLessThan(60_000);
    }
    // Real events of the jobs sent meanwhile: each reports progress once (job.progress.flaky).
    const progress = events.filter((event) => event.topic === "job.progress.flaky");
    expect(progress.length).toBeGreaterThanOrEqual(COUNT - 1); // a stats event may come in between
    for (const event of progress) {
      expect(ids.has(event.id as string)).toBe(true);
      expect(event).toMatchObject({ attempt: 1, progress: { half: true } });
    }
    expect(new Set(progress.map((event) => event.id)).size).toBe(progress.length);
  });
});
