// Regenerates docs/dashboard.png, README's picture of `dsat dashboard`: real processes on loopback
// (`dsat orchestrator`, satellites on six hosts in three racks, `dsat dashboard`), a client keeping
// jobs of a few ms in flight, a satellite killed with -9 and a host drained part way, then headless
// Chromium (playwright-core, /usr/bin/chromium or $DSAT_CHROMIUM) shoots the page with one job's
// timeline open. Takes about a minute; every process it started is killed at the end.
//
//   node --import tsx bench/screenshot-dashboard.ts [--out docs/dashboard.png] [--seconds 30]
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { type Client, connect, controlRequest } from "../src/client/index.ts";
import { Cluster, root, waitUntil } from "../test/e2e/harness.ts";
import { freePorts } from "../test/helpers/ports.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : args[index + 1];
};
const out = resolve(option("out", join(root, "docs/dashboard.png")));
const seconds = Number(option("seconds", "30"));
const CHROMIUM = process.env.DSAT_CHROMIUM ?? "/usr/bin/chromium";
const HOSTS = ["r1h1", "r1h2", "r2h1", "r2h2", "r3h1", "r3h2"];
const WORDCOUNT_HOSTS = ["r1h1", "r2h1", "r3h1"];
const SEARCHED = "invoice-2024-0042";
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
const cluster = new Cluster();
let client: Client | null = null;
let loading = true;
let load: Promise<unknown> = Promise.resolve();
try {
  await cluster.write({
    orchestrator: { heartbeatMs: 250 },
    hierarchy: ["rack", "host"],
    hosts: Object.fromEntries(HOSTS.map((host) => [host, { rack: `rack${host[1]}` }])),
    types: {
      paced: {
        module: join(root, "test/e2e/satellites/paced-echo.ts"),
        replicas: 3,
        failureDomain: "rack",
        concurrency: 32,
        timeoutMs: 20_000,
      },
      wordcount: {
        module: join(root, "satellites/wordcount.ts"),
        hosts: WORDCOUNT_HOSTS,
        failureDomain: "rack",
        concurrency: 16,
      },
    },
  });
  cluster.start("orchestrator", ["orchestrator"]);
  await cluster.waitForOrchestrator();
  cluster.startSatellites("paced", "test/e2e/satellites/paced-echo.ts", HOSTS, { DSAT_ECHO_DELAY_MS: "8" });
  cluster.startSatellites("wordcount", "satellites/wordcount.ts", WORDCOUNT_HOSTS);
  await cluster.waitForSatellites(HOSTS.length + WORDCOUNT_HOSTS.length);
  const [port] = await freePorts(1);
  cluster.start("dashboard", ["dashboard", "--listen", `127.0.0.1:${port}`], {}, true);
  const url = `http://127.0.0.1:${port}/`;
  await waitUntil(
    "the dashboard to listen",
    () => cluster.output.get("dashboard")?.some((line) => line.startsWith("dashboard: http")) === true,
    60_000,
  );

  const connected = await connect(cluster.endpoints.frontend, { inFlightMax: 80, timeoutMs: 20_000 });
  client = connected;
  const text = "the quick brown fox jumps over the lazy dog and the dog sleeps";
  load = Promise.all([
    ...Array.from({ length: 64 }, async (_, i) => {
      while (loading) await connected.request("paced", { n: i }).catch(() => {});
    }),
    ...Array.from({ length: 8 }, async () => {
      while (loading) await connected.request("wordcount", text).catch(() => {});
    }),
  ]);
  const third = (seconds * 1000) / 3;
  await sleep(third);
  cluster.processes.get("paced@r3h2")?.kill("SIGKILL");
  await sleep(third / 2);
  await controlRequest(cluster.endpoints.control, { cmd: "drain", target: "r2h2" });
  await sleep(third / 2);
  await connected.request("paced", { invoice: 42 }, { id: SEARCHED });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(url, { waitUntil: "load" });
    await page.locator('.sat[data-sat="paced@r3h2"][data-state="lost"]').waitFor({ timeout: 15_000 });
    await page.fill("#job-id", SEARCHED);
    await page.click('#job-form button[type="submit"]');
    await page.locator(`ol.timeline[data-job="${SEARCHED}"]`).waitFor({ timeout: 10_000 });
    await sleep(2000); // a few ticks after the snapshot (which brings the history)
    await page.screenshot({ path: out, fullPage: true });
    console.log(`dashboard screenshot: ${out}`);
  } finally {
    await browser.close();
  }
} finally {
  loading = false;
  await Promise.race([load, sleep(5000)]);
  await client?.close();
  cluster.stop();
}
process.exit(0);
