// Replicated orchestrators across network namespaces (test/multihost/netns.ts): three orchestrator
// nodes, each in its own namespace (its own host, its own address), run by hand as
// `dsat orchestrator --node ID`; satellite hosts each with their own pm2 (`DSAT_HOST=<host> dsat up`);
// the test process reaches every node's frontend, control and admin socket through the bridge.
// The topology sets `insecureControl` so that control and admin bind the namespace's address (they
// bind beyond loopback only with it, or with CURVE).
// stop() kills every pm2 daemon, the nodes, whatever is left in the namespaces, the namespaces and
// the temp dir.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Client, type ClientOptions, connect, controlRequest } from "../../src/client/index.ts";
import { execAsync, root } from "./fleet.ts";
import { Network } from "./netns.ts";

const dsat = join(root, "bin/dsat");
const pm2Bin = join(root, "node_modules/pm2/bin/pm2");

export interface ReplicatedFleetOptions {
  /** Orchestrator node ids, each on a host of the same name. */
  nodes: string[];
  /** Rack -> its satellite hosts. */
  racks: Record<string, string[]>;
  heartbeatMs: number;
  /** Extra shared orchestrator settings (tracker, limits...). */
  orchestrator?: Record<string, unknown>;
}

export interface NodeEndpoints {
  raft: string;
  frontend: string;
  events: string;
  control: string;
  admin: string;
}

/** One line of a node's output, with this process's arrival time (the pipe does not cross the bridge). */
export interface NodeLine {
  at: number;
  text: string;
}

/** What a node's admin socket answers to orch-status (OrchestratorNodeStatus). */
export interface NodeStatus {
  id: string;
  role: string;
  term: number;
  leader: string | null;
  commit: number;
  applied: number;
  lag: number;
  serving: boolean;
  health: "green" | "yellow" | "red";
}

export class ReplicatedFleet {
  readonly network = new Network();
  readonly dir = mkdtempSync(join(tmpdir(), "dsat-multihost-raft-"));
  readonly topologyFile = join(this.dir, "topology.json");
  readonly nodes: Record<string, NodeEndpoints> = {};
  readonly hosts: string[];
  readonly output = new Map<string, NodeLine[]>();
  private readonly processes = new Map<string, ChildProcess>();
  private readonly homes = new Map<string, string>();

  constructor(readonly options: ReplicatedFleetOptions) {
    this.hosts = Object.values(options.racks).flat();
    for (const id of options.nodes) {
      const address = this.network.addHost(id).address;
      const at = (port: number) => `tcp://${address}:${port}`;
      // Each node has a namespace of its own: the same ports everywhere.
      this.nodes[id] = {
        raft: at(5601),
        frontend: at(5611),
        events: at(5613),
        control: at(5614),
        admin: at(5615),
      };
    }
    for (const host of this.hosts) this.network.addHost(host);
    this.network.pinNeighbours();
    const hosts: Record<string, { rack: string }> = {};
    for (const [rack, names] of Object.entries(options.racks)) for (const h of names) hosts[h] = { rack };
    writeFileSync(
      this.topologyFile,
      JSON.stringify({
        orchestrator: {
          heartbeatMs: options.heartbeatMs,
          insecureControl: true,
          journal: { dir: join(this.dir, "data"), recoveryMs: 1000 },
          ...options.orchestrator,
        },
        orchestrators: options.nodes.map((id) => ({ id, ...this.nodes[id] })),
        hierarchy: ["rack", "host"],
        hosts,
        types: {
          work: {
            module: join(root, "test/multihost/satellites/work.ts"),
            replicas: Object.keys(options.racks).length,
            failureDomain: "rack",
            concurrency: 8,
            timeoutMs: 30_000,
          },
        },
      }),
    );
  }

  /** Every node's frontend, comma-separated (what clients and satellites are given). */
  get frontends(): string {
    return this.options.nodes.map((id) => this.nodes[id].frontend).join(",");
  }

  get controls(): string {
    return this.options.nodes.map((id) => this.nodes[id].control).join(",");
  }

  get eventEndpoints(): string {
    return this.options.nodes.map((id) => this.nodes[id].events).join(",");
  }

  /** `dsat orchestrator --node ID` in the node's namespace (directly, not under pm2). */
  startNode(id: string): void {
    const child = this.network.spawn(
      id,
      process.execPath,
      [dsat, "orchestrator", "--topology", this.topologyFile, "--node", id],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.processes.set(id, child);
    const lines: NodeLine[] = [];
    this.output.set(id, lines);
    for (const stream of [child.stdout, child.stderr]) {
      let rest = "";
      stream?.on("data", (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split("\n");
        rest = parts.pop() ?? "";
        const at = performance.now();
        for (const text of parts) lines.push({ at, text });
      });
    }
  }

  /** The first line of `id` matching `pattern` that arrived after `since`. */
  line(id: string, pattern: RegExp, since = 0): NodeLine | undefined {
    return (this.output.get(id) ?? []).find((line) => line.at >= since && pattern.test(line.text));
  }

  /** The node that last said it serves (highest term), or undefined. */
  leader(): { id: string; term: number; at: number } | undefined {
    let best: { id: string; term: number; at: number } | undefined;
    for (const [id, lines] of this.output)
      for (const { at, text } of lines) {
        const match = /leader of term (\d+), serving/.exec(text);
        if (match !== null && (best === undefined || Number(match[1]) > best.term))
          best = { id, term: Number(match[1]), at };
      }
    return best;
  }

  /** A node's orch-status through its admin socket, from this process (across the bridge). */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatus> {
    return (await controlRequest(this.nodes[id].admin, { cmd: "orch-status" }, timeoutMs)) as NodeStatus;
  }

  /** Runs `dsat ARGS` inside `host`'s namespace (its own view of the network) to the end. */
  dsatIn(host: string, args: string[], timeoutMs = 30_000) {
    return execAsync("ip", ["netns", "exec", this.network.host(host).ns, process.execPath, dsat, ...args], {
      env: { ...process.env, DSAT_TOPOLOGY: this.topologyFile },
      timeoutMs,
    });
  }

  /** `DSAT_HOST=<host> dsat up TOPOLOGY` inside the host's namespace, with its own PM2_HOME. */
  async up(host: string, timeoutMs = 60_000) {
    const home = join(this.dir, `pm2-${host}`);
    this.homes.set(host, home);
    return execAsync(
      "ip",
      [
        "netns",
        "exec",
        this.network.host(host).ns,
        process.execPath,
        dsat,
        "up",
        this.topologyFile,
        "--timeout",
        "45000",
      ],
      { env: { ...process.env, DSAT_HOST: host, DSAT_PM2_HOME: home, PM2_HOME: home }, timeoutMs },
    );
  }

  /** A client given every node's frontend (the failover contract, docs/raft.md). */
  connect(options: Omit<ClientOptions, "protocol"> = {}): Promise<Client> {
    return connect(this.frontends, { ...options, protocol: "dsat" });
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.homes.values()].map((home) =>
        execAsync(process.execPath, [pm2Bin, "kill"], {
          env: { ...process.env, PM2_HOME: home },
          timeoutMs: 20_000,
        }),
      ),
    );
    await Promise.all(
      [...this.processes.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
      }),
    );
    this.network.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
