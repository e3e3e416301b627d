// A replicated node's metrics: three real OrchestratorNodes in this process (Raft over ZeroMQ, real
// disks), each with its own /metrics server scraped over HTTP. The leader says leader=1 and serves
// its orchestrator's job metrics; followers have the Raft gauges only; after the leader stops, the
// new leader's endpoint (the same server since it started) has the job metrics of its leadership.
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { MetricsServer, NodeMetrics } from "../../src/metrics/index.ts";
import { type OrchestratorConfig, OrchestratorNode } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { until } from "../helpers/wait.ts";
import { type Exposition, parseExposition } from "./exposition.ts";

const cleanups = new Cleanups();
const dirs = new TempDirs("dsat-node-metrics-");
afterEach(async () => {
  await cleanups.run();
  await dirs.removeAll();
});

const IDS = ["o1", "o2", "o3"];

interface Member {
  node: OrchestratorNode;
  server: MetricsServer<NodeMetrics>;
}

async function startCluster(): Promise<{ members: Map<string, Member>; frontends: string }> {
  const raftEndpoints = await freeEndpoints(IDS.length);
  const frontends = await freeEndpoints(IDS.length);
  const peers = Object.fromEntries(IDS.map((id, i) => [id, raftEndpoints[i]]));
  const members = new Map<string, Member>();
  for (const [i, id] of IDS.entries()) {
    const orchestrator: OrchestratorConfig = {
      frontend: frontends[i],
      hierarchy: ["host"],
      types: { echo: {} },
      journal: { dir: "unused", recoveryMs: 500 },
      limits: { heartbeatMs: 200 },
      log: () => {},
    };
    const server = await MetricsServer.serve(new NodeMetrics({ perSatellite: false }), {
      address: "127.0.0.1:0",
    });
    cleanups.push(() => server.close());
    const node = await OrchestratorNode.start({
      id,
      peers,
      dir: await dirs.make(),
      orchestrator,
      log: () => {},
      onServing: server.metrics.serving,
    });
    server.metrics.follow(node);
    cleanups.push(() => node.stop());
    members.set(id, { node, server });
  }
  return { members, frontends: frontends.join(",") };
}

async function scrape(server: MetricsServer<NodeMetrics>): Promise<Exposition> {
  const response = await fetch(server.url);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

const value = (exposition: Exposition, name: string, labels: Record<string, string> = {}) =>
  exposition.samples.find(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted),
  )?.value;

const serving = (members: Map<string, Member>) =>
  [...members.values()].find((member) => member.node.orchestrator !== null);

describe("a replicated node's metrics", () => {
  it("raft gauges on every node; the orchestrator's metrics on the leader only, following the leadership", async () => {
    const { members, frontends } = await startCluster();
    await until(() => serving(members) !== undefined, 20_000, "a leader that serves");
    const satellite = await runSatellite(
      defineSatellite<number, number>({ type: "echo", concurrency: 8, handle: async (n) => n }),
      { endpoint: frontends, id: "s1", location: [["host", "h1"]], heartbeatMs: 200, log: () => {} },
    );
    cleanups.push(() => satellite.stop());
    const client = await connect(frontends, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    for (let n = 0; n < 5; n++) expect(await client.request("echo", n)).toBe(n);

    const first = serving(members) as Member;
    const leaderText = await scrape(first.server);
    expect(value(leaderText, "dsat_raft_leader")).toBe(1);
    expect(value(leaderText, "dsat_raft_serving")).toBe(1);
    expect(value(leaderText, "dsat_raft_role", { role: "leader" })).toBe(1);
    expect(value(leaderText, "dsat_raft_role", { role: "follower" })).toBe(0);
    expect(value(leaderText, "dsat_raft_term")).toBeGreaterThan(0);
    expect(value(leaderText, "dsat_raft_commit_index")).toBeGreaterThan(0);
    expect(value(leaderText, "dsat_jobs_received_total", { type: "echo" })).toBeGreaterThanOrEqual(5);
    expect(value(leaderText, "dsat_jobs_finished_total", { type: "echo", outcome: "done" })).toBe(5);
    expect(value(leaderText, "dsat_metrics_read_errors_total")).toBeUndefined();
    const peers = leaderText.samples.filter((sample) => sample.name === "dsat_raft_peer_match_index");
    expect(peers.map((sample) => sample.labels.peer).sort()).toEqual(
      IDS.filter((id) => id !== first.node.id),
    );
    // One process_* family per scrape: the node's registry has them, the orchestrator's does not.
    expect(leaderText.samples.filter((sample) => sample.name === "process_start_time_seconds")).toHaveLength(
      1,
    );

    for (const member of members.values()) {
      if (member === first) continue;
      const follower = await scrape(member.server);
      expect(value(follower, "dsat_raft_leader")).toBe(0);
      expect(value(follower, "dsat_raft_serving")).toBe(0);
      expect(value(follower, "dsat_raft_role", { role: "follower" })).toBe(1);
      expect(value(follower, "dsat_raft_term")).toBe(value(leaderText, "dsat_raft_term"));
      expect(value(follower, "dsat_raft_commit_lag")).toBeGreaterThanOrEqual(0);
      expect(follower.samples.some((sample) => sample.name.startsWith("dsat_jobs_"))).toBe(false);
      expect(follower.samples.some((sample) => sample.name === "dsat_raft_peer_match_index")).toBe(false);
    }

    // The leader stops: another node leads, and its endpoint (unchanged) now has the job metrics.
    await first.node.stop();
    await until(() => serving(members) !== undefined, 20_000, "a new leader that serves");
    const second = serving(members) as Member;
    expect(second).not.toBe(first);
    for (let n = 0; n < 3; n++) expect(await client.request("echo", 100 + n)).toBe(100 + n);
    const after = await scrape(second.server);
    expect(value(after, "dsat_raft_leader")).toBe(1);
    expect(value(after, "dsat_raft_term")).toBeGreaterThan(value(leaderText, "dsat_raft_term") as number);
    expect(value(after, "dsat_raft_leaderships_total")).toBe(1);
    expect(value(after, "dsat_jobs_received_total", { type: "echo" })).toBeGreaterThanOrEqual(3);
    expect(value(after, "dsat_raft_peer_active", { peer: first.node.id })).toBe(0);
    // The stopped node's server still answers (it closes with the process): raft gauges, no jobs.
    const stopped = await scrape(first.server);
    expect(value(stopped, "dsat_raft_serving")).toBe(0);
    expect(stopped.samples.some((sample) => sample.name.startsWith("dsat_jobs_"))).toBe(false);
  }, 90_000);
});
