// Three replicated orchestrators in one process (real Raft over ZeroMQ, real sockets, real disks):
// one serves; a client and two satellites know all three frontends. The leader is stopped under
// load: a new one serves from the replicated book, and every job the client was told about is
// answered exactly once, none lost.
import { afterEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { connect } from "../../../src/client/index.ts";
import type { OrchestratorConfig } from "../../../src/orchestrator/index.ts";
import { OrchestratorNode } from "../../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../../src/satellite/index.ts";
import { type CurveOptions, curveClientOptions } from "../../../src/security/index.ts";
import { Cleanups } from "../../helpers/cleanups.ts";
import { TestKeys } from "../../helpers/curve-keys.ts";
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

async function startCluster(
  security?: OrchestratorConfig["security"],
): Promise<{ nodes: Map<string, OrchestratorNode>; frontends: string[]; peers: Record<string, string> }> {
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
      ...(security !== undefined ? { security } : {}),
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
  return { nodes, frontends, peers };
}

function servingNode(nodes: Map<string, OrchestratorNode>): OrchestratorNode | undefined {
  return [...nodes.values()].find((node) => node.orchestrator !== null);
}

async function startSatellite(
  id: string,
  host: string,
  endpoint: string,
  curve?: CurveOptions,
): Promise<SatelliteRuntime> {
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
      ...(curve !== undefined ? { curve } : {}),
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

  it("keep operators' decisions across a change of leader: a drain and a live setting", async () => {
    const { nodes, frontends } = await startCluster();
    await until(() => servingNode(nodes) !== undefined, 20_000, "a leader that serves");
    const all = frontends.join(",");
    await startSatellite("s1", "h1", all);
    await startSatellite("s2", "h2", all);
    const first = servingNode(nodes) as OrchestratorNode;
    const orchestrator = first.orchestrator;
    if (orchestrator === null) throw new Error("no orchestrator");
    await until(() => orchestrator.status().satellites.length === 2, 20_000, "both satellites registered");
    expect(orchestrator.drain("h1").ok).toBe(true);
    expect(orchestrator.configSet("types.echo.timeoutMs", 7000).ok).toBe(true);
    // On a majority before the leader goes (the decisions ride the next group commit).
    const client = await connect(all, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    expect(await client.request("echo", { n: 1 })).toEqual({ n: 1 });
    await first.stop();
    await until(() => servingNode(nodes) !== undefined, 20_000, "a new leader that serves");
    const second = (servingNode(nodes) as OrchestratorNode).orchestrator;
    if (second === null) throw new Error("no orchestrator");
    await until(() => second.status().satellites.length === 2, 20_000, "both satellites back");
    expect(second.status().satellites.find((satellite) => satellite.id === "s1")?.draining).toBe(true);
    expect(second.configGet("types.echo.timeoutMs").settings).toEqual({ "types.echo.timeoutMs": 7000 });
    expect(await client.request("echo", { n: 2 })).toEqual({ n: 2 });
  }, 90_000);

  it("run under CURVE: Raft between the nodes with the orchestrators' key, clients and satellites allow-listed", async () => {
    const keys = new TestKeys("dsat-replicated-keys-");
    cleanups.push(() => keys.remove());
    keys.add("client", "clients");
    keys.add("s1", "satellites");
    const { nodes, frontends, peers } = await startCluster(keys.security());
    await until(() => servingNode(nodes) !== undefined, 20_000, "a leader that serves");
    const all = frontends.join(",");
    await startSatellite("s1", "h1", all, keys.curve("s1"));
    const client = await connect(all, { timeoutMs: 30_000, curve: keys.curve("client") });
    cleanups.push(() => client.close());
    expect(await client.request("echo", { n: 1 })).toEqual({ n: 1 });
    const first = servingNode(nodes) as OrchestratorNode;
    await first.stop();
    // A new leader, elected over CURVE, serves the same client and satellite.
    expect(await client.request("echo", { n: 2 })).toEqual({ n: 2 });
    expect(servingNode(nodes)?.id).not.toBe(first.id);
    // The Raft socket takes only the orchestrators' key: a client's allow-listed key is refused there.
    const second = servingNode(nodes) as OrchestratorNode;
    const intruder = new Dealer({ ...curveClientOptions(keys.curve("client")), linger: 0 });
    intruder.connect(peers[second.id]);
    await until(
      () => (second.raft.transportStats?.refusedHandshakes ?? 0) > 0,
      10_000,
      "the client's key refused on the Raft socket",
    );
    intruder.close();
  }, 90_000);
});
