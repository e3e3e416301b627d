// What `dsat dashboard` costs at a high event rate: a stand-in orchestrator (an XPUB publishing
// job.acked events at a fixed rate, and a control ROUTER answering `status` with 1,000 satellites in
// datacenter > rack > host), the real `dsat dashboard` as a child process with one page's stream
// open, and the child's CPU read from /proc. Then, if Chromium is there, how long the page takes to
// show all 1,000 satellites.
//
//   npm run bench -- dashboard [--quick]        (part of `npm run bench`: figures and the target)
//   node --import tsx bench/dashboard.ts [--rates 10000,50000] [--seconds 10] [--satellites 1000]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Router, XPublisher } from "zeromq";
import { decode, encode } from "../src/protocol/index.ts";
import { LATENCY_BUCKETS_MS } from "../src/tracker/index.ts";
import { freePorts } from "../test/helpers/ports.ts";
import { type BenchResult, formatResult } from "./stats.ts";

const root = resolve(import.meta.dirname, "..");
const TYPES = ["echo", "resize", "wordcount", "measure"];
const CLOCK_TICKS = 100; // USER_HZ on Linux
/** Issue 17: the dashboard keeps up with 50k jobs/s (one job.acked event per job here). */
const TARGET_RATE = 50_000;
/** Kept up: received at least this share of what was offered. */
const KEPT_UP = 0.95;

export interface DashboardBenchOptions {
  rates: number[];
  seconds: number;
  satellites: number;
  /** Each rate's figures in a sentence, as they are measured. */
  log?: (line: string) => void;
}

/** `npm run bench -- dashboard`: 50,000 events/s (and 10,000 and 100,000 in a full run). */
export function benchDashboard(quick: boolean): Promise<BenchResult[]> {
  return measureDashboard({
    rates: quick ? [TARGET_RATE] : [10_000, TARGET_RATE, 100_000],
    seconds: quick ? 4 : 10,
    satellites: 1000,
  });
}

export async function measureDashboard(options: DashboardBenchOptions): Promise<BenchResult[]> {
  const { rates, seconds, satellites: satelliteCount } = options;
  const log = options.log ?? (() => {});
  const results: BenchResult[] = [];
  const satellites = Array.from({ length: satelliteCount }, (_, i) => ({
    id: `sat-${i}`,
    types: [TYPES[i % TYPES.length]],
    location: `datacenter=dc${i % 2},rack=r${i % 20},host=h${i % 250}`,
    capacity: 16,
    weight: 1,
    heartbeatMs: 500,
    inFlight: 0,
    queued: 0,
    done: 0,
    failed: 0,
    draining: false,
    protocol: "dsat/1",
  }));
  let published = 0;

  /** The stand-in control socket: `status` with the satellites' load moving and the counters growing. */
  async function serveControl(router: Router): Promise<void> {
    for await (const [route, body] of router) {
      let request: { cmd?: string };
      try {
        request = decode(body) as { cmd?: string };
      } catch {
        continue;
      }
      if (request.cmd !== "status") {
        await router.send([route, encode({ ok: false, error: "bench: status only" })]).catch(() => {});
        continue;
      }
      for (const satellite of satellites) {
        satellite.inFlight = Math.floor(Math.random() * 17);
        satellite.done += 10;
      }
      const stats = Object.fromEntries(
        TYPES.map((type) => [
          type,
          {
            received: published,
            inFlight: 100,
            done: Math.floor(published / TYPES.length),
            failed: 0,
            retries: 0,
            latencyMsP50: 2,
            latencyMsP99: 9,
            // A histogram that grows, all of it at 2.5 to 5 ms: the dashboard differences it per tick.
            latencyCount: Math.floor(published / TYPES.length),
            latencySumMs: 3 * Math.floor(published / TYPES.length),
            latencyBuckets: LATENCY_BUCKETS_MS.map((edge) =>
              edge < 5 ? 0 : Math.floor(published / TYPES.length),
            ),
          },
        ]),
      );
      await router
        .send([
          route,
          encode({
            ok: true,
            jobs: { inFlight: 400, waiting: 0 },
            satellites,
            stats,
            tracker: { breakersOpen: [] },
          }),
        ])
        .catch(() => {});
    }
  }

  /** Publishes `rate` job.acked events a second until stopped; returns the count sent and dropped. */
  function publish(
    xpub: XPublisher,
    rate: number,
  ): { stop: () => Promise<{ sent: number; dropped: number }> } {
    let running = true;
    let sent = 0;
    let dropped = 0;
    const started = performance.now();
    const done = (async () => {
      while (running) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        for (; sent + dropped < due; ) {
          const n = sent + dropped;
          const type = TYPES[n % TYPES.length];
          try {
            await xpub.send([
              Buffer.from(`job.acked.${type}`),
              encode({
                id: `client-7-${n}`,
                satellite: satellites[n % satellites.length].id,
                detail: "attempt 1",
                at: Date.now(),
              }),
            ]);
            sent++;
            published++;
          } catch {
            dropped++;
          }
        }
        await new Promise((next) => setTimeout(next, 5));
      }
      return { sent, dropped };
    })();
    return {
      stop: async () => {
        running = false;
        return done;
      },
    };
  }

  function cpuTicks(pid: number): number {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  }

  function rssMiB(pid: number): number {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return line === null ? 0 : Math.round(Number(line[1]) / 1024);
  }

  function getJson(url: string): Promise<{ eventsSeen: number; ring: { jobs: number; bytes: number } }> {
    return new Promise((done, fail) => {
      get(url, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => done(JSON.parse(body)));
      }).on("error", fail);
    });
  }

  const [eventsPort, controlPort, httpPort] = await freePorts(3);
  const dir = mkdtempSync(join(tmpdir(), "dsat-bench-dashboard-"));
  const topologyFile = join(dir, "topology.json");
  writeFileSync(
    topologyFile,
    JSON.stringify({
      orchestrator: {
        frontend: "tcp://127.0.0.1:1",
        events: `tcp://127.0.0.1:${eventsPort}`,
        control: `tcp://127.0.0.1:${controlPort}`,
      },
      hierarchy: ["rack", "host"],
      hosts: { h1: { rack: "r1" } },
      types: { echo: { module: join(root, "satellites/echo.ts") } },
    }),
  );
  const xpub = new XPublisher({ sendTimeout: 0, sendHighWaterMark: 100_000, linger: 0 });
  await xpub.bind(`tcp://127.0.0.1:${eventsPort}`);
  const router = new Router({ sendTimeout: 0, linger: 0 });
  await router.bind(`tcp://127.0.0.1:${controlPort}`);
  void serveControl(router);

  // DSAT_BENCH_PROFILE=DIR: a CPU profile of the dashboard process, written when it stops.
  const profile = process.env.DSAT_BENCH_PROFILE;
  const child = spawn(
    process.execPath,
    [
      ...(profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`]),
      "bin/dsat",
      "dashboard",
      "--topology",
      topologyFile,
      "--listen",
      `127.0.0.1:${httpPort}`,
    ],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = `http://127.0.0.1:${httpPort}/`;
  await new Promise<void>((ready) =>
    child.stdout.on("data", (chunk: Buffer) => chunk.includes("dashboard:") && ready()),
  );
  // One page's stream, read and thrown away (what a browser costs the server).
  let streamBytes = 0;
  get(`${url}events`, (response) => response.on("data", (chunk: Buffer) => (streamBytes += chunk.length)));
  await new Promise((next) => setTimeout(next, 2000));

  log(
    `dsat dashboard, ${satelliteCount} satellites, one page open; node ${process.version}; ${seconds} s per rate`,
  );
  for (const rate of rates) {
    const publisher = publish(xpub, rate);
    await new Promise((next) => setTimeout(next, 2000)); // warm up
    const cpu0 = cpuTicks(child.pid as number);
    const seen0 = (await getJson(`${url}api/health`)).eventsSeen;
    const bytes0 = streamBytes;
    const published0 = published;
    const t0 = performance.now();
    await new Promise((next) => setTimeout(next, seconds * 1000));
    const elapsed = (performance.now() - t0) / 1000;
    const sentRate = (published - published0) / elapsed;
    const cpu = (cpuTicks(child.pid as number) - cpu0) / CLOCK_TICKS / elapsed;
    const health = await getJson(`${url}api/health`);
    const { sent, dropped } = await publisher.stop();
    const received = (health.eventsSeen - seen0) / elapsed;
    const offered = rate.toLocaleString("en-US");
    results.push(
      // What the stand-in managed to publish (a busy machine can hold it back too).
      { name: `dashboard: events sent at ${offered}/s offered`, value: sentRate, unit: "events/s" },
      {
        name: `dashboard: events received at ${offered}/s offered (${satelliteCount} satellites)`,
        value: received,
        unit: "events/s",
        ...(rate === TARGET_RATE
          ? { target: { atLeast: Math.round(rate * KEPT_UP), note: "keeps up with 50k jobs/s of events" } }
          : {}),
      },
      { name: `dashboard: CPU at ${offered} events/s offered`, value: cpu * 100, unit: "% of one core" },
      // Independent of how much of a core the scheduler gave it: what one free core would take.
      {
        name: `dashboard: events per CPU-second at ${offered}/s offered`,
        value: cpu > 0 ? received / cpu : Number.NaN,
        unit: "events/s of one core",
      },
      {
        name: `dashboard: RSS at ${offered} events/s offered`,
        value: rssMiB(child.pid as number),
        unit: "MiB",
      },
    );
    log(
      `  ${rate} events/s offered (${dropped} dropped at the publisher, ${sent} sent): dashboard received ${Math.round((health.eventsSeen - seen0) / elapsed)}/s, CPU ${(cpu * 100).toFixed(1)}% of one core, RSS ${rssMiB(child.pid as number)} MiB, ring ${health.ring.jobs} jobs / ${Math.round(health.ring.bytes / 1024 / 1024)} MiB, stream ${Math.round((streamBytes - bytes0) / elapsed / 1024)} KiB/s to the page`,
    );
    await new Promise((next) => setTimeout(next, 1000));
  }

  const chromium = process.env.DSAT_CHROMIUM ?? "/usr/bin/chromium";
  if (existsSync(chromium)) {
    const { chromium: driver } = await import("playwright-core");
    const browser = await driver.launch({
      executablePath: chromium,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const t0 = performance.now();
    await page.goto(url, { waitUntil: "load" });
    // The page's own globals (tsconfig has no DOM lib: this is a Node project).
    type PageGlobals = { document: { querySelectorAll(selector: string): { length: number } } };
    await page.waitForFunction(
      (n) =>
        (globalThis as unknown as PageGlobals).document.querySelectorAll(".sat[data-state]").length === n,
      satelliteCount,
      { timeout: 30_000 },
    );
    const loadMs = performance.now() - t0;
    results.push({
      name: `dashboard: page load to all ${satelliteCount} satellites in the tree`,
      value: loadMs,
      unit: "ms",
    });
    log(`  page load to all ${satelliteCount} satellites drawn in the tree: ${Math.round(loadMs)} ms`);
    await browser.close();
  }

  child.kill("SIGTERM");
  await new Promise((exited) => child.once("exit", exited));
  xpub.close();
  router.close();
  rmSync(dir, { recursive: true, force: true });
  return results;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const index = args.indexOf(`--${name}`);
    return index === -1 ? fallback : args[index + 1];
  };
  const results = await measureDashboard({
    rates: option("rates", "10000,50000,100000").split(",").map(Number),
    seconds: Number(option("seconds", "10")),
    satellites: Number(option("satellites", "1000")),
    log: (line) => console.log(line),
  });
  for (const result of results) console.log(formatResult(result));
  process.exit(0);
}
