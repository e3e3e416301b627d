// Issue 20: a durable orchestrator killed with SIGKILL under load and started again. Every job a
// client waits on is answered exactly once, no job runs after its answer, and the restarted
// orchestrator is back at work quickly (docs/journal.md, "What a client sees during a restart").
//
// `npm test` runs 3 scenario runs; `npm run soak` (SOAK=1) runs 20 and holds the restart-to-first-
// answer time to the target, under 1 s at p99. The short version allows 2 s a run, as it
// shares two cores with the rest of the suite: still less than the old fixed 2 s recovery wait.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Router } from "zeromq";
import { type Client, connect } from "../../src/client/index.ts";
import { parseFrontend } from "../../src/protocol/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import {
  describeRun,
  percentile,
  type RestartRun,
  RestartScenario,
  seededRandom,
} from "./restart-scenario.ts";

const SOAK = process.env.SOAK === "1";
const RUNS = SOAK ? 20 : 3;
const JOBS = 3000;
const FIRST_ANSWER_MS_MAX = SOAK ? 1000 : 2000;

/** Job ids of the dsat requests (batches) a ROUTER standing in for the orchestrator receives. */
async function collectRequests(router: Router, into: Set<string>): Promise<void> {
  try {
    for await (const frames of router) {
      const message = parseFrontend(frames.slice(1), 64);
      if (message.kind !== "client-batch") continue;
      for (const [, , , , id] of message.entries) if (id !== null) into.add(id);
    }
  } catch {
    // closed
  }
}

/** A new ROUTER on the endpoint a closed one held (libzmq releases it asynchronously). */
async function bindAgain(endpoint: string): Promise<Router> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const router = new Router({ linger: 0 });
    try {
      await router.bind(endpoint);
      return router;
    } catch (error) {
      router.close();
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

describe("a client sends its waiting requests again after the orchestrator restarts", () => {
  it("all of 200 clients do, however early their first connection was", async () => {
    // The old client counted libzmq "connect" events from a monitor started after connect(), and
    // so missed the first one in ~3% of clients: their reconnection then looked like the first
    // connection and nothing was resent (the 206 unanswered jobs of issue 20).
    const [endpoint] = await freeEndpoints(1);
    let router = new Router({ linger: 0 });
    await router.bind(endpoint);
    const before = new Set<string>();
    void collectRequests(router, before);
    const clients: Client[] = [];
    const requests: Array<Promise<unknown>> = [];
    try {
      for (let i = 0; i < 200; i++) {
        const client = await connect(endpoint, { timeoutMs: 60_000 });
        clients.push(client);
        requests.push(client.request("echo", i, { id: `job-${i}` }).catch(() => {}));
      }
      await until(() => before.size === 200, 20_000, "the 200 requests");
      // The orchestrator goes away and comes back on the same endpoint, knowing nothing.
      await router.unbind(endpoint);
      router.close();
      router = await bindAgain(endpoint);
      const after = new Set<string>();
      void collectRequests(router, after);
      await until(() => after.size === 200, 20_000, "every request resent").catch(() => {});
      const missing = [...before].filter((id) => !after.has(id));
      expect(missing).toEqual([]);
    } finally {
      for (const client of clients) await client.close();
      router.close();
      await Promise.all(requests);
    }
  }, 60_000);
});

describe(`kill -9 of a durable orchestrator under load, ${RUNS} runs (real processes)`, () => {
  const seed = Number(process.env.RESTART_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const scenario = new RestartScenario(seededRandom(seed));

  beforeAll(async () => {
    await scenario.start();
  }, 120_000);

  afterAll(() => {
    scenario.stop();
  });

  it(
    `${JOBS} jobs a run, killed at random points (every third run also during recovery): nothing unanswered, nothing run after its answer`,
    async () => {
      console.log(`restart runs: seed ${seed} (RESTART_SEED=${seed} replays the kill points)`);
      const results: RestartRun[] = [];
      for (let run = 0; run < RUNS; run++) {
        const result = await scenario.run(run, { jobs: JOBS, killDuringRecovery: run % 3 === 2 });
        console.log(describeRun(result));
        results.push(result);
      }
      const times = results.map((result) => result.restartToFirstAnswerMs);
      const p50 = percentile(times, 0.5);
      const p99 = percentile(times, 0.99);
      console.log(
        `restart-to-first-answer over ${RUNS} runs: median ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms (target < ${FIRST_ANSWER_MS_MAX} ms)`,
      );
      for (const result of results) {
        const where = `run ${result.run} (seed ${seed})`;
        expect(result.failures, where).toEqual({});
        expect(result.answered, where).toBe(JOBS);
        expect(result.wrongResults, where).toBe(0);
        expect(result.neverExecuted, where).toEqual([]);
        expect(result.executedAfterAnswer, where).toEqual([]);
        expect(result.unexplainedReExecutions, where).toEqual([]);
        expect(result.restartToFirstAnswerMs, where).toBeLessThan(FIRST_ANSWER_MS_MAX);
      }
      expect(p99).toBeLessThan(FIRST_ANSWER_MS_MAX);
    },
    RUNS * 60_000,
  );
});
