// A cluster of real processes for end-to-end tests: a topology written to a temp dir with free
// loopback ports, `dsat orchestrator` and `dsat satellite` started from the CLI, and cleanup of
// every process the test started (by PID) and of the temp dir.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { controlRequest } from "../../src/client/index.ts";
import { freePorts } from "../helpers/ports.ts";
import { THREE_HOSTS } from "../helpers/topology.ts";

export const root = resolve(import.meta.dirname, "../..");
export const dsat = join(root, "bin/dsat");

export interface Endpoints {
  frontend: string;
  intake: string;
  events: string;
  control: string;
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), "dsat-e2e-"));
  readonly topologyFile = join(this.dir, "topology.json");
  readonly processes = new Map<string, ChildProcess>();
  endpoints!: Endpoints;

  /** Writes the topology (its `orchestrator` endpoints are filled in with free ports). */
  async write(topology: { orchestrator?: Record<string, unknown> } & Record<string, unknown>): Promise<void> {
    const [frontend, intake, events, control] = await freePorts(4);
    this.endpoints = {
      frontend: `tcp://127.0.0.1:${frontend}`,
      intake: `tcp://127.0.0.1:${intake}`,
      events: `tcp://127.0.0.1:${events}`,
      control: `tcp://127.0.0.1:${control}`,
    };
    writeFileSync(
      this.topologyFile,
      JSON.stringify({ ...topology, orchestrator: { ...topology.orchestrator, ...this.endpoints } }),
    );
  }

  /** Standard output lines of the processes started with `captureOutput`, by name. */
  readonly output = new Map<string, string[]>();

  start(name: string, args: string[], env: Record<string, string> = {}, captureOutput = false): ChildProcess {
    const child = spawn(process.execPath, [dsat, ...args, "--topology", this.topologyFile], {
      cwd: root,
      env: { ...process.env, DSAT_TEST_DIR: this.dir, DSAT_CSV: join(this.dir, "measurements.csv"), ...env },
      stdio: ["ignore", captureOutput ? "pipe" : "ignore", "inherit"],
    });
    if (captureOutput) {
      const lines: string[] = [];
      this.output.set(name, lines);
      let rest = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        const text = rest + chunk.toString();
        const parts = text.split("\n");
        rest = parts.pop() ?? "";
        lines.push(...parts);
      });
    }
    this.processes.set(name, child);
    return child;
  }

  /** `dsat satellite MODULE --host H` on each of `hosts`, each process named NAME@H. */
  startSatellites(
    name: string,
    module: string,
    hosts: readonly string[] = THREE_HOSTS,
    env: Record<string, string> = {},
  ): void {
    for (const host of hosts) this.start(`${name}@${host}`, ["satellite", module, "--host", host], env);
  }

  /** Ids of the registered satellites, sorted. */
  async registered(): Promise<string[]> {
    const status = (await controlRequest(this.endpoints.control, "satellites")) as {
      satellites: Array<{ id: string }>;
    };
    return status.satellites.map((satellite) => satellite.id).sort();
  }

  async status(): Promise<{
    stats: Record<string, Record<string, number>>;
    tracker: Record<string, unknown>;
  }> {
    return (await controlRequest(this.endpoints.control, "status")) as {
      stats: Record<string, Record<string, number>>;
      tracker: Record<string, unknown>;
    };
  }

  // Generous bounds: CI machines run several suites of real processes at once, and a cold tsx
  // start of seven processes on two busy cores takes seconds.
  async waitForSatellites(count: number): Promise<void> {
    await waitUntil(
      `${count} satellites to register`,
      async () => {
        try {
          return (await this.registered()).length === count;
        } catch {
          return false;
        }
      },
      60_000,
    );
  }

  /** Waits until the orchestrator answers on its control socket (start satellites after this). */
  async waitForOrchestrator(): Promise<void> {
    await waitUntil(
      "the orchestrator to answer",
      async () => {
        try {
          await controlRequest(this.endpoints.control, "satellites", 1_000);
          return true;
        } catch {
          return false;
        }
      },
      60_000,
    );
  }

  stop(): void {
    for (const child of this.processes.values()) if (child.exitCode === null) child.kill("SIGKILL");
    this.processes.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((done) => child.once("exit", done));
}
