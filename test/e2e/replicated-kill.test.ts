// Replicated orchestrators as real processes (issue 14): three `dsat orchestrator --node` processes,
// three `dsat satellite` processes that know every frontend, and a client in this process streaming
// 20,000 jobs 256 at a time. While the stream runs the leader is killed with SIGKILL every few
// seconds (and started again), and once stopped with SIGSTOP for longer than an election, then
// resumed. Every job must be answered exactly once, with its own payload: none lost, none failed.
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { freePorts } from "../helpers/ports.ts";
import { THREE_HOSTS, THREE_RACKS } from "../helpers/topology.ts";
import { Cluster, waitUntil } from "./harness.ts";

const JOBS = Number(process.env.DSAT_REPLICATED_JOBS ?? 20_000);
const CONCURRENCY = 256;
const NODES = ["o1", "o2", "o3"];

const cluster = new Cluster();
afterAll(() => cluster.stop());

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function writeTopology(): Promise<{ frontends: string; controls: string }> {
  const ports = await freePorts(NODES.length * 3);
  const nodes = NODES.map((id, i) => ({
    id,
    raft: `tcp://127.0.0.1:${ports[3 * i]}`,
    frontend: `tcp://127.0.0.1:${ports[3 * i + 1]}`,
    control: `tcp://127.0.0.1:${ports[3 * i + 2]}`,
  }));
  writeFileSync(
    cluster.topologyFile,
    JSON.stringify({
      orchestrator: { journal: { dir: join(cluster.dir, "data"), recoveryMs: 1000 }, heartbeatMs: 500 },
      orchestrators: nodes,
      ...THREE_RACKS,
      types: { paced: { replicas: 3, failureDomain: "rack", timeoutMs: 120_000 } },
    }),
  );
  return {
    frontends: nodes.map((node) => node.frontend).join(","),
    controls: nodes.map((node) => node.control).join(","),
  };
}

/** The node that last said it serves (its output lines), or undefined. */
function leader(): string | undefined {
  let best: { id: string; term: number } | undefined;
  for (const id of NODES)
    for (const line of cluster.output.get(id) ?? []) {
      const match = /leader of term (\d+), serving/.exec(line);
      if (match !== null && (best === undefined || Number(match[1]) > best.term))
        best = { id, term: Number(match[1]) };
    }
  return best?.id;
}

function startNode(id: string): ChildProcess {
  cluster.output.delete(id);
  return cluster.start(id, ["orchestrator", "--node", id], {}, true);
}

describe("replicated orchestrators, real processes", () => {
  it(`answer ${JOBS} jobs exactly once while the leader is killed -9 and stopped`, async () => {
    const { frontends } = await writeTopology();
    for (const id of NODES) startNode(id);
    await waitUntil("a leader", () => leader() !== undefined, 60_000);
    cluster.startSatellites("paced", "test/e2e/satellites/paced-echo.ts", THREE_HOSTS);
    const client = await connect(frontends, { timeoutMs: 120_000 });
    await waitUntil(
      "the satellites to serve",
      async () =>
        (await client
          .request("paced", "warm-up", { timeoutMs: 2000 })
          .then(() => true)
          .catch(() => false)) === true,
      60_000,
    );

    const answers = new Map<number, number>();
    const wrong: number[] = [];
    const failures: string[] = [];
    let sent = 0;
    const streamStart = Date.now();
    const faults: Array<{ kind: string; node: string; atMs: number; firstAnswerAfterMs: number }> = [];
    const stream = (async () => {
      const worker = async () => {
        while (sent < JOBS) {
          const n = sent++;
          try {
            const result = await client.request<number>("paced", n);
            if (result !== n) wrong.push(n);
            answers.set(n, (answers.get(n) ?? 0) + 1);
            for (const fault of faults)
              if (fault.firstAnswerAfterMs < 0)
                fault.firstAnswerAfterMs = Date.now() - streamStart - fault.atMs;
          } catch (error) {
            failures.push(`${n}: ${(error as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    })();

    // Faults while the stream runs, at set shares of the answers (a fast machine must not finish
    // before them): kill -9 the leader (restarted a second later) three times, then SIGSTOP it
    // for 3 s (a new leader takes over; the old one wakes up deposed). The stop comes last: the
    // stream may well finish during its 3 s, and no fault must be left after it.
    let done = false;
    void stream.finally(() => {
      done = true;
    });
    for (const [share, kind] of [
      [0.1, "kill"],
      [0.3, "kill"],
      [0.5, "kill"],
      [0.7, "stop"],
    ] as const) {
      await waitUntil(
        `${share * 100}% of the jobs answered`,
        () => done || answers.size >= share * JOBS,
        200_000,
      );
      if (done) break;
      const id = leader();
      const child = id === undefined ? undefined : cluster.processes.get(id);
      if (id === undefined || child === undefined) continue;
      faults.push({ kind, node: id, atMs: Date.now() - streamStart, firstAnswerAfterMs: -1 });
      if (kind === "kill") {
        child.kill("SIGKILL");
        await sleep(1000);
        startNode(id);
      } else {
        child.kill("SIGSTOP");
        await sleep(3000);
        child.kill("SIGCONT");
      }
      // The next fault only once the new leader has answered: every fault hits a serving cluster.
      await waitUntil(
        "an answer after the fault",
        () => done || (faults.at(-1)?.firstAnswerAfterMs ?? -1) >= 0,
        60_000,
      );
    }
    await stream;
    const seconds = (Date.now() - streamStart) / 1000;
    console.log(
      `replicated, real processes: ${answers.size} of ${JOBS} jobs answered in ${seconds.toFixed(1)} s ` +
        `(${Math.round(JOBS / seconds)} jobs/s); faults: ${faults
          .map(
            (fault) =>
              `${fault.kind} ${fault.node} at ${fault.atMs} ms, next answer +${fault.firstAnswerAfterMs} ms`,
          )
          .join("; ")}`,
    );
    await client.close();
    if (process.env.DSAT_REPLICATED_LOG !== undefined)
      (await import("node:fs")).writeFileSync(
        process.env.DSAT_REPLICATED_LOG,
        NODES.map((id) => (cluster.output.get(id) ?? []).join("\n")).join("\n----\n"),
      );
    expect(failures.slice(0, 5)).toEqual([]);
    expect(wrong).toEqual([]);
    expect(answers.size).toBe(JOBS);
    expect([...answers.values()].every((count) => count === 1)).toBe(true);
    // The faults hit a running stream, and there was a new leader each time.
    expect(faults.map((fault) => fault.kind)).toEqual(["kill", "kill", "kill", "stop"]);
  }, 300_000);
});
