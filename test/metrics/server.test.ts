// The /metrics server's address rule (loopback unless insecure, like control), its errors, and its
// lifetime: it closes when the orchestrator stops.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  checkMetricsReach,
  MetricsError,
  MetricsServer,
  parseMetricsAddress,
  startMetrics,
} from "../../src/metrics/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints, freePorts } from "../helpers/ports.ts";

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function orchestrator(): Promise<Orchestrator> {
  const [frontend] = await freeEndpoints(1);
  const started = new Orchestrator({ frontend, hierarchy: ["host"], types: { echo: {} }, log: () => {} });
  await started.start();
  cleanups.push(() => started.stop());
  return started;
}

describe("metrics addresses", () => {
  it("reads host:port and how far it reaches", () => {
    expect(parseMetricsAddress("127.0.0.1:9464")).toEqual({
      host: "127.0.0.1",
      port: 9464,
      reach: "loopback",
    });
    expect(parseMetricsAddress("127.1.2.3:0").reach).toBe("loopback");
    expect(parseMetricsAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464, reach: "loopback" });
    expect(parseMetricsAddress("localhost:80").reach).toBe("loopback");
    expect(parseMetricsAddress("0.0.0.0:9464").reach).toBe("wildcard");
    expect(parseMetricsAddress("[::]:9464").reach).toBe("wildcard");
    expect(parseMetricsAddress("192.0.2.7:9464").reach).toBe("network");
    expect(parseMetricsAddress("metrics.example:9464").reach).toBe("network");
  });

  it("refuses what is not host:port, in a sentence", () => {
    for (const bad of ["", "9464", ":9464", "tcp://127.0.0.1:9464", "127.0.0.1", "a b:1", "[::1:9464"])
      expect(() => parseMetricsAddress(bad), bad).toThrow(/expected host:port/);
    expect(() => parseMetricsAddress("127.0.0.1:65536")).toThrow(/port 65536 is above 65535/);
    expect(() => parseMetricsAddress("300.0.0.1:9464")).toThrow(/not an IPv4 address/);
    expect(() => parseMetricsAddress(7 as unknown as string)).toThrow(MetricsError);
  });

  it("refuses a non-loopback address unless insecure, and warns when it is", () => {
    const wildcard = parseMetricsAddress("0.0.0.0:9464");
    expect(() => checkMetricsReach(wildcard, "0.0.0.0:9464", false)).toThrow(
      /0\.0\.0\.0:9464 binds every interface.*--insecure-metrics/,
    );
    const lan = parseMetricsAddress("192.0.2.7:9464");
    expect(() => checkMetricsReach(lan, "192.0.2.7:9464", false)).toThrow(/is reachable from other hosts/);
    expect(checkMetricsReach(wildcard, "0.0.0.0:9464", true)).toMatch(
      /binds every interface \(insecureMetrics\)/,
    );
    expect(checkMetricsReach(parseMetricsAddress("127.0.0.1:1"), "127.0.0.1:1", false)).toBeNull();
  });
});

describe("the metrics server", () => {
  it("does not listen on a non-loopback address without insecure, and leaves the orchestrator alone", async () => {
    const target = await orchestrator();
    const stop = target.stop;
    await expect(startMetrics(target, { address: "0.0.0.0:0" })).rejects.toThrow(MetricsError);
    await expect(startMetrics(target, { address: "0.0.0.0:0" })).rejects.toThrow(/binds every interface/);
    expect(target.stop).toBe(stop);
  });

  it("listens on a wildcard with insecure, logging a warning", async () => {
    const target = await orchestrator();
    const lines: string[] = [];
    const server = await startMetrics(target, {
      address: "0.0.0.0:0",
      insecure: true,
      log: (line) => lines.push(line),
    });
    cleanups.push(() => server.close());
    expect(lines).toEqual([expect.stringMatching(/^warning: metrics 0\.0\.0\.0:0 binds every interface/)]);
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("dsat_jobs_in_flight 0");
  });

  it("says so when the port is taken", async () => {
    const target = await orchestrator();
    const [port] = await freePorts(1);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    await expect(startMetrics(target, { address: `127.0.0.1:${port}` })).rejects.toThrow(
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
    );
  });

  it("closes when the orchestrator stops, keep-alive connections included", async () => {
    const [frontend] = await freeEndpoints(1);
    const target = new Orchestrator({ frontend, hierarchy: ["host"], log: () => {} });
    await target.start();
    const server = await startMetrics(target, { address: "127.0.0.1:0" });
    expect((await fetch(server.url)).status).toBe(200); // leaves a keep-alive connection open
    await target.stop();
    await expect(fetch(server.url)).rejects.toThrow();
    await server.close(); // already closed: a no-op
  });

  it("stops counting events once closed", async () => {
    const target = await orchestrator();
    let listening = 0;
    const source = {
      config: target.config,
      status: () => target.status(),
      onEvent: (listener: Parameters<Orchestrator["onEvent"]>[0]) => {
        const off = target.onEvent(listener);
        listening++;
        return () => {
          listening--;
          return off();
        };
      },
    };
    const server = await MetricsServer.start(source, { address: "127.0.0.1:0", processMetrics: false });
    expect(listening).toBe(1);
    target.publishEvent("journal.failed", { error: "test" });
    expect(await server.metrics.scrape()).toContain('dsat_events_total{topic="journal.failed"} 1');
    await server.close();
    expect(listening).toBe(0);
  });
});
