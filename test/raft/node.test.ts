// RaftNode in process: three nodes on real disk storage and real ZeroMQ sockets. Elections, proposals
// applied everywhere, log reduction, a late node caught up by InstallSnapshot, and a restart from disk.
import { afterEach, describe, expect, test } from "vitest";
import type { Entry, Snapshot } from "../../src/raft/index.ts";
import { makeConfig, seededRandom } from "../../src/raft/index.ts";
import { DiskStorage, RaftNode } from "../../src/raft/node/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { until } from "../helpers/wait.ts";

const temp = new TempDirs("dsat-raft-node-");
const cleanups = new Cleanups();
afterEach(async () => {
  await cleanups.run();
  await temp.removeAll();
});

const ids = ["n1", "n2", "n3"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A state machine that keeps the applied commands, in order. */
class Applied {
  values: string[] = [];
  apply = (entry: Entry) => {
    if (entry.kind === "normal") this.values.push(decoder.decode(entry.data));
  };
  restore = (snapshot: Snapshot) => {
    this.values = snapshot.data.length === 0 ? [] : (JSON.parse(decoder.decode(snapshot.data)) as string[]);
  };
  take = () => encoder.encode(JSON.stringify(this.values));
}

interface Member {
  id: string;
  dir: string;
  node: RaftNode;
  state: Applied;
}

async function startMember(
  id: string,
  dir: string,
  endpoints: Record<string, string>,
  seed: number,
): Promise<Member> {
  const storage = await DiskStorage.open(dir, { bootstrap: makeConfig(ids, []), log: () => {} });
  const state = new Applied();
  const node = await RaftNode.start({
    raft: { id, electionTicks: 10, heartbeatTicks: 1 },
    storage,
    bind: endpoints[id],
    peers: Object.fromEntries(ids.filter((other) => other !== id).map((other) => [other, endpoints[other]])),
    tickMs: 20,
    random: seededRandom(seed),
    apply: state.apply,
    restore: state.restore,
    takeSnapshot: state.take,
    snapshotEvery: 10,
    keepEntries: 3,
  });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await node.stop();
  });
  const member = { id, dir, node, state };
  const stop = node.stop.bind(node);
  node.stop = async () => {
    stopped = true;
    await stop();
  };
  return member;
}

async function leaderAmong(members: Member[]): Promise<Member> {
  let leader: Member | undefined;
  await until(
    () => {
      leader = members.find((member) => member.node.raft.role === "leader");
      return leader !== undefined;
    },
    10_000,
    "a leader",
  );
  return leader!;
}

async function proposeAll(leader: Member, values: string[]): Promise<void> {
  for (const value of values) {
    const proposal = leader.node.propose(encoder.encode(value));
    if (!proposal.ok) throw new Error(`refused: ${proposal.reason}`);
    await proposal.applied;
  }
}

describe("RaftNode", () => {
  test("a node started late catches up by InstallSnapshot after log reduction; a restarted one from its disk", async () => {
    const endpointList = await freeEndpoints(3);
    const endpoints = Object.fromEntries(ids.map((id, i) => [id, endpointList[i]]));
    const dirs = await Promise.all(ids.map(() => temp.make()));
    const first = [
      await startMember("n1", dirs[0], endpoints, 1),
      await startMember("n2", dirs[1], endpoints, 2),
    ];
    const leader = await leaderAmong(first);
    const values = Array.from({ length: 40 }, (_, i) => `v${i}`);
    await proposeAll(leader, values);
    expect(leader.node.counters.snapshotsTaken).toBeGreaterThan(0);
    expect(leader.node.storage.firstIndex()).toBeGreaterThan(2); // compacted past what n3 needs

    const late = await startMember("n3", dirs[2], endpoints, 3);
    await until(() => late.state.values.length === values.length, 10_000, "n3 to catch up");
    expect(late.state.values).toEqual(values);
    expect(late.node.counters.snapshotsInstalled).toBeGreaterThan(0);

    // Restart a follower from its directory: snapshot restored, the rest replayed and learnt again.
    const follower = first.find((member) => member !== leader)!;
    await follower.node.stop();
    await proposeAll(leader, ["while-down"]);
    const again = await startMember(follower.id, follower.dir, endpoints, 4);
    await until(() => again.state.values.length === values.length + 1, 10_000, "the restarted follower");
    expect(again.state.values).toEqual([...values, "while-down"]);
  }, 30_000);

  test("a follower refuses proposals and names the leader", async () => {
    const endpointList = await freeEndpoints(3);
    const endpoints = Object.fromEntries(ids.map((id, i) => [id, endpointList[i]]));
    const members = await Promise.all(
      ids.map(async (id, i) => startMember(id, await temp.make(), endpoints, 10 + i)),
    );
    const leader = await leaderAmong(members);
    const follower = members.find((member) => member !== leader)!;
    await until(() => follower.node.raft.leader === leader.id, 5000, "the follower to know the leader");
    const proposal = follower.node.propose(encoder.encode("x"));
    expect(proposal).toMatchObject({ ok: false, reason: "not-leader", leader: leader.id });
  }, 20_000);
});
