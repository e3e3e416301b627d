// `dsat dashboard` on replicated orchestrators, in headless Chromium, against real processes: three
// `dsat orchestrator --node` (each with an admin socket and a metrics server), a `dsat satellite`
// and a client in this process keeping jobs of 10 ms in flight. The page shows each node's role,
// term, commit, lag, health and serving; when the leader stops (SIGTERM) another node is shown
// leading and the stopped one unreachable, the events resume from the new leader, and the status
// comes from it. Each node's /metrics (the CLI's wiring) says which one leads.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import { Cluster, exited, waitUntil } from "../e2e/harness.ts";
import { freePorts } from "../helpers/ports.ts";
import { THREE_RACKS } from "../helpers/topology.ts";

const CHROMIUM = process.env.DSAT_CHROMIUM ?? "/usr/bin/chromium";
const NODES = ["o1", "o2", "o3"];

const cluster = new Cluster();
let client: Client;
let browser: Browser;
let url = "";
const metricsUrls = new Map<string, string>();
let loading = true;
let loadDone: Promise<void> = Promise.resolve();

async function writeTopology(): Promise<string> {
  const ports = await freePorts(NODES.length * 6);
  const nodes = NODES.map((id, i) => {
    const [raft, frontend, events, control, admin, metrics] = ports.slice(6 * i, 6 * i + 6);
    metricsUrls.set(id, `http://127.0.0.1:${metrics}/metrics`);
    return {
      id,
      raft: `tcp://127.0.0.1:${raft}`,
      frontend: `tcp://127.0.0.1:${frontend}`,
      events: `tcp://127.0.0.1:${events}`,
      control: `tcp://127.0.0.1:${control}`,
      admin: `tcp://127.0.0.1:${admin}`,
      metrics: `127.0.0.1:${metrics}`,
    };
  });
  writeFileSync(
    cluster.topologyFile,
    JSON.stringify({
      orchestrator: { journal: { dir: join(cluster.dir, "data"), recoveryMs: 1000 }, heartbeatMs: 200 },
      orchestrators: nodes,
      ...THREE_RACKS,
      types: { paced: { replicas: 1, timeoutMs: 30_000 } },
    }),
  );
  return nodes.map((node) => node.frontend).join(",");
}

beforeAll(async () => {
  const frontends = await writeTopology();
  for (const id of NODES) cluster.start(id, ["orchestrator", "--node", id], {}, true);
  cluster.start("satellite", ["satellite", "test/e2e/satellites/paced-echo.ts", "--host", "h1"], {
    DSAT_ECHO_DELAY_MS: "10",
  });
  const [port] = await freePorts(1);
  cluster.start("dashboard", ["dashboard", "--listen", `127.0.0.1:${port}`, "--interval", "500"], {}, true);
  await waitUntil(
    "the dashboard to listen",
    () => {
      const line = cluster.output.get("dashboard")?.find((l) => l.startsWith("dashboard: http"));
      if (line !== undefined) url = line.split(" ")[1];
      return url !== "";
    },
    60_000,
  );
  client = await connect(frontends, { inFlightMax: 16, timeoutMs: 30_000 });
  await waitUntil(
    "a leader with the satellite",
    () =>
      client
        .request("paced", "warm-up", { timeoutMs: 2000 })
        .then(() => true)
        .catch(() => false),
    90_000,
  );
  loadDone = Promise.all(
    Array.from({ length: 16 }, async () => {
      while (loading) await client.request("paced", { n: 1 }).catch(() => {});
    }),
  ).then(() => {});
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
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

interface Row {
  id: string;
  role: string;
  term: number | null;
}
const rows = (page: Page): Promise<Row[]> =>
  page.evaluate(
    () =>
      (globalThis as unknown as { dsatDashboard: { orchestrators?: Row[] } }).dsatDashboard.orchestrators ??
      [],
  );
const cell = (page: Page, node: string, key: string) =>
  page.locator(`#orchestrators tr[data-node="${node}"] td[data-key="${key}"]`).innerText();

async function health(): Promise<{ eventsSeen: number }> {
  return (await (await fetch(new URL("api/health", url))).json()) as { eventsSeen: number };
}

async function scrapeValue(id: string, metric: string): Promise<number | undefined> {
  const text = await (await fetch(metricsUrls.get(id) as string)).text();
  const line = text.split("\n").find((each) => each.startsWith(`${metric} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

describe("dsat dashboard on replicated orchestrators, in headless Chromium", () => {
  it("shows each node's role; a leader stop moves it, and the events and status follow", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await page.goto(url, { waitUntil: "load" });

    await page.locator("#orchestrators-section").waitFor({ state: "visible", timeout: 15_000 });
    let leader = "";
    await waitUntil(
      "three nodes on the page, one leading",
      async () => {
        const shown = await rows(page);
        const leaders = shown.filter((row) => row.role === "leader");
        const followers = shown.filter((row) => row.role === "follower");
        if (shown.length === 3 && leaders.length === 1 && followers.length === 2) leader = leaders[0].id;
        return leader !== "";
      },
      20_000,
    );
    expect(await cell(page, leader, "serving")).toBe("yes");
    // Yellow until the leader has heard every peer within an election timeout.
    await page
      .locator(`#orchestrators tr[data-node="${leader}"] td[data-key="health"]`)
      .getByText("green")
      .waitFor({ timeout: 15_000 });
    const term = Number(await cell(page, leader, "term"));
    expect(term).toBeGreaterThan(0);
    for (const id of NODES.filter((each) => each !== leader)) {
      expect(await cell(page, id, "serving")).toBe("no");
      expect(Number(await cell(page, id, "term"))).toBe(term);
      expect(Number(await cell(page, id, "commit"))).toBeGreaterThan(0);
    }
    // The nodes' own metrics servers (`metrics` in their topology entries) agree.
    expect(await scrapeValue(leader, "dsat_raft_leader")).toBe(1);
    expect(await scrapeValue(NODES.find((id) => id !== leader) as string, "dsat_raft_leader")).toBe(0);
    await waitUntil("the dashboard to see events", async () => (await health()).eventsSeen > 0, 20_000);
    await page.screenshot({ path: join(cluster.dir, "replicated-before.png"), fullPage: true });

    // The leader stops: another node leads on the page, the stopped one is unreachable.
    const stopping = cluster.processes.get(leader);
    const stoppedAt = Date.now();
    stopping?.kill("SIGTERM");
    if (stopping !== undefined) await exited(stopping);
    let next = "";
    await waitUntil(
      "another leader on the page",
      async () => {
        const shown = await rows(page);
        const old = shown.find((row) => row.id === leader);
        const now = shown.find((row) => row.role === "leader" && row.id !== leader);
        if (old?.role === "unreachable" && now !== undefined) next = now.id;
        return next !== "";
      },
      30_000,
    );
    console.log(`leader ${leader} stopped: ${next} shown leading ${Date.now() - stoppedAt} ms later`);
    expect(Number(await cell(page, next, "term"))).toBeGreaterThan(term);
    await page
      .locator(`#orchestrators tr[data-node="${next}"] td[data-key="serving"]`)
      .getByText("yes")
      .waitFor({
        timeout: 15_000,
      });
    // Events come again, from the new leader (the only one publishing now), and status answers.
    const seen = (await health()).eventsSeen;
    await waitUntil(
      "events from the new leader",
      async () => (await health()).eventsSeen > seen + 10,
      30_000,
    );
    await page.locator("#control.ok").waitFor({ timeout: 15_000 });
    expect(await scrapeValue(next, "dsat_raft_leader")).toBe(1);
    await page.screenshot({ path: join(cluster.dir, "replicated-after.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
