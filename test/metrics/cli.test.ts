// The wiring: `dsat orchestrator` serves /metrics when the topology's orchestrator.metrics or
// --metrics says so (the flag wins), refuses a non-loopback address before binding anything, and
// closes it on SIGTERM. Real processes, started and killed by PID.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, runDsat } from "../cli/helpers.ts";
import { freePorts } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { until } from "../helpers/wait.ts";

const temp = new TempDirs("dsat-metrics-cli-");
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await temp.removeAll();
});

async function topologyFile(orchestrator: Record<string, unknown>): Promise<string> {
  const [frontend] = await freePorts(1);
  const file = join(await temp.make(), "topology.json");
  writeFileSync(
    file,
    JSON.stringify({
      orchestrator: { frontend: `tcp://127.0.0.1:${frontend}`, ...orchestrator },
      hierarchy: ["host"],
      hosts: { h1: {} },
      types: { echo: { module: join(ROOT, "satellites/echo.ts") } },
    }),
  );
  return file;
}

/** `dsat orchestrator`, with its stdout lines gathered. */
function orchestrator(args: string[]): {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["bin/dsat", "orchestrator", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n")));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, lines, exited };
}

describe("dsat orchestrator --metrics", () => {
  it("serves the topology's metrics address, and closes it on SIGTERM", async () => {
    const [port] = await freePorts(1);
    const file = await topologyFile({ metrics: `127.0.0.1:${port}` });
    const { child, lines, exited } = orchestrator(["-t", file]);
    const url = `http://127.0.0.1:${port}/metrics`;
    await until(() => lines.some((line) => line.includes(`metrics at ${url}`)), 20_000, "the metrics line");
    const text = await (await fetch(url)).text();
    expect(text).toContain('dsat_satellites{state="ready"} 0');
    expect(text).toContain("dsat_job_types_known 1");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  }, 30_000);

  it("takes --metrics over the topology's", async () => {
    const [topologyPort, flagPort] = await freePorts(2);
    const file = await topologyFile({ metrics: `127.0.0.1:${topologyPort}` });
    const { child, lines, exited } = orchestrator(["-t", file, "--metrics", `localhost:${flagPort}`]);
    await until(() => lines.some((line) => line.includes("metrics at ")), 20_000, "the metrics line");
    expect(lines.find((line) => line.includes("metrics at "))).toContain(
      `http://localhost:${flagPort}/metrics`,
    );
    expect((await fetch(`http://localhost:${flagPort}/metrics`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${topologyPort}/metrics`)).rejects.toThrow();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 30_000);

  it("refuses a non-loopback address in one line, before binding anything", async () => {
    const file = await topologyFile({});
    const result = await runDsat(["orchestrator", "-t", file, "--metrics", "0.0.0.0:9464"], 20_000);
    expect(result.code).toBe(1);
    expect(result.stderr.toString()).toMatch(
      /^dsat: metrics: 0\.0\.0\.0:9464 binds every interface.*--insecure-metrics/,
    );
    const topology = await topologyFile({ metrics: "192.0.2.7:9464" });
    const fromTopology = await runDsat(["orchestrator", "-t", topology], 20_000);
    expect(fromTopology.code).toBe(1);
    expect(fromTopology.stderr.toString()).toMatch(/192\.0\.2\.7:9464 is reachable from other hosts/);
  }, 30_000);

  it("checks the topology's metrics field like the others", async () => {
    for (const [metrics, why] of [
      ["127.0.0.1:65536", "an address host:port"],
      ["tcp://127.0.0.1:9464", "an address host:port"],
      [9464, "an address host:port"],
    ] as const) {
      const file = await topologyFile({ metrics });
      const result = await runDsat(["topology", "check", file], 20_000);
      expect(result.code, String(metrics)).toBe(1);
      expect(result.stderr.toString()).toContain(`/orchestrator/metrics: expected ${why}`);
    }
    const insecure = await topologyFile({ insecureMetrics: "yes" });
    const result = await runDsat(["topology", "check", insecure], 20_000);
    expect(result.stderr.toString()).toContain("/orchestrator/insecureMetrics: expected a boolean");
  }, 60_000);
});
