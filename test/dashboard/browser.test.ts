// `dsat dashboard` in a real headless Chromium (Debian's `chromium`, driven by playwright-core),
// against real processes on loopback: `dsat orchestrator`, three `dsat satellite` (one per rack)
// and a client sending jobs of 10 ms. Checks that the tree shows every satellite, that the throughput
// figures move and the charts draw, that a job search shows the job's timeline, that drain is
// refused without the token (and by a read-only dashboard) and works with it after the
// confirmation, that a kill -9 turns the satellite lost, and that the page has no console error.
// A screenshot is left in the test's temp dir.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, controlRequest } from "../../src/client/index.ts";
import { Cluster, root, waitUntil } from "../e2e/harness.ts";
import { freePorts } from "../helpers/ports.ts";
import { THREE_HOSTS, THREE_RACKS } from "../helpers/topology.ts";

const CHROMIUM = process.env.DSAT_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "test-token-0123456789abcdef";
const SATELLITES = THREE_HOSTS.map((host) => `paced@${host}`);
const SEARCHED = "dashboard-search-job-1";
// Kept on purpose: the screenshot is there for a person to look at.
const artifacts = mkdtempSync(join(tmpdir(), "dsat-dashboard-"));

const cluster = new Cluster();
let client: Client;
let browser: Browser;
let adminUrl = "";
let readOnlyUrl = "";
let loading = true;
let loadDone: Promise<void> = Promise.resolve();

/** Starts `dsat dashboard` with `args` and returns the URL it prints. */
async function startDashboard(name: string, args: string[]): Promise<string> {
  const [port] = await freePorts(1);
  cluster.start(name, ["dashboard", "--listen", `127.0.0.1:${port}`, ...args], {}, true);
  let url = "";
  await waitUntil(
    `${name} to listen`,
    () => {
      const line = cluster.output.get(name)?.find((l) => l.startsWith("dashboard: http"));
      if (line !== undefined) url = line.split(" ")[1];
      return url !== "";
    },
    60_000,
  );
  return url;
}

beforeAll(async () => {
  await cluster.write({
    orchestrator: { heartbeatMs: 200 },
    ...THREE_RACKS,
    types: {
      paced: {
        module: join(root, "test/e2e/satellites/paced-echo.ts"),
        replicas: 3,
        failureDomain: "rack",
        concurrency: 16,
        timeoutMs: 20_000,
      },
    },
  });
  cluster.start("orchestrator", ["orchestrator"]);
  await cluster.waitForOrchestrator();
  // Jobs of a few ms: a job that ends within the satellite's event-loop turn is never acked apart
  // (its reply says more), so it has no job.* event at all.
  cluster.startSatellites("paced", "test/e2e/satellites/paced-echo.ts", THREE_HOSTS, {
    DSAT_ECHO_DELAY_MS: "10",
  });
  await cluster.waitForSatellites(3);
  [adminUrl, readOnlyUrl] = await Promise.all([
    startDashboard("dashboard", ["--admin-token", TOKEN, "--interval", "500"]),
    startDashboard("read-only", ["--interval", "500"]),
  ]);
  client = await connect(cluster.endpoints.frontend, { inFlightMax: 32, timeoutMs: 20_000 });
  // Steady load until the end: 32 requests at a time.
  loadDone = Promise.all(
    Array.from({ length: 32 }, async () => {
      while (loading) await client.request("paced", { n: 1 }).catch(() => {});
    }),
  ).then(() => {});
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set DSAT_CHROMIUM`);
  // playwright gives each launch a fresh profile of its own (it refuses --user-data-dir here).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 180_000);

afterAll(async () => {
  loading = false;
  await loadDone;
  await client?.close();
  await browser?.close();
  cluster.stop();
});

interface Opened {
  page: Page;
  problems: string[];
}

async function open(url: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) problems.push(`request out: ${request.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, problems };
}

/** What the page script reports (window.dsatDashboard). */
interface PageFigures {
  snapshots: number;
  deltas: number;
  charts: number;
  drawn: number;
  /** Per type, the ticks with a latency measured (from the tracker's histogram differences). */
  latencyPoints: Record<string, number>;
}
const figures = (page: Page): Promise<PageFigures> =>
  page.evaluate(() => (globalThis as unknown as { dsatDashboard: PageFigures }).dsatDashboard);

/** The paced row's done/s figure as the page shows it. */
async function doneRate(page: Page): Promise<number> {
  return Number(await page.locator('#types tr[data-type="paced"] td[data-key="done"]').innerText());
}

/** Clicks a drain/undrain button, confirms (or cancels) in the page's dialog, returns the message. */
async function adminClick(page: Page, button: string, confirm: boolean): Promise<string> {
  const before = await page.locator("#admin-result").innerText();
  await page.click(button);
  await page.locator("#confirm.open").waitFor({ timeout: 5000 });
  await page.click(confirm ? "#confirm-yes" : "#confirm-no");
  await page.waitForFunction(
    (previous) => {
      const text = (
        globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }
      ).document.getElementById("admin-result").textContent;
      return text !== "" && text !== previous;
    },
    before,
    { timeout: 10_000 },
  );
  return page.locator("#admin-result").innerText();
}

describe("dsat dashboard in headless Chromium", () => {
  it("shows the tree, moving throughput, charts, and a job's timeline", async () => {
    const { page, problems } = await open(adminUrl);
    // Every satellite, under its rack and host, ready.
    for (const id of SATELLITES)
      await page.locator(`.sat[data-sat="${id}"][data-state="ready"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator(".tree summary").allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^rack=r1/), expect.stringMatching(/^host=h1/)]),
    );
    expect(await page.locator("#mode").innerText()).toBe("admin (token)");

    // Throughput: the done/s figure is above zero and changes from tick to tick.
    const seen = new Set<number>();
    await waitUntil(
      "the paced done/s figure to move",
      async () => {
        const rate = await doneRate(page).catch(() => Number.NaN);
        if (rate > 0) seen.add(rate);
        return seen.size >= 2;
      },
      20_000,
    );
    const drawn = await figures(page);
    expect(drawn.charts).toBe(2); // paced: throughput and latency
    expect(drawn.drawn).toBe(drawn.charts);
    expect(drawn.deltas).toBeGreaterThanOrEqual(1);
    expect(await page.locator(".uplot canvas").count()).toBe(2);
    // Latency per tick: the chart gets points, and the table the last tick's figures (10 ms jobs).
    await waitUntil(
      "latency points in the paced chart",
      async () => ((await figures(page)).latencyPoints.paced ?? 0) >= 2,
      20_000,
    );
    const p50 = Number(
      await page.locator('#types tr[data-type="paced"] td[data-key="windowP50"]').innerText(),
    );
    const mean = Number(
      await page.locator('#types tr[data-type="paced"] td[data-key="windowMean"]').innerText(),
    );
    expect(p50).toBeGreaterThanOrEqual(5);
    expect(mean).toBeGreaterThanOrEqual(10);

    // Job search: a job this test sent, by its id.
    await client.request("paced", "searched", { id: SEARCHED });
    await page.fill("#job-id", SEARCHED);
    await page.click('#job-form button[type="submit"]');
    const acked = page.locator(`ol.timeline[data-job="${SEARCHED}"] li[data-event="acked"]`);
    await acked.waitFor({ timeout: 10_000 });
    expect(await acked.innerText()).toMatch(/acked.*on paced@h\d/);
    // An id it never saw.
    await page.fill("#job-id", "no-such-job");
    await page.click('#job-form button[type="submit"]');
    await page.getByText("not in the dashboard's window").waitFor({ timeout: 10_000 });

    await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });
    console.log(`dashboard screenshot: ${join(artifacts, "dashboard.png")}`);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("refuses drain without the token, and by a read-only dashboard; drains with it after the confirmation", async () => {
    const target = SATELLITES[0];
    const drained = async () =>
      (
        (await controlRequest(cluster.endpoints.control, "satellites")) as {
          satellites: Array<{ id: string; draining: boolean }>;
        }
      ).satellites.find((s) => s.id === target)?.draining;

    const readOnly = await open(readOnlyUrl);
    await readOnly.page.locator(`.sat[data-sat="${target}"]`).waitFor({ timeout: 15_000 });
    expect(await readOnly.page.locator("#mode").innerText()).toBe("read-only");
    await readOnly.page.fill("#admin-target", target);
    expect(await adminClick(readOnly.page, "#drain", true)).toContain("read-only dashboard");
    expect(await drained()).toBe(false);
    expect(readOnly.problems.filter((p) => !p.includes("403"))).toEqual([]);
    await readOnly.page.close();

    const { page, problems } = await open(adminUrl);
    await page.locator(`.sat[data-sat="${target}"]`).waitFor({ timeout: 15_000 });
    await page.fill("#admin-target", target);
    // No token typed in the page: refused.
    expect(await adminClick(page, "#drain", true)).toContain("wrong or missing admin token");
    expect(await drained()).toBe(false);
    // The token, but cancelled at the confirmation: nothing sent.
    await page.fill("#token", TOKEN);
    expect(await adminClick(page, "#drain", false)).toBe("cancelled");
    expect(await drained()).toBe(false);
    // Confirmed: drained, and the page shows it.
    expect(await adminClick(page, "#drain", true)).toContain(`drain ${target}: done`);
    expect(await drained()).toBe(true);
    await page.locator(`.sat[data-sat="${target}"][data-state="draining"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator("#list-drained").innerText()).toContain(target);
    expect(await adminClick(page, "#undrain", true)).toContain(`undrain ${target}: done`);
    await page.locator(`.sat[data-sat="${target}"][data-state="ready"]`).waitFor({ timeout: 10_000 });
    // The 403s are the browser's report of the refused requests, not errors of the page.
    expect(problems.filter((p) => !p.includes("403"))).toEqual([]);
    await page.close();
  }, 90_000);

  it("shows a satellite killed with -9 as lost within a few seconds", async () => {
    const { page, problems } = await open(adminUrl);
    const victim = SATELLITES[2];
    await page.locator(`.sat[data-sat="${victim}"][data-state="ready"]`).waitFor({ timeout: 15_000 });
    const killedAt = Date.now();
    cluster.processes.get(`paced@${THREE_HOSTS[2]}`)?.kill("SIGKILL");
    await page.locator(`.sat[data-sat="${victim}"][data-state="lost"]`).waitFor({ timeout: 10_000 });
    console.log(`kill -9 to lost on the page: ${Date.now() - killedAt} ms`);
    expect(await page.locator("#list-lost").innerText()).toContain(victim);
    await page.screenshot({ path: join(artifacts, "dashboard-lost.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
