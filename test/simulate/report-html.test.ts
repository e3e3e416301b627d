// The HTML report `dsat simulate --out DIR` writes, opened in a real headless Chromium (Debian's
// `chromium`, driven by playwright-core): every chart draws, with no console or page error and no
// network request, the scenario's events are drawn as lines on the time charts (read back from the
// canvas pixels), and the summary table holds the run's figures. A screenshot is left in the temp dir.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { htmlReport, parseScenario, simulate } from "../../src/simulate/index.ts";
import { loadTopology } from "../../src/topology/index.ts";
import { ROOT, runDsat } from "../cli/helpers.ts";

/** Where Chromium may be: DSAT_CHROMIUM first, then Debian's and others' usual paths. */
const CANDIDATES = [
  process.env.DSAT_CHROMIUM,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
].filter((path): path is string => path !== undefined && path !== "");

/** The line colour the page script draws events with (src/simulate/report-page.js). */
const EVENT_RGB = [0xe8, 0x59, 0x0c];

// Kept on purpose (in the OS temp dir): the screenshot is there for a person to look at.
const dir = mkdtempSync(join(tmpdir(), "dsat-report-html-"));

/** Small: echo and wordcount for 6 s, rack2 killed at 2 s and back at 4 s. */
const SCENARIO = {
  // The markup in it must stay text: it ends no script element and breaks no JSON.
  description: "rack2 lost for two seconds under load </script><!-- <b>",
  durationMs: 6000,
  drainMs: 20000,
  intervalMs: 250,
  load: {
    echo: { rate: 300, clients: 2 },
    wordcount: { arrival: "bursts", burst: { size: 10, everyMs: 500 } },
  },
  service: {
    echo: { time: { distribution: "lognormal", medianMs: 40, sigma: 0.3 } },
    wordcount: { time: { distribution: "uniform", minMs: 50, maxMs: 150 } },
  },
  events: [
    { atMs: 2000, action: "kill", target: { domain: "rack2" } },
    { atMs: 4000, action: "restore", target: { domain: "rack2" } },
  ],
};
const EVENT_LABELS = ["kill domain rack2", "restore domain rack2"];
/** Per type with jobs (echo, wordcount): throughput and latency; then the queue depths. */
const TIME_CHARTS = 2 * 2 + 1;
/** Load per rack and per host (the demo topology's levels). */
const BAR_CHARTS = 2;

let launched: Promise<Browser> | null = null;

/** Chromium, started once for the file; where it is missing, each browser test fails saying how to install it. */
function browser(): Promise<Browser> {
  launched ??= (async () => {
    const executablePath = CANDIDATES.find((path) => existsSync(path));
    if (executablePath === undefined)
      throw new Error(
        `no Chromium found (looked at ${CANDIDATES.join(", ")}): install it with ` +
          "`apt-get update && apt-get install -y chromium` (Debian; .ci/run does this in CI), " +
          "or point DSAT_CHROMIUM at a Chromium or Chrome binary",
      );
    return chromium.launch({ executablePath, headless: true });
  })();
  return launched;
}

afterAll(async () => {
  await (await launched?.catch(() => null))?.close();
});

interface Opened {
  page: Page;
  problems: string[];
}

/** Opens a report from its file:// URL and collects what went wrong: errors and any request out. */
async function open(file: string): Promise<Opened> {
  const page = await (await browser()).newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  // A page error stops the wait for the charts at once, not at its timeout.
  let pageError: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    pageError = reject;
  });
  failed.catch(() => {});
  page.on("pageerror", (error) => {
    problems.push(`page error: ${error.message}`);
    pageError(error);
  });
  page.on("request", (request) => {
    if (request.url() !== url) problems.push(`request: ${request.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  await Promise.race([page.waitForFunction(allDrawn, null, { timeout: 10_000 }), failed]).catch(
    (error: Error) => {
      throw new Error(`the charts did not all draw: ${error.message}; ${problems.join("; ")}`);
    },
  );
  return { page, problems };
}

interface PageState {
  charts: number;
  drawn: number;
  canvases: Array<{ width: number; height: number }>;
  /** Per mark: its chart, label, and the share of its pixel column in the event colour. */
  marks: Array<{ chart: number; label: string; share: number; control: number }>;
}

// The few browser types the page functions use (tsconfig has no DOM lib: this is a Node project).
interface CanvasLike {
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
  getBoundingClientRect(): { width: number; height: number };
}
interface BrowserGlobals {
  document: {
    querySelector(selector: string): CanvasLike;
    querySelectorAll(selector: string): ArrayLike<CanvasLike>;
  };
  dsatReport?: {
    charts: number;
    drawn: number;
    marks: Array<{ chart: number; column: number; top: number; height: number; label: string }>;
  };
}

/** Has every chart drawn? (uPlot's draw hook counts each chart's first draw.) */
function allDrawn(): boolean {
  const report = (globalThis as unknown as BrowserGlobals).dsatReport;
  return report !== undefined && report.charts > 0 && report.drawn === report.charts;
}

/** What the page drew: canvas sizes, and each event mark checked against the canvas pixels. */
function pageState(page: Page): Promise<PageState> {
  return page.evaluate((rgb) => {
    const { document, dsatReport: report } = globalThis as unknown as Required<BrowserGlobals>;
    /** The share of a pixel column of the chart's canvas that is the event colour. */
    const coloured = (canvas: CanvasLike, column: number, top: number, height: number) => {
      const pixels = canvas.getContext("2d").getImageData(column, top, 1, height).data;
      let hits = 0;
      for (let i = 0; i < pixels.length; i += 4)
        if ([0, 1, 2].every((c) => Math.abs(pixels[i + c] - rgb[c]) <= 24)) hits++;
      return hits / height;
    };
    const canvasOf = (chart: number) => document.querySelector(`[data-chart="${chart}"] canvas`);
    return {
      charts: report.charts,
      drawn: report.drawn,
      canvases: Array.from(document.querySelectorAll(".uplot canvas")).map((canvas) => {
        const box = canvas.getBoundingClientRect();
        return { width: box.width, height: box.height };
      }),
      marks: report.marks.map((mark) => ({
        chart: mark.chart,
        label: mark.label,
        share: coloured(canvasOf(mark.chart), mark.column, mark.top, mark.height),
        // A column well left of the line: not the event colour, or the check above proves nothing.
        control: coloured(canvasOf(mark.chart), mark.column - 12, mark.top, mark.height),
      })),
    };
  }, EVENT_RGB);
}

describe("dsat simulate --out: report.html in headless Chromium", () => {
  it("draws every chart without errors, with the scenario's events marked", async () => {
    const scenario = join(dir, "rack2-blip.json");
    writeFileSync(scenario, JSON.stringify(SCENARIO));
    const out = join(dir, "one");
    const run = await runDsat(["simulate", "topologies/demo.json", scenario, "--seed", "3", "--out", out]);
    expect(run.code, run.stderr.toString()).toBe(0);
    const file = join(out, "report.html");
    const html = readFileSync(file, "utf8");
    // Self-contained: nothing to fetch (the page's CSP forbids it too).
    expect(html).not.toMatch(/<(script|link|img)\b[^>]*\s(src|href)=/i);
    expect(html).toContain("uPlot");

    const { page, problems } = await open(file);
    const state = await pageState(page);
    expect(state.charts).toBe(TIME_CHARTS + BAR_CHARTS);
    expect(state.drawn).toBe(state.charts);
    expect(state.canvases).toHaveLength(state.charts);
    for (const canvas of state.canvases) {
      expect(canvas.width).toBeGreaterThan(100);
      expect(canvas.height).toBeGreaterThan(50);
    }
    // Each event on each time chart, as a line the full height of the plot.
    expect(state.marks).toHaveLength(TIME_CHARTS * EVENT_LABELS.length);
    expect([...new Set(state.marks.map((mark) => mark.label))]).toEqual(EVENT_LABELS);
    expect(new Set(state.marks.map((mark) => mark.chart)).size).toBe(TIME_CHARTS);
    for (const mark of state.marks) {
      expect(mark.share, `${mark.label} on chart ${mark.chart}`).toBeGreaterThan(0.95);
      expect(mark.control).toBeLessThan(0.2);
    }
    // The summary table holds the JSON's figures.
    const result = JSON.parse(readFileSync(join(out, "rack2-blip.seed3.json"), "utf8"));
    const echoRow = await page.locator("table.summary tr", { hasText: /^echo/ }).first().innerText();
    expect(echoRow.split("\t").slice(0, 3)).toEqual([
      "echo",
      String(result.types.echo.submitted),
      String(result.types.echo.completed),
    ]);
    expect(await page.locator("table.events").innerText()).toContain("kill domain rack2");
    expect(await page.locator(".description").innerText()).toBe(SCENARIO.description);

    const screenshot = join(dir, "report.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`report.html screenshot: ${screenshot}`);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it("puts two runs side by side with --compare, each with its own events", async () => {
    const withEvents = join(dir, "rack2-blip.json");
    writeFileSync(withEvents, JSON.stringify(SCENARIO));
    const calm = join(dir, "calm.json");
    writeFileSync(calm, JSON.stringify({ ...SCENARIO, events: [] }));
    const out = join(dir, "compare");
    const run = await runDsat([
      "simulate",
      "topologies/demo.json",
      withEvents,
      "--compare",
      calm,
      "--out",
      out,
    ]);
    expect(run.code, run.stderr.toString()).toBe(0);

    const { page, problems } = await open(join(out, "report.html"));
    const state = await pageState(page);
    expect(state.charts).toBe(2 * (TIME_CHARTS + BAR_CHARTS));
    expect(state.canvases).toHaveLength(state.charts);
    // Only A's time charts carry marks.
    expect(state.marks).toHaveLength(TIME_CHARTS * EVENT_LABELS.length);
    for (const mark of state.marks) expect(mark.share).toBeGreaterThan(0.95);
    expect(await page.locator("h2").allInnerTexts()).toEqual([
      "A vs B",
      "A: rack2-blip.json on demo.json",
      "B: calm.json on demo.json",
    ]);
    const screenshot = join(dir, "compare.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`report.html (--compare) screenshot: ${screenshot}`);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it("writes the same bytes for the same run", () => {
    const demo = loadTopology(join(ROOT, "topologies/demo.json"));
    const scenario = parseScenario(SCENARIO, "inline.json");
    expect(htmlReport([simulate(demo, scenario, 5)])).toBe(htmlReport([simulate(demo, scenario, 5)]));
  });
});
