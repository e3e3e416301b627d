// Placement near the data end to end (docs/locality.md), real sockets in process: six satellites
// on three racks of two hosts, jobs whose one input has three replicas (one per rack, some named by
// their storage names through the hostname map). All hosts up: the jobs run where a replica is, and
// the handler sees it local. Two of the three replica hosts down: every job still runs, on the third.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

const RACKS = ["r1", "r2", "r3"];
const HOSTS = RACKS.flatMap((rack) => [`${rack}h1`, `${rack}h2`]);
/** Storage names of two hosts: replicas named by them must be mapped to be local. */
const HOSTNAMES = { "store-a": "r1h1", "store-b": "r2h2" };
const STORAGE_NAME = new Map(Object.entries(HOSTNAMES).map(([storage, host]) => [host, storage]));

interface Ran {
  satellite: string;
  local: string[][];
  inputs: string[][];
}

let orchestrator: Orchestrator;
const satellites = new Map<string, SatelliteRuntime>();
let client: Client;

beforeAll(async () => {
  const [frontend] = await freeEndpoints(1);
  orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["rack", "host"],
    types: { scan: { replicas: 3, failureDomain: "rack" } },
    limits: { heartbeatMs: 500 },
    locality: { hostnames: HOSTNAMES },
    log: () => {},
  });
  await orchestrator.start();
  for (const host of HOSTS) {
    const runtime = await runSatellite(
      defineSatellite({
        type: "scan",
        concurrency: 8,
        handle: (_payload: unknown, context): Ran => ({
          satellite: context.satelliteId,
          local: context.localReplicas ?? [],
          inputs: context.inputs ?? [],
        }),
      }),
      {
        endpoint: frontend,
        id: `scan@${host}`,
        location: [
          ["rack", host.slice(0, 2)],
          ["host", host],
        ],
        heartbeatMs: 500,
        hostnames: HOSTNAMES,
        log: () => {},
      },
    );
    satellites.set(host, runtime);
  }
  await until(() => orchestrator.status().satellites.length === HOSTS.length, 10_000, "satellites register");
  client = await connect(frontend);
}, 30_000);

afterAll(async () => {
  await client?.close();
  for (const runtime of satellites.values()) await runtime.stop();
  await orchestrator?.stop();
});

/** A replica address on `host`, by its storage name where it has one, in one of three forms. */
function replica(host: string, n: number): string {
  const name = STORAGE_NAME.get(host) ?? host;
  return [`disco://${name}/data/part-${n}`, `http://${name}:8989/data/part-${n}`, `${name}:/data/part-${n}`][
    n % 3
  ];
}

/** Job n's input: one replica in each rack, on host 1 or 2 of it (varies with n). */
function replicaHosts(n: number): string[] {
  return RACKS.map((rack, i) => `${rack}h${1 + ((n >> i) & 1)}`);
}

describe("placement near the data", () => {
  it("runs at least 95% of jobs on a satellite holding a replica, which the handler sees local", async () => {
    const jobs = 300;
    const results = await Promise.all(
      Array.from({ length: jobs }, (_, n) =>
        client.request<Ran>("scan", n, {
          key: `part-${n}`,
          inputs: [replicaHosts(n).map((host) => replica(host, n))],
        }),
      ),
    );
    let local = 0;
    for (const [n, ran] of results.entries()) {
      const host = ran.satellite.slice("scan@".length);
      expect(ran.inputs).toEqual([replicaHosts(n).map((h) => replica(h, n))]);
      if (replicaHosts(n).includes(host)) {
        local++;
        // The handler's view agrees: the replica on its host (by storage name where mapped).
        expect(ran.local).toEqual([[replica(host, n)]]);
      } else expect(ran.local).toEqual([[]]);
    }
    // Every job has a replica host up in each rack: all of them run local.
    expect(local / jobs).toBeGreaterThanOrEqual(0.95);
    expect(local).toBe(jobs);
    expect(orchestrator.status().counters.locality).toMatchObject({ local: jobs, rack: 0, remote: 0 });
  }, 30_000);

  it("runs every job while one of its three replica hosts is up (two down), on that one", async () => {
    // Inputs on r1h1, r2h1, r3h1; the satellites of the first two stop.
    const hosts = ["r1h1", "r2h1", "r3h1"];
    for (const host of hosts.slice(0, 2)) await satellites.get(host)?.stop();
    satellites.delete("r1h1");
    satellites.delete("r2h1");
    await until(
      () => orchestrator.status().satellites.length === HOSTS.length - 2,
      10_000,
      "the two satellites are gone",
    );
    const jobs = 100;
    const results = await Promise.all(
      Array.from({ length: jobs }, (_, n) =>
        client.request<Ran>("scan", n, {
          key: `after-${n}`,
          inputs: [hosts.map((host) => replica(host, n))],
        }),
      ),
    );
    expect(results.every((ran) => ran.satellite === "scan@r3h1")).toBe(true);
  }, 30_000);
});
