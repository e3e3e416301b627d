// Three `dsat raft mock` processes on loopback: appends through the leader, kill -9 of the leader, a
// new leader elected by the survivors, and every acknowledged append readable on both.
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { Cleanups } from "../helpers/cleanups.ts";
import { freePorts } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { sleep } from "../helpers/wait.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const temp = new TempDirs("dsat-raft-mock-");
const cleanups = new Cleanups();

afterEach(async () => {
  await cleanups.run();
  await temp.removeAll();
});

type Reply = Record<string, unknown> & { ok: boolean };

/** One command on a fresh connection; one JSON line back (or an error after timeoutMs). */
function command(port: number, line: string, timeoutMs = 3000): Promise<Reply> {
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
  });
}

/** Polls `probe` until it returns a value (not undefined); errors count as "not yet". */
async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface MockNode {
  id: string;
  commandPort: number;
  child: ChildProcess;
  stderr: string[];
}

async function startCluster(): Promise<MockNode[]> {
  const ports = await freePorts(6);
  const raftPorts = ports.slice(0, 3);
  const nodes: MockNode[] = [];
  for (let i = 0; i < 3; i += 1) {
    const dir = await temp.make();
    const others = raftPorts.filter((_, j) => j !== i).map(String);
    const args = ["--import", "tsx", cli, "raft", "mock", "-t", "active", "-n", String(raftPorts[i])];
    args.push("-b", ...others, "-p", String(ports[3 + i]), "-r", "10", "-l", "info", "-f", dir);
    args.push("--tick-ms", "50", "--election-ticks", "6");
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] });
    const node: MockNode = { id: `127.0.0.1:${raftPorts[i]}`, commandPort: ports[3 + i], child, stderr: [] };
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => node.stderr.push(chunk));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
    });
    nodes.push(node);
  }
  return nodes;
}

async function leaderOf(nodes: MockNode[], minTerm: number): Promise<{ node: MockNode; term: number }> {
  return eventually(
    async () => {
      for (const node of nodes) {
        const status = await command(node.commandPort, "status", 1000);
        if (status.role === "leader" && (status.term as number) > minTerm) {
          return { node, term: status.term as number };
        }
      }
      return undefined;
    },
    12_000,
    `a leader of a term above ${minTerm}`,
  );
}

describe("dsat raft mock: three processes", () => {
  test("a new leader after kill -9 of the leader, with every acknowledged append on the survivors", async () => {
    const nodes = await startCluster();
    const first = await leaderOf(nodes, 0);

    // A follower refuses and names the leader, once it has heard from it: a node learns the leader
    // from its first append, which may come just after the leader says it leads (leader null till then).
    const follower = nodes.find((node) => node !== first.node)!;
    const refused = await eventually(
      async () => {
        const reply = await command(follower.commandPort, "append x 1");
        return reply.leader === null ? undefined : reply;
      },
      5000,
      "the follower to know the leader",
    );
    expect(refused).toMatchObject({ ok: false, error: "not-leader", leader: first.node.id });

    const acked = new Map<string, string>();
    for (let i = 0; i < 25; i += 1) {
      const reply = await command(first.node.commandPort, `append key${i} value ${i}`);
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
      acked.set(`key${i}`, `value ${i}`);
    }
    const log = await command(first.node.commandPort, "log");
    expect((log.snapshot as { index: number }).index).toBeGreaterThan(1); // -r 10: log reduction ran

    const exited = new Promise((resolve) => first.node.child.once("exit", resolve));
    first.node.child.kill("SIGKILL");
    await exited;
    const survivors = nodes.filter((node) => node !== first.node);
    const second = await leaderOf(survivors, first.term);

    const after = await command(second.node.commandPort, "append after kill");
    expect(after).toMatchObject({ ok: true });
    acked.set("after", "kill");
    for (const node of survivors) {
      for (const [key, value] of acked) {
        await eventually(
          async () => {
            const reply = await command(node.commandPort, `get ${key}`, 1000);
            return reply.value === value ? true : undefined;
          },
          5000,
          `${key} on ${node.id}`,
        );
      }
    }
    const status = await command(second.node.commandPort, "status");
    expect(status).toMatchObject({ role: "leader", leader: second.node.id });
  }, 30_000);
});
