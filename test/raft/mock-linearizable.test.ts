// The real cluster's client history, checked for linearizability: three `dsat raft mock` processes on
// loopback, three clients doing puts (`append KEY VALUE`) and reads (`get KEY`, kept only when the node
// answered as leader) through whoever leads, while the leader is killed -9 mid-run. An append that timed
// out, was lost or whose connection died is pending (it may have taken effect, or not); a refusal
// (not-leader) never took effect and is left out.
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { Cleanups } from "../helpers/cleanups.ts";
import { freePorts } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { sleep } from "../helpers/wait.ts";
import type { KvOperation } from "./linearizability.ts";
import { checkKvHistory } from "./linearizability.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const temp = new TempDirs("dsat-raft-lin-");
const cleanups = new Cleanups();

afterEach(async () => {
  await cleanups.run();
  await temp.removeAll();
});

type Reply = Record<string, unknown> & { ok: boolean };

function command(port: number, line: string, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to "${line}" on ${port}`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${line}\n`));
    socket.on("data", (chunk: string) => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(JSON.parse(text.slice(0, end)) as Reply);
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // The node died with the command in hand: no answer will come.
    socket.on("close", () => {
      clearTimeout(timer);
      reject(new Error(`connection to ${port} closed`));
    });
  });
}

interface MockNode {
  id: string;
  port: number;
  child: ChildProcess;
}

async function startCluster(): Promise<MockNode[]> {
  const ports = await freePorts(6);
  const raftPorts = ports.slice(0, 3);
  const nodes: MockNode[] = [];
  for (let i = 0; i < 3; i += 1) {
    const dir = await temp.make();
    const others = raftPorts.filter((_, j) => j !== i).map(String);
    const args = ["--import", "tsx", cli, "raft", "mock", "-n", String(raftPorts[i]), "-b", ...others];
    args.push("-p", String(ports[3 + i]), "-r", "20", "-f", dir, "--tick-ms", "50", "--election-ticks", "6");
    args.push("--append-timeout-ms", "1500");
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "ignore", "ignore"] });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
    });
    nodes.push({ id: `127.0.0.1:${raftPorts[i]}`, port: ports[3 + i], child });
  }
  return nodes;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("dsat raft mock: linearizable client history across a leader kill -9", () => {
  test("three clients, puts and leader reads, the leader killed mid-run", async () => {
    const nodes = await startCluster();
    const live = new Set(nodes);
    let leader: MockNode | undefined;
    const findLeader = async () => {
      for (const node of live) {
        const status = await command(node.port, "status", 500).catch(() => undefined);
        if (status?.role === "leader" && live.has(node)) return node;
      }
      return undefined;
    };
    await waitFor(async () => (leader = await findLeader()) !== undefined, 15_000, "a leader");

    const history: KvOperation[] = [];
    const started = performance.now();
    const now = () => Math.round((performance.now() - started) * 1000) / 1000;
    let sequence = 0;
    let stop = false;
    let killedAt = -1;

    const client = async (id: number) => {
      while (!stop) {
        const target = leader;
        if (target === undefined || !live.has(target)) {
          leader = await findLeader();
          await sleep(20);
          continue;
        }
        const key = `k${sequence % 3}`;
        const isGet = sequence % 5 < 2;
        const value = `v${sequence++}`;
        const call = now();
        const reply = await command(target.port, isGet ? `get ${key}` : `append ${key} ${value}`, 3000).catch(
          () => undefined,
        );
        const ret = now();
        if (isGet) {
          // A read counts only from a node that answered as the leader (a follower's is knowingly stale).
          if (reply?.ok === true && reply.leader === target.id)
            history.push({
              client: id,
              input: { kind: "get", key },
              call,
              ret,
              output: reply.value as string | null,
            });
        } else if (reply?.ok === true) {
          history.push({ client: id, input: { kind: "put", key, value }, call, ret });
        } else if (reply?.error !== "not-leader") {
          history.push({ client: id, input: { kind: "put", key, value }, call }); // outcome unknown
        }
        if (reply?.ok !== true && leader === target) leader = await findLeader();
      }
    };

    const clients = [0, 1, 2].map((id) => client(id));
    await sleep(1500);
    const victim = leader as MockNode;
    const exited = new Promise((resolve) => victim.child.once("exit", resolve));
    killedAt = now();
    victim.child.kill("SIGKILL");
    live.delete(victim);
    await exited;
    await waitFor(
      async () => {
        const found = await findLeader();
        if (found !== undefined) leader = found;
        return found !== undefined;
      },
      15_000,
      "a new leader",
    );
    await sleep(2000);
    stop = true;
    await Promise.all(clients);

    const answered = history.filter((op) => op.ret !== undefined);
    expect(answered.filter((op) => op.call > killedAt).length).toBeGreaterThan(10);
    expect(answered.filter((op) => op.input.kind === "get").length).toBeGreaterThan(10);
    const result = checkKvHistory(history);
    expect(result.ok, result.ok === false ? result.report : "").toBe(true);
  }, 40_000);
});
