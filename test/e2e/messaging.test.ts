// End to end with real processes: `dsat orchestrator` and `dsat satellite` started from the CLI on
// a topology written for the test (3 racks x 1 host, loopback ports), driven by the TS client and
// by `dsat publish`. Satellites are killed with SIGKILL and drained with SIGTERM for real.
import { type ChildProcess, execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, UnknownTypeError } from "../../src/client/index.ts";
import { THREE_RACKS } from "../helpers/topology.ts";
import { Cluster, dsat, exited, root, waitUntil } from "./harness.ts";

const cluster = new Cluster();
const processes = cluster.processes;
let client: Client;
let dir: string;
let topologyFile: string;

beforeAll(async () => {
  dir = cluster.dir;
  topologyFile = cluster.topologyFile;
  await cluster.write({
    orchestrator: { heartbeatMs: 200 },
    ...THREE_RACKS,
    types: {
      echo: { module: join(root, "satellites/echo.ts"), hosts: ["h1"] },
      slow: {
        module: join(root, "test/e2e/satellites/slow.ts"),
        replicas: 3,
        failureDomain: "rack",
        timeoutMs: 20_000,
      },
      measure: { module: join(root, "satellites/measure.ts"), hosts: ["h2"], next: "store" },
      store: { module: join(root, "satellites/store.ts"), hosts: ["h3"], replicas: 1 },
    },
  });
  cluster.start("orchestrator", ["orchestrator"]);
  await cluster.waitForOrchestrator();
  cluster.start("echo@h1", ["satellite", "satellites/echo.ts", "--host", "h1"]);
  cluster.startSatellites("slow", "test/e2e/satellites/slow.ts");
  cluster.start("measure@h2", ["satellite", "satellites/measure.ts", "--host", "h2"]);
  cluster.start("store@h3", ["satellite", "satellites/store.ts", "--host", "h3"]);
  await cluster.waitForSatellites(6);
  client = await connect(cluster.endpoints.frontend, {
    publish: cluster.endpoints.intake,
    events: cluster.endpoints.events,
  });
}, 150_000);

afterAll(async () => {
  await client?.close();
  cluster.stop();
});

const registered = () => cluster.registered();

describe("messaging core, end to end (real processes)", () => {
  it("request/reply: a job reaches a CRUSH-chosen satellite and returns", async () => {
    expect(await client.request("echo", { hello: "world", n: [1, 2, 3] })).toEqual({
      hello: "world",
      n: [1, 2, 3],
    });
    const result = await client.request<{ satellite: string }>("slow", { ms: 1 }, { key: "user-42" });
    expect(["slow@h1", "slow@h2", "slow@h3"]).toContain(result.satellite);
    // The same key always lands on the same satellite while the registry is unchanged.
    for (let i = 0; i < 5; i++) {
      expect(
        (await client.request<{ satellite: string }>("slow", { ms: 1 }, { key: "user-42" })).satellite,
      ).toBe(result.satellite);
    }
  });

  it("spreads keys over every satellite of a type", async () => {
    const seen = new Set<string>();
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        seen.add(
          (await client.request<{ satellite: string }>("slow", { ms: 1 }, { key: `k${i}` })).satellite,
        );
      }),
    );
    expect([...seen].sort()).toEqual(["slow@h1", "slow@h2", "slow@h3"]);
  });

  it("an unknown type gets a clear error", async () => {
    const error = (await client.request("no-such-type", 1).catch((caught) => caught)) as UnknownTypeError;
    expect(error).toBeInstanceOf(UnknownTypeError);
    expect(error.code).toBe("DSAT_ERR_UNKNOWN_TYPE");
    expect(error.message).toContain("no-such-type");
  });

  it("pipelines: measure -> store appends to the CSV file and the client gets the last step's result", async () => {
    const result = await client.request<{ file: string; line: string }>("measure", {
      source: "e2e",
      value: 42,
    });
    expect(result.file).toBe(join(dir, "measurements.csv"));
    expect(result.line).toMatch(/^\d{4}-\d\d-\d\dT[^,]+,e2e,42$/);
    expect(readFileSync(result.file, "utf8")).toContain(result.line);
  });

  it("PUB intake: a published job runs and its result is an event", async () => {
    const events = client.events("result.echo");
    const iterator = events[Symbol.asyncIterator]();
    const first = iterator.next();
    // PUB/SUB joins are slow: publish until the result event arrives.
    let event: IteratorResult<Record<string, unknown>> | undefined;
    for (let i = 0; i < 50 && event === undefined; i++) {
      client.publish("echo", { published: true }, { id: `pub-${i}` });
      event = await Promise.race([
        first,
        new Promise<undefined>((done) => setTimeout(() => done(undefined), 200)),
      ]);
    }
    expect(event?.value).toMatchObject({ topic: "result.echo", status: "ok", result: { published: true } });
    await iterator.return?.(undefined);
  });

  it("dsat publish: prints the summary with jobs/s and percentiles", async () => {
    const { stdout } = await new Promise<{ stdout: string }>((done, fail) => {
      execFile(
        process.execPath,
        [
          dsat,
          "publish",
          "echo",
          '{"x":1}',
          "--count",
          "200",
          "--concurrency",
          "16",
          "--topology",
          topologyFile,
        ],
        { cwd: root, timeout: 30_000 },
        (error, out) => (error ? fail(error) : done({ stdout: out })),
      );
    });
    expect(stdout).toMatch(
      /200\/200 ok in [\d.]+ s: \d+ jobs\/s, latency p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/,
    );
  });

  it("a satellite killed mid-job: the job is finished by the next candidate", async () => {
    const request = client.request<{ satellite: string; pid: number }>(
      "slow",
      { ms: 1500, tag: "kill" },
      { key: "victim" },
    );
    const marker = join(dir, "started-kill-1");
    // The satellite's write is not atomic: wait for the pid to be in the file.
    await waitUntil("the job to start", () => existsSync(marker) && readFileSync(marker, "utf8") !== "");
    const victimPid = Number(readFileSync(marker, "utf8"));
    const victim = [...processes.entries()].find(([, child]) => child.pid === victimPid);
    expect(victim).toBeDefined();
    victim?.[1].kill("SIGKILL");
    const result = await request;
    expect(result.pid).not.toBe(victimPid);
    expect(result.satellite).not.toBe(victim?.[0]);
    expect(existsSync(join(dir, "started-kill-2"))).toBe(true);
    const status = await cluster.status();
    expect(status.stats.slow.reroutes).toBeGreaterThanOrEqual(1);
    processes.delete(victim?.[0] ?? "");
  }, 30_000);

  it("SIGTERM drains: the job in flight finishes on its satellite, which then leaves", async () => {
    const [name, child] = [...processes.entries()].find(([key]) => key.startsWith("slow@")) as [
      string,
      ChildProcess,
    ];
    // Find a key that this satellite is first candidate for.
    let key = "";
    for (let i = 0; i < 200 && key === ""; i++) {
      const result = await client.request<{ satellite: string }>("slow", { ms: 1 }, { key: `drain-${i}` });
      if (result.satellite === name) key = `drain-${i}`;
    }
    expect(key).not.toBe("");
    const request = client.request<{ satellite: string }>("slow", { ms: 1000, tag: "drain" }, { key });
    await waitUntil("the job to start", () => existsSync(join(dir, "started-drain-1")));
    child.kill("SIGTERM");
    expect((await request).satellite).toBe(name);
    expect(await exited(child)).toBe(0);
    await waitUntil("the satellite to leave the registry", async () => !(await registered()).includes(name));
    processes.delete(name);
  }, 30_000);
});
