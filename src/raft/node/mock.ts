// `dsat raft mock`: pyraftlog-mock's equivalent, a replicated key/value log anyone can start three times
// on localhost and poke at (docs/raft.md, "dsat raft mock").
//
// Node ids are the nodes' Raft addresses ("127.0.0.1:7001"), as in pyraftlog; every node named at start
// (itself and its neighbours) is a founding voter. The command port is a line protocol over TCP, so
// `nc 127.0.0.1 7101` is a client: one command per line, one JSON line back per command.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { readKeyPair, readPublicKey } from "../../security/index.ts";
import type { Entry, Mode, Snapshot } from "../index.ts";
import { makeConfig } from "../index.ts";
import { pack, unpack } from "./codec.ts";
import { DiskStorage } from "./disk-storage.ts";
import { ProposalLost, RaftNode } from "./node.ts";
import type { TransportCurve } from "./transport.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const MODES: readonly Mode[] = ["active", "reluctant", "passive"];

export interface MockOptions {
  mode: Mode;
  /** This node's Raft address: PORT or HOST:PORT (host defaults to 127.0.0.1). */
  node: string;
  neighbours: string[];
  /** The command port (on 127.0.0.1), or HOST:PORT. */
  commandPort: string;
  /** Snapshot and compact every this many applied entries (0: no log reduction). */
  reduction: number;
  level: LogLevel;
  dir: string;
  tickMs: number;
  electionTicks: number;
  /** How long `append` waits for its entry to be applied (ms). */
  appendTimeoutMs: number;
  /**
   * CURVE between the nodes: this directory holds PORT.key for this node and PORT.pub for each neighbour
   * (`dsat keys gen PORT --dir DIR`). Undefined: plain TCP.
   */
  curveDir?: string;
  /** The node stopped on a storage failure or a bug (the CLI exits with 1). */
  onFatal?: (error: Error) => void;
}

export class MockUsageError extends Error {
  override name = "MockUsageError";
}

/** "7001" or "host:7001" → "host:7001" (host 127.0.0.1 by default); throws MockUsageError otherwise. */
export function normaliseAddress(text: string, what: string): string {
  const match = /^(?:([A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new MockUsageError(`${what} "${text}": expected PORT or HOST:PORT with a port from 1 to 65535`);
  }
  return `${match[1] ?? "127.0.0.1"}:${port}`;
}

/** The key/value state machine: commands are MessagePack ["set", key, value]. */
class KeyValues {
  map = new Map<string, string>();

  apply(entry: Entry): void {
    if (entry.kind !== "normal") return;
    const command = decodeCommand(entry.data);
    if (command !== undefined) this.map.set(command.key, command.value);
  }

  snapshot(): Uint8Array {
    return pack([...this.map]);
  }

  restore(snapshot: Snapshot): void {
    this.map = new Map();
    if (snapshot.data.length === 0) return;
    const pairs = unpack(snapshot.data);
    if (!Array.isArray(pairs)) return;
    for (const pair of pairs) {
      if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") {
        this.map.set(pair[0], pair[1]);
      }
    }
  }
}

function decodeCommand(data: Uint8Array): { key: string; value: string } | undefined {
  try {
    const value = unpack(data);
    if (
      Array.isArray(value) &&
      value[0] === "set" &&
      typeof value[1] === "string" &&
      typeof value[2] === "string"
    ) {
      return { key: value[1], value: value[2] };
    }
  } catch {
    // not ours: skipped
  }
  return undefined;
}

function describeEntry(entry: Entry): Record<string, unknown> {
  const base = { index: entry.index, term: entry.term, kind: entry.kind };
  if (entry.kind === "normal") {
    const command = decodeCommand(entry.data);
    return command === undefined ? { ...base, bytes: entry.data.length } : { ...base, ...command };
  }
  if (entry.kind === "config") return { ...base, change: entry.change, config: entry.config };
  return base;
}

type Reply = Record<string, unknown>;

export class RaftMock {
  private readonly sockets = new Set<net.Socket>();
  roleTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly node: RaftNode,
    private readonly server: net.Server,
    private readonly kv: KeyValues,
    private readonly options: MockOptions,
  ) {}

  static async start(options: MockOptions): Promise<RaftMock> {
    if (!MODES.includes(options.mode)) throw new MockUsageError(`-t must be one of ${MODES.join(", ")}`);
    if (!Number.isSafeInteger(options.reduction) || options.reduction < 0) {
      throw new MockUsageError("-r must be a number of entries, 0 or more");
    }
    const self = normaliseAddress(options.node, "-n");
    const neighbours = options.neighbours.map((n) => normaliseAddress(n, "-b")).filter((n) => n !== self);
    const command = normaliseAddress(options.commandPort, "-p");
    const log = logger(options.level, self);
    const curve = options.curveDir === undefined ? undefined : readCurve(options.curveDir, self, neighbours);
    const kv = new KeyValues();
    fs.mkdirSync(options.dir, { recursive: true });
    const storage = await DiskStorage.open(path.resolve(options.dir), {
      bootstrap: makeConfig([self, ...neighbours], []),
      log: (line) => log("warn", line),
    });
    let node: RaftNode;
    try {
      node = await RaftNode.start({
        raft: { id: self, mode: options.mode, electionTicks: options.electionTicks, heartbeatTicks: 1 },
        storage,
        bind: `tcp://${self}`,
        peers: Object.fromEntries(neighbours.map((n) => [n, `tcp://${n}`])),
        curve,
        tickMs: options.tickMs,
        apply: (entry) => kv.apply(entry),
        restore: (snapshot) => kv.restore(snapshot),
        takeSnapshot: () => kv.snapshot(),
        snapshotEvery: options.reduction,
        keepEntries: Math.min(100, options.reduction),
        onFatal: (error) => {
          log("error", `fatal: ${error.message}`);
          options.onFatal?.(error);
        },
        log: (line) => log("warn", line),
      });
    } catch (error) {
      await storage.close();
      throw error;
    }
    const [host, port] = command.split(":");
    const server = net.createServer();
    const mock = new RaftMock(node, server, kv, options);
    server.on("connection", (socket) => mock.serve(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port: Number(port), exclusive: true }, () => resolve());
      });
    } catch (error) {
      await node.stop();
      throw error;
    }
    log(
      "info",
      `node ${self} (${options.mode}${curve === undefined ? "" : ", CURVE"}) up; neighbours ${neighbours.join(" ") || "none"}; commands on ${command}`,
    );
    let lastRole = "";
    mock.roleTimer = setInterval(() => {
      const status = node.raft.status();
      const role = `${status.role}/${status.term}/${status.leader ?? "-"}`;
      if (role !== lastRole)
        log("info", `role ${status.role}, term ${status.term}, leader ${status.leader ?? "none"}`);
      lastRole = role;
    }, 200).unref();
    return mock;
  }

  private serve(socket: net.Socket): void {
    let buffered = "";
    let chain = Promise.resolve();
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > 1024 * 1024) {
        socket.end(`${JSON.stringify({ ok: false, error: "line too long" })}\n`);
        return;
      }
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === "") continue;
        // Replies in request order, one line each.
        chain = chain.then(async () => {
          const reply = await this.command(line.trim()).catch((error: Error) => ({
            ok: false,
            error: error.message,
          }));
          if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  }

  /** One command line → one reply (also usable in process). */
  async command(line: string): Promise<Reply> {
    const [verb, ...args] = line.split(/\s+/);
    switch (verb) {
      case "append": {
        if (args.length < 2) return { ok: false, error: "usage: append KEY VALUE" };
        const [key, ...rest] = args;
        return this.append(key, rest.join(" "));
      }
      case "get": {
        if (args.length !== 1) return { ok: false, error: "usage: get KEY" };
        const value = this.kv.map.get(args[0]);
        return {
          ok: true,
          key: args[0],
          value: value ?? null,
          applied: this.node.applied,
          leader: this.node.raft.leader,
        };
      }
      case "log":
        return this.log();
      case "status":
        return this.status();
      case "mode": {
        const mode = args[0] as Mode;
        if (args.length !== 1 || !MODES.includes(mode))
          return { ok: false, error: `usage: mode ${MODES.join("|")}` };
        this.node.setMode(mode);
        return { ok: true, mode };
      }
      case "transfer": {
        if (args.length !== 1) return { ok: false, error: "usage: transfer NODE" };
        let target: string;
        try {
          target = normaliseAddress(args[0], "NODE");
        } catch (error) {
          return { ok: false, error: (error as Error).message };
        }
        const result = this.node.transferLeadership(target);
        return result.ok
          ? { ok: true, to: target }
          : { ok: false, error: result.reason, leader: this.node.raft.leader };
      }
      default:
        return {
          ok: false,
          error: `unknown command "${verb}": append KEY VALUE, get KEY, log, status, mode M, transfer NODE`,
        };
    }
  }

  private async append(key: string, value: string): Promise<Reply> {
    const proposal = this.node.propose(pack(["set", key, value]));
    if (!proposal.ok) return { ok: false, error: proposal.reason, leader: proposal.leader };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.options.appendTimeoutMs);
    });
    try {
      const outcome = await Promise.race([proposal.applied, timeout]);
      if (outcome === "timeout") {
        return {
          ok: false,
          error: "timeout: not applied in time (it may still commit)",
          index: proposal.index,
        };
      }
      return { ok: true, index: proposal.index, term: proposal.term };
    } catch (error) {
      if (error instanceof ProposalLost) return { ok: false, error: error.message, index: proposal.index };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private log(): Reply {
    const storage = this.node.storage;
    const last = Math.min(this.node.applied, storage.lastIndex());
    const first = Math.max(storage.firstIndex(), last - 999);
    const entries = first <= last ? storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
    const snapshot = storage.snapshot();
    return {
      ok: true,
      snapshot: { index: snapshot.index, term: snapshot.term, keys: this.kv.map.size },
      entries: entries.map(describeEntry),
    };
  }

  private status(): Reply {
    const status = this.node.status();
    return {
      ok: true,
      id: status.id,
      role: status.role,
      mode: status.mode,
      term: status.term,
      commit: status.commit,
      applied: status.applied,
      leader: status.leader,
      firstIndex: status.firstIndex,
      lastIndex: status.lastIndex,
      snapshot: this.node.storage.snapshot().index,
      voters: status.config.voters,
      droppedMessages: status.droppedMessages,
      transport: this.node.transportStats,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.roleTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.node.stop();
  }
}

/** PORT.key for `self`, PORT.pub for each neighbour; a missing or bad file is a KeyFileError naming it. */
function readCurve(dir: string, self: string, neighbours: string[]): TransportCurve {
  const port = (address: string) => address.split(":")[1];
  const own = readKeyPair(path.join(dir, `${port(self)}.key`));
  const peers = Object.fromEntries(
    neighbours.map((n) => [n, readPublicKey(path.join(dir, `${port(n)}.pub`))]),
  );
  return { ...own, peers };
}

function logger(level: LogLevel, id: string): (at: LogLevel, line: string) => void {
  const threshold = LOG_LEVELS.indexOf(level);
  return (at, line) => {
    if (LOG_LEVELS.indexOf(at) >= threshold)
      process.stderr.write(`${new Date().toISOString()} ${at} ${id}: ${line}\n`);
  };
}
