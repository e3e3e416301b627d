// Durable jobs with real processes: `dsat orchestrator` with a journal is killed with SIGKILL three
// times while a client streams 10,000 jobs; it is restarted each time on the same journal. Every
// request must resolve exactly once with its own result, and every job must end in exactly one
// terminal state. Then the journal's tail is torn by hand: the orchestrator recovers to the last
// good record, says so in one log line, and still knows every job.
import { execFile } from "node:child_process";
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, controlRequest } from "../../src/client/index.ts";
import { THREE_HOSTS, THREE_RACKS } from "../helpers/topology.ts";
import { Cluster, dsat, exited, root, waitUntil } from "./harness.ts";

function dsatCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [dsat, ...args, "--topology", cluster.topologyFile],
      { cwd: root },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

const JOBS = 10_000;
const KILLS_AT = [2_000, 5_000, 8_000];

const cluster = new Cluster();
let client: Client;
const journalDir = join(cluster.dir, "journal");

function startOrchestrator(run: number) {
  return cluster.start(`orchestrator-${run}`, ["orchestrator"], {}, true);
}

async function killOrchestrator(run: number): Promise<void> {
  const child = cluster.processes.get(`orchestrator-${run}`);
  if (child === undefined || child.exitCode !== null) return;
  child.kill("SIGKILL");
  await exited(child);
}

beforeAll(async () => {
  await cluster.write({
    orchestrator: {
      heartbeatMs: 200,
      journal: { dir: journalDir, recoveryMs: 400 },
      limits: { inFlightPerClientMax: JOBS },
    },
    ...THREE_RACKS,
    types: {
      paced: {
        module: join(root, "test/e2e/satellites/paced-echo.ts"),
        replicas: 3,
        failureDomain: "rack",
        attemptsMax: 5,
      },
    },
  });
  startOrchestrator(0);
  await cluster.waitForOrchestrator();
  // 30 ms a job: even when this process (the client) is starved of CPU by other test files,
  // jobs are still running at the orchestrator when a kill lands, so restarts have some to replay.
  cluster.startSatellites("paced", "test/e2e/satellites/paced-echo.ts", THREE_HOSTS, {
    DSAT_ECHO_DELAY_MS: "30",
  });
  await cluster.waitForSatellites(3);
  client = await connect(cluster.endpoints.frontend, { timeoutMs: 120_000, inFlightMax: JOBS });
}, 150_000);

afterAll(async () => {
  await client?.close();
  cluster.stop();
});

/** Every job the orchestrator lists (`jobs` answers a page of at most 1000 at a time). */
async function listJobs(filter: Record<string, string>): Promise<{
  jobs: Array<{ id: string; state: string; phase: string }>;
}> {
  const jobs: Array<{ id: string; state: string; phase: string }> = [];
  let after: string | null = null;
  do {
    const page = (await controlRequest(cluster.endpoints.control, {
      cmd: "jobs",
      ...filter,
      limit: 1000,
      ...(after !== null ? { after } : {}),
    })) as { jobs: Array<{ id: string; state: string; phase: string }>; next: string | null };
    jobs.push(...page.jobs);
    after = page.next;
  } while (after !== null);
  return { jobs };
}

describe("durable jobs across kill -9 of the orchestrator (real processes)", () => {
  it(`${JOBS} jobs, ${KILLS_AT.length} kills: every request resolves once, every job ends once`, async () => {
    const resolved = new Map<number, number>();
    const failures: string[] = [];
    let orphans = 0;
    let resent = 0;
    client.on("reply:orphan", () => orphans++);
    client.on("resent", (count) => {
      resent += count;
    });
    // Kills come from the results: at 2,000, 5,000 and 8,000 jobs resolved, the orchestrator is
    // killed and restarted, and the next kill waits until the restarted one answers.
    let run = 0;
    const chaos = (async () => {
      for (const at of KILLS_AT) {
        await waitUntil(`${at} results`, () => resolved.size + failures.length >= at, 120_000);
        await killOrchestrator(run);
        run++;
        startOrchestrator(run);
        await cluster.waitForOrchestrator();
      }
    })();
    const requests: Array<Promise<void>> = [];
    for (let n = 0; n < JOBS; n++) {
      requests.push(
        client.request<{ n: number }>("paced", { n }, { id: `d-${n}` }).then(
          (result) => {
            if (result.n !== n) failures.push(`d-${n} got the result of ${result.n}`);
            resolved.set(n, (resolved.get(n) ?? 0) + 1);
          },
          (error: Error) => {
            failures.push(`d-${n}: ${error.message}`);
          },
        ),
      );
      if (n % 100 === 99) await new Promise((done) => setTimeout(done, 50)); // ~2k jobs/s offered
    }
    await chaos;
    await Promise.all(requests);
    // On failure, say what kinds of failure there were rather than listing thousands.
    const kinds = new Map<string, number>();
    for (const failure of failures) {
      const kind = failure.replace(/^d-\d+:? /, "").replace(/\d+/g, "N");
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    expect(Object.fromEntries(kinds)).toEqual({});
    expect(resolved.size).toBe(JOBS);
    expect([...resolved.values()].every((count) => count === 1)).toBe(true);
    expect(resent).toBeGreaterThan(0); // the client did send waiting requests again after the kills

    // The orchestrator's view: every job finished, done, once.
    const listed = await listJobs({});
    const ours = listed.jobs.filter((job) => job.id.startsWith("d-"));
    expect(ours).toHaveLength(JOBS);
    expect(new Set(ours.map((job) => job.id)).size).toBe(JOBS);
    expect(ours.every((job) => job.phase === "finished" && job.state === "done")).toBe(true);
    const status = (await controlRequest(cluster.endpoints.control, "status")) as {
      journal: { recovered: number };
    };
    // The kills landed mid-stream: restarted orchestrators found unfinished jobs to run again.
    let replayed = 0;
    for (let r = 1; r <= KILLS_AT.length; r++) {
      for (const line of cluster.output.get(`orchestrator-${r}`) ?? []) {
        const match = / (\d+) unfinished jobs to run again/.exec(line);
        if (match !== null) replayed += Number(match[1]);
      }
    }
    expect(replayed).toBeGreaterThan(0);
    console.log(
      `durability: ${replayed} jobs replayed over the restarts; ${JOBS} jobs, ${KILLS_AT.length} kills, ${resent} requests resent, ${orphans} duplicate replies dropped by the client, last restart replayed ${status.journal.recovered} jobs`,
    );
  }, 240_000);

  it("a torn journal tail is recovered to the last good record, with one clear log line", async () => {
    await killOrchestrator(KILLS_AT.length);
    const segments = readdirSync(journalDir)
      .filter((name) => name.endsWith(".log"))
      .sort();
    const last = join(journalDir, segments[segments.length - 1]);
    // A record header promising 1000 bytes, then only a few: what a crash mid-write leaves.
    const torn = Buffer.alloc(14);
    torn.writeUInt32LE(1000, 0);
    appendFileSync(last, torn);
    const run = KILLS_AT.length + 1;
    startOrchestrator(run);
    await cluster.waitForOrchestrator();
    const lines = cluster.output.get(`orchestrator-${run}`) ?? [];
    await waitUntil("the recovery line", () => lines.some((line) => /journal: .*truncated/.test(line)));
    const line = lines.find((l) => /journal: .*truncated/.test(l)) as string;
    expect(line).toContain(segments[segments.length - 1]);
    expect(line).toMatch(/recovered to seq \d+/);
    const listed = await listJobs({ state: "done" });
    expect(listed.jobs.filter((job) => job.id.startsWith("d-"))).toHaveLength(JOBS);
    await cluster.waitForSatellites(3);
    expect(await client.request("paced", { after: "repair" })).toEqual({ after: "repair" });
  }, 120_000);

  it("dsat jobs and dsat retry query the durable orchestrator", async () => {
    const some = await dsatCli(["jobs", "--state", "done", "--limit", "5"]);
    expect(some.code).toBe(0);
    const lines = some.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+STATE\s+ATTEMPT/);
    expect(lines).toHaveLength(1 + 5 + 1);
    expect(lines.at(-1)).toMatch(/5 of 100\d\d shown/);
    const one = await dsatCli(["jobs", "d-17"]);
    expect(one.stdout).toMatch(/^d-17\s+paced\s+done\s+\d/m);
    const json = JSON.parse((await dsatCli(["jobs", "d-17", "--json"])).stdout) as {
      jobs: Array<{ id: string }>;
    };
    expect(json.jobs.map((job) => job.id)).toEqual(["d-17"]);
    const retry = await dsatCli(["retry", "d-17"]);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(/succeeded; nothing to retry/);
    const badState = await dsatCli(["jobs", "--state", "sleeping"]);
    expect(badState.code).toBe(1);
    expect(badState.stderr).toMatch(/unknown state "sleeping"/);
  }, 60_000);
});
