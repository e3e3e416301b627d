// A dsat fleet across network namespaces (test/multihost/netns.ts): the orchestrator in its own
// namespace `orch`, and each host in its own, running its satellites under its own pm2 (its own
// PM2_HOME) started the documented way: `DSAT_HOST=<host> dsat up TOPOLOGY` inside the host.
// The test process (root namespace) reaches the orchestrator by address through the bridge.
// CURVE is on, with one key bundle per host (generateHostKeys, as `dsat keys gen --host`) in the
// orchestrator's satellite allow-list, and a client key for the test.
// stop() kills every pm2 daemon (`pm2 kill` with its PM2_HOME), the orchestrator, whatever is
// left in the namespaces, the namespaces, and the temp dir.
import { type ChildProcess, execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Client, type ClientOptions, connect, controlRequest } from "../../src/client/index.ts";
import {
  type CurveOptions,
  generateHostKeys,
  generateKeyFiles,
  hostKeyName,
} from "../../src/security/index.ts";
import { Network } from "./netns.ts";

export const root = resolve(import.meta.dirname, "../..");
const dsat = join(root, "bin/dsat");
const pm2Bin = join(root, "node_modules/pm2/bin/pm2");

export interface FleetOptions {
  /** Rack -> its hosts (names of 1-12 of a-z, 0-9). */
  racks: Record<string, string[]>;
  heartbeatMs: number;
  /** Extra orchestrator settings (tracker, limits...). */
  orchestrator?: Record<string, unknown>;
}

export interface Endpoints {
  frontend: string;
  events: string;
  control: string;
}

export function execAsync(
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { env: options.env, timeout: options.timeoutMs, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}

export class Fleet {
  readonly network = new Network();
  readonly dir = mkdtempSync(join(tmpdir(), "dsat-multihost-"));
  readonly topologyFile = join(this.dir, "topology.json");
  readonly endpoints: Endpoints;
  readonly hosts: string[];
  /** The test's client keys (allowed in the clients directory). */
  readonly curve: CurveOptions;
  /** The orchestrator's stdout and stderr lines. */
  readonly orchestratorLog: string[] = [];
  private orchestrator: ChildProcess | null = null;
  private readonly homes = new Map<string, string>();

  constructor(readonly options: FleetOptions) {
    const orch = this.network.addHost("orch");
    this.hosts = Object.values(options.racks).flat();
    for (const host of this.hosts) this.network.addHost(host);
    this.network.pinNeighbours();
    const at = (port: number) => `tcp://${orch.address}:${port}`;
    // A namespace of our own: every port is free.
    this.endpoints = { frontend: at(5555), events: at(5557), control: at(5558) };
    const keys = join(this.dir, "keys");
    const server = generateKeyFiles("orchestrator", keys);
    const client = generateKeyFiles("client-test", join(keys, "clients"));
    this.curve = {
      serverPublicKey: server.publicKey,
      publicKey: client.publicKey,
      secretKey: client.secretKey,
    };
    const satelliteTypes: Record<string, string[]> = {};
    for (const host of this.hosts) {
      generateHostKeys({
        host,
        dir: join(keys, "hosts", host),
        allowDir: join(keys, "satellites"),
        serverPublicKeyFile: server.pubFile,
      });
      satelliteTypes[hostKeyName(host)] = ["work"];
    }
    const hosts: Record<string, { rack: string }> = {};
    for (const [rack, names] of Object.entries(options.racks)) for (const h of names) hosts[h] = { rack };
    writeFileSync(
      this.topologyFile,
      JSON.stringify({
        orchestrator: {
          ...this.endpoints,
          intake: at(5556),
          security: {
            serverKey: "keys/orchestrator.key",
            clients: "keys/clients",
            satellites: "keys/satellites",
            satelliteTypes,
          },
          heartbeatMs: options.heartbeatMs,
          ...options.orchestrator,
        },
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

  /** `dsat orchestrator` in namespace `orch` (directly, not under pm2); resolves once it answers. */
  async startOrchestrator(): Promise<void> {
    const child = this.network.spawn(
      "orch",
      process.execPath,
      [dsat, "orchestrator", "--topology", this.topologyFile],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.orchestrator = child;
    for (const stream of [child.stdout, child.stderr]) {
      let rest = "";
      stream?.on("data", (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split("\n");
        rest = parts.pop() ?? "";
        this.orchestratorLog.push(...parts);
      });
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`orchestrator exited: ${this.orchestratorLog.join("\n")}`);
      try {
        await controlRequest(this.endpoints.control, "ping", 1000, this.curve);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  }

  home(host: string): string {
    return join(this.dir, `pm2-${host}`);
  }

  /**
   * `DSAT_HOST=<host> dsat up TOPOLOGY` inside the host's namespace, with its own PM2_HOME: its pm2
   * daemon (and so every satellite of the host) runs in that namespace. Resolves with dsat up's
   * output once it exits (0: every satellite of the host online and registered).
   */
  async up(host: string, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    const home = this.home(host);
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
      {
        env: {
          ...process.env,
          DSAT_HOST: host,
          DSAT_KEY: this.hostKeyFile(host),
          DSAT_PM2_HOME: home,
          PM2_HOME: home,
        },
        timeoutMs,
      },
    );
  }

  /** `dsat status --json` run on `host` (its namespace, its PM2_HOME, its key). */
  async status(host: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return execAsync(
      "ip",
      [
        "netns",
        "exec",
        this.network.host(host).ns,
        process.execPath,
        dsat,
        "status",
        this.topologyFile,
        "--json",
      ],
      {
        env: {
          ...process.env,
          DSAT_KEY: this.hostKeyFile(host),
          DSAT_PM2_HOME: this.home(host),
          PM2_HOME: this.home(host),
        },
        timeoutMs: 30_000,
      },
    );
  }

  /** The host's own satellite key (its bundle is all a host gets). */
  hostKeyFile(host: string): string {
    return join(this.dir, "keys", "hosts", host, `${hostKeyName(host)}.key`);
  }

  /** A client of the orchestrator (CURVE, the test's key). */
  connect(options: Omit<ClientOptions, "protocol" | "curve"> = {}): Promise<Client> {
    return connect(this.endpoints.frontend, { ...options, protocol: "dsat", curve: this.curve });
  }

  /** The host's satellite log lines (pm2's out and error logs of its `dsat-sat-*` apps). */
  satelliteLog(host: string): string[] {
    const dir = join(this.home(host), "logs");
    if (!existsSync(dir)) return [];
    // pm2 names them <app>-out-<pm id>.log (or without the id).
    const file = new RegExp(`^dsat-sat-work-${host}-(out|error)(-\\d+)?\\.log$`);
    return readdirSync(dir)
      .filter((name) => file.test(name))
      .flatMap((name) => readFileSync(join(dir, name), "utf8").split("\n"))
      .filter((line) => line !== "");
  }

  /** Ids of the registered satellites, sorted. */
  async registered(): Promise<string[]> {
    const reply = (await controlRequest(this.endpoints.control, "satellites", 2000, this.curve)) as {
      satellites?: Array<{ id: string }>;
    };
    return (reply.satellites ?? []).map((s) => s.id).sort();
  }

  async stop(): Promise<void> {
    // Every pm2 daemon we started, by its PM2_HOME (its apps get SIGTERM and drain).
    await Promise.all(
      [...this.homes.values()].map((home) =>
        execAsync(process.execPath, [pm2Bin, "kill"], {
          env: { ...process.env, PM2_HOME: home },
          timeoutMs: 20_000,
        }),
      ),
    );
    const orchestrator = this.orchestrator;
    if (orchestrator !== null && orchestrator.exitCode === null) {
      const exited = new Promise((done) => orchestrator.once("exit", done));
      orchestrator.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
    }
    // Anything still in our namespaces is killed with them.
    this.network.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
