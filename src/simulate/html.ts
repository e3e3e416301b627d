// The HTML report `--out DIR` writes (DIR/report.html): one self-contained file, no network. The
// charts are drawn in the browser by uPlot, whose code is inlined from node_modules at write time,
// from the compact column data built here; the summary tables are plain HTML built here. One run, or
// two side by side (--compare). Deterministic: the same result gives the same bytes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { COMPARE_ROWS } from "./compare.ts";
import { round } from "./metrics.ts";
import { failedByText, orchestratorLines, TYPE_COLUMNS, typeRow } from "./report.ts";
import type { SimulationResult } from "./simulation.ts";

/** What the page script (report-page.js) reads: time in seconds, rates per second, columns. */
export interface ReportData {
  runs: ReportRun[];
}

interface ReportRun {
  intervalS: number;
  /** Each interval's start. */
  xs: number[];
  /** Sampled at each interval's end, so drawn at xs + intervalS. */
  queue: { inFlight: number[]; queued: number[]; waiting: number[] };
  types: Record<string, ReportType>;
  events: Array<{ atS: number; label: string }>;
  domains: Array<{ level: string; names: string[]; share: number[]; jobs: number[] }>;
}

interface ReportType {
  done: number[];
  failed: number[];
  retries: number[];
  reroutes: number[];
  timeouts: number[];
  /** null where the interval answered no job (a gap, not a latency of 0). */
  p50: Array<number | null>;
  p95: Array<number | null>;
  p99: Array<number | null>;
}

export function reportData(runs: readonly SimulationResult[]): ReportData {
  return {
    runs: runs.map((result) => {
      const perS = 1000 / result.intervalMs;
      const column = (pick: (interval: SimulationResult["timeline"][number]) => number) =>
        result.timeline.map(pick);
      const types: Record<string, ReportType> = {};
      // Types with no job (on the topology, not in the scenario's load) would be empty charts.
      for (const type of Object.keys(result.types).filter((name) => result.types[name].submitted > 0)) {
        const of = (interval: SimulationResult["timeline"][number]) => interval.types[type];
        const rate = (count: (t: ReturnType<typeof of>) => number) =>
          column((interval) => round(count(of(interval)) * perS));
        const latency = (pick: (ms: ReturnType<typeof of>["latencyMs"]) => number) =>
          result.timeline.map((interval) =>
            of(interval).completed === 0 ? null : pick(of(interval).latencyMs),
          );
        types[type] = {
          done: rate((t) => t.completed),
          failed: rate((t) => t.failed),
          retries: rate((t) => t.retries),
          reroutes: rate((t) => t.reroutes),
          timeouts: rate((t) => t.timeouts),
          p50: latency((ms) => ms.p50),
          p95: latency((ms) => ms.p95),
          p99: latency((ms) => ms.p99),
        };
      }
      return {
        intervalS: result.intervalMs / 1000,
        xs: column((interval) => interval.startMs / 1000),
        queue: {
          inFlight: column((interval) => interval.inFlight),
          queued: column((interval) => interval.queued),
          waiting: column((interval) => interval.waiting),
        },
        types,
        events: result.events.map((event) => ({
          atS: event.atMs / 1000,
          label: `${event.action} ${event.what}`.trim(),
        })),
        domains: Object.entries(result.domains).map(([level, buckets]) => ({
          level,
          names: Object.keys(buckets),
          share: Object.values(buckets).map((b) => round(b.share * 100)),
          jobs: Object.values(buckets).map((b) => b.jobs),
        })),
      };
    }),
  };
}

/** The report for one run, or two (A and B, side by side). */
export function htmlReport(runs: readonly SimulationResult[]): string {
  if (runs.length === 0) throw new Error("htmlReport: no run to report");
  const { script, style, page } = reportAssets();
  const title =
    runs.length === 1
      ? `${runs[0].scenario} on ${runs[0].topology}, seed ${runs[0].seed}`
      : `${runs[0].scenario} on ${runs[0].topology} vs ${runs[1].scenario} on ${runs[1].topology}, seed ${runs[0].seed}`;
  const columns = runs
    .map((result, index) => {
      const label =
        runs.length === 1
          ? ""
          : `<h2>${"AB"[index] ?? index}: ${escapeHtml(result.scenario)} on ${escapeHtml(result.topology)}</h2>\n`;
      return `<section class="run">\n${label}${runSummary(result)}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dsat simulate: ${escapeHtml(title)}</title>
<style>${style}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>dsat simulate: ${escapeHtml(title)}</h1>
${runs.length === 2 ? comparison(runs[0], runs[1]) : ""}
<div class="runs" style="grid-template-columns: repeat(${runs.length}, minmax(0, 1fr))">
${columns}
</div>
<div id="charts" class="runs" style="grid-template-columns: repeat(${runs.length}, minmax(0, 1fr))"></div>
<script id="dsat-data" type="application/json">${jsonSafe(JSON.stringify(reportData(runs)))}</script>
<script>${scriptSafe(script)}</script>
<script>${scriptSafe(page)}</script>
</body>
</html>
`;
}

/** The description, the per-type table, the events and the busiest satellites of one run. */
function runSummary(result: SimulationResult): string {
  const types = Object.entries(result.types);
  const summary = table(
    TYPE_COLUMNS,
    types.map(([type, t]) => typeRow(type, t)),
    "summary",
  );
  const failures = types
    .filter(([, t]) => t.failed > 0)
    .map(([type, t]) => `<p>${escapeHtml(type)} failed by code: ${escapeHtml(failedByText(t))}</p>`)
    .join("\n");
  const events =
    result.events.length === 0
      ? "<p>No events.</p>"
      : table(
          ["at s", "event", "satellites", "note"],
          result.events.map((e) => [
            round(e.atMs / 1000),
            `${e.action} ${e.what}`.trim(),
            e.satellites,
            e.note ?? "",
          ]),
          "events",
        );
  const sorted = [...result.satellites].sort(
    (a, b) => b.utilization - a.utilization || (a.id < b.id ? -1 : 1),
  );
  const shown = sorted.length <= 12 ? sorted : [...sorted.slice(0, 6), ...sorted.slice(-6)];
  const satellites = table(
    ["satellite", "jobs", "busy", "location"],
    shown.map((s) => [s.id, s.jobs, `${(s.utilization * 100).toFixed(1)}%`, s.location]),
    "satellites",
  );
  // Several orchestrators only: leaderships and failovers (a single one's page is unchanged).
  const orchestrators = orchestratorLines(result)
    .map((line) => `\n<p class="orchestrators">${escapeHtml(line)}</p>`)
    .join("");
  const routerEvents = Object.entries(result.satelliteEvents)
    .map(([topic, n]) => `${topic} ${n}`)
    .join(", ");
  return `<p class="description">${escapeHtml(result.description)}</p>
<p>seed ${result.seed}; simulated ${(result.simulatedMs / 1000).toFixed(1)} s, every ${result.intervalMs} ms; ${result.routerSteps} router steps${routerEvents === "" ? "" : `; router events: ${escapeHtml(routerEvents)}`}</p>
<h3>Per type</h3>
${summary}
${failures}
<h3>Events</h3>
${events}${orchestrators}
<h3>${sorted.length <= 12 ? "Satellites" : `Satellites (6 busiest, 6 idlest of ${sorted.length})`}</h3>
${satellites}
`;
}

/** A, B and B - A per type, as `--compare` prints them. */
function comparison(a: SimulationResult, b: SimulationResult): string {
  const types = [...new Set([...Object.keys(a.types), ...Object.keys(b.types)])].filter(
    (type) => (a.types[type]?.submitted ?? 0) + (b.types[type]?.submitted ?? 0) > 0,
  );
  const tables = types.map((type) =>
    table(
      [type, "A", "B", "B - A"],
      COMPARE_ROWS.map(([label, pick]) => {
        const x = a.types[type] === undefined ? 0 : pick(a.types[type]);
        const y = b.types[type] === undefined ? 0 : pick(b.types[type]);
        const delta = round(y - x);
        return [label, x, y, delta > 0 ? `+${delta}` : delta];
      }),
      "compare",
    ),
  );
  return `<h2>A vs B</h2>\n<div class="compare-tables">\n${tables.join("\n")}\n</div>`;
}

function table(header: string[], rows: Array<Array<string | number>>, className: string): string {
  const head = header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join("");
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((cell) => (typeof cell === "number" ? `<td class="n">${cell}</td>` : `<td>${escapeHtml(cell)}</td>`)).join("")}</tr>`,
    )
    .join("\n");
  return `<table class="${className}">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

/** JSON in a script element: every `<` as its JSON escape, so no text of a run can end the element. */
function jsonSafe(json: string): string {
  return json.replace(/</g, "\\u003c");
}

/** Inline script text must not close its element early: `</script` and `<!--` are escaped. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

let assets: { script: string; style: string; page: string } | null = null;

/** uPlot's build from node_modules (a dependency) and the page script, read once per process. */
function reportAssets(): { script: string; style: string; page: string } {
  assets ??= loadAssets();
  return assets;
}

function loadAssets(): { script: string; style: string; page: string } {
  const require = createRequire(import.meta.url);
  const read = (specifier: string) => {
    try {
      return readFileSync(require.resolve(specifier), "utf8");
    } catch (error) {
      throw new Error(`the HTML report needs ${specifier} (npm install): ${(error as Error).message}`);
    }
  };
  return {
    script: read("uplot/dist/uPlot.iife.min.js"),
    style: read("uplot/dist/uPlot.min.css"),
    page: readFileSync(new URL("./report-page.js", import.meta.url), "utf8"),
  };
}

const PAGE_STYLE = `
body { font-family: system-ui, sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 20px; }
h2 { font-size: 17px; margin: 18px 0 6px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
.runs { display: grid; gap: 24px; }
.run, .chart-column { min-width: 0; }
.run { overflow-x: auto; }
.description { font-style: italic; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.compare-tables { display: flex; flex-wrap: wrap; gap: 24px; }
.chart { margin: 12px 0; }
.chart-missing { color: #888; margin: 12px 0; height: 40px; }
.uplot .u-title { font-size: 14px; }
`;
