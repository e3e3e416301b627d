// Three replicated orchestrators in one process (real Raft over ZeroMQ, real sockets, real disks):
// one serves; a client and two satellites know all three frontends. The leader is stopped under
// load: a new one serves from the replicated book, and every job the client was told about is
// answered exactly once, none lost.
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../../src/client/index.ts";
import type { OrchestratorConfig } from "../../../src/orchestrator/index.ts";
import { OrchestratorNode } from "../../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../../src/satellite/index.ts";
import { Cleanups } from "../../helpers/cleanups.ts";
import { freeEndpoints } from "../../helpers/ports.ts";
import { TempDirs } from "../../helpers/temp-dirs.ts";
import { until } from "../../helpers/wait.ts";

const cleanups = new Cleanups();
const dirs = new TempDirs("dsat-replicated-");
afterEach(async () => {
  await cleanups.run();
  await dirs.removeAll();
});

const IDS = ["o1", "o2", "o3"];

async function startCluster(): Promise<{ nodes: Map<string, OrchestratorNode>; frontends: string[] }> {
  const raftEndpoints = await freeEndpoints(IDS.length);
  const frontends = await freeEndpoints(IDS.length);
  const peers = Object.fromEntries(IDS.map((id, i) => [id, raftEndpoints[i]]));
  const nodes = new Map<string, OrchestratorNode>();
  for (const [i, id] of IDS.entries()) {
    const orchestrator: OrchestratorConfig = {
      frontend: frontends[i],
      hierarchy: ["rack", "host"],
      types: { echo: { replicas: 2, failureDomain: "host" } },
      journal: { dir: "unused", recoveryMs: 1000 },
      limits: { heartbeatMs: 200 },
      log: () => {},
    };
    const node = await OrchestratorNode.start({
      id,
      peers,
      dir: await dirs.make(),
      orchestrator,
      log: () => {},
    });
    nodes.set(id, node);
    cleanups.push(() => node.stop());
  }
  return { nodes, frontends };
}

function servingNode(nodes: Map<string, OrchestratorNode>): OrchestratorNode | undefined {
  return [...nodes.values()].find((node) => node.orchestrator !== null);
}

async function startSatellite(id: string, host: string, endpoint: string): Promise<SatelliteRuntime> {
  const satellite = await runSatellite(
    defineSatellite<{ n: number }, { n: number }>({
      type: "echo",
      concurrency: 16,
      handle: async (payload) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return { n: payload.n };
      },
    }),
    {
      endpoint,
      id,
      location: [
        ["rack", "r1"],
        ["host", host],
      ],
      heartbeatMs: 200,
      log: () => {},
    },
  );
  cleanups.push(() => satellite.stop());
  return satellite;
}

describe("replicated orchestrators", () => {
  it("serve from one leader; when it stops, another serves every accepted job, each answered once", async () => {
    const { nodes, frontends } = await startCluster();
    await until(() => servingNode(nodes) !== undefined, 20_000, "a leader that serves");
    const all = frontends.join(",");
    await startSatellite("s1", "h1", all);
    await startSatellite("s2", "h2", all);
    const first = servingNode(nodes) as OrchestratorNode;
    await until(
      () => (first.orchestrator?.status().satellites.length ?? 0) === 2,
      20_000,
      "both satellites registered with the leader",
    );
    const client = await connect(all, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    expect(await client.request("echo", { n: -1 })).toEqual({ n: -1 });

    // Load before, during and after the leader stops.
    const JOBS = 600;
    const answers = new Map<number, number>();
    const requests: Promise<void>[] = [];
    let stoppedAt = 0;
    let answeredAtStop = 0;
    let firstAfterStop = 0;
    for (let n = 0; n < JOBS; n++) {
      requests.push(
        client.request<{ n: number }>("echo", { n }).then((result) => {
          answers.set(result.n, (answers.get(result.n) ?? 0) + 1);
          if (stoppedAt > 0 && firstAfterStop === 0) firstAfterStop = Date.now();
        }),
      );
      if (n === JOBS / 3) {
        await until(() => answers.size > 50, 20_000, "jobs answered before the stop");
        const stopping = first.stop();
        stoppedAt = Date.now();
        answeredAtStop = answers.size;
        await stopping;
      }
      if (n % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(requests);
    console.log(
      `replicated failover: ${JOBS} jobs, ${answeredAtStop} answered when the leader stopped, ` +
        `first answer after it ${firstAfterStop - stoppedAt} ms later, new leader ${servingNode(nodes)?.id}`,
    );
    // Some jobs were in flight when the leader stopped: the failover had work to carry over.
    expect(answeredAtStop).toBeLessThan(JOBS / 3);
    expect(answers.size).toBe(JOBS);
    expect([...answers.values()].every((count) => count === 1)).toBe(true);
    const second = servingNode(nodes);
    expect(second).toBeDefined();
    expect(second?.id).not.toBe(first.id);
    expect(second?.status()).toMatchObject({ role: "leader", serving: true });
  }, 90_000);
});
