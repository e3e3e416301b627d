// The HTML report's page script (src/simulate/html.ts inlines it after uPlot): draws the charts from
// the JSON in #dsat-data. One column per run; a row's charts share their y range so that A and B
// compare by eye. The scenario's events are drawn on every time chart as vertical lines (uPlot's
// draw hook). window.dsatReport tells a test when every chart has drawn and where the marks are.
(() => {
  const EVENT_COLOR = "#e8590c";
  const COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];
  const data = JSON.parse(document.getElementById("dsat-data").textContent);
  const runs = data.runs;
  const report = { charts: 0, drawn: 0, marks: [] };
  window.dsatReport = report;

  /** The rows of charts, each with one spec per run (null where that run lacks it). */
  const rows = [];
  const typeNames = [...new Set(runs.flatMap((run) => Object.keys(run.types)))];
  for (const type of typeNames) {
    rows.push(
      runs.map((run) => {
        const t = run.types[type];
        if (t === undefined) return null;
        return {
          kind: "time",
          title: `${type}: jobs per second`,
          yLabel: "per s",
          xs: run.xs,
          events: run.events,
          series: [
            ["done", t.done],
            ["failed", t.failed],
            ["retries", t.retries],
            ["reroutes", t.reroutes],
            ["timeouts", t.timeouts],
          ],
        };
      }),
    );
    rows.push(
      runs.map((run) => {
        const t = run.types[type];
        if (t === undefined) return null;
        return {
          kind: "time",
          title: `${type}: latency (ms)`,
          yLabel: "ms",
          xs: run.xs,
          events: run.events,
          series: [
            ["p50", t.p50],
            ["p95", t.p95],
            ["p99", t.p99],
          ],
        };
      }),
    );
  }
  rows.push(
    runs.map((run) => ({
      kind: "time",
      title: "queue depths (at each interval's end)",
      yLabel: "jobs",
      xs: run.xs.map((x) => x + run.intervalS),
      events: run.events,
      series: [
        ["in flight", run.queue.inFlight],
        ["queued on satellites", run.queue.queued],
        ["waiting for a slot", run.queue.waiting],
      ],
    })),
  );
  const levels = [...new Set(runs.flatMap((run) => run.domains.map((d) => d.level)))];
  for (const level of levels) {
    rows.push(
      runs.map((run) => {
        const domain = run.domains.find((d) => d.level === level);
        if (domain === undefined) return null;
        return {
          kind: "bars",
          title: `load per ${level} (share of jobs done, %)`,
          names: domain.names,
          series: [["share %", domain.share]],
        };
      }),
    );
  }

  const container = document.getElementById("charts");
  const columnWidth = () => Math.max(320, Math.floor(container.clientWidth / runs.length) - 24);
  const charts = [];
  for (const row of rows) {
    // A loop, not Math.max(...values): a timeline may hold 100,000 intervals.
    let yMax = 1;
    for (const spec of row)
      for (const [, values] of spec === null ? [] : spec.series)
        for (const value of values) if (value !== null && value > yMax) yMax = value;
    // The same x range too, so that A's and B's events and gaps line up.
    let xMax = 0;
    for (const spec of row)
      if (spec !== null && spec.kind === "time") xMax = Math.max(xMax, spec.xs.at(-1) ?? 0);
    for (const spec of row) {
      const cell = document.createElement("div");
      cell.className = "chart-column";
      container.appendChild(cell);
      if (spec === null) {
        cell.innerHTML = '<div class="chart-missing">not in this run</div>';
        continue;
      }
      const index = report.charts++;
      cell.className = "chart-column chart";
      cell.dataset.chart = String(index);
      const options = spec.kind === "bars" ? barOptions(spec, yMax) : timeOptions(spec, xMax, yMax);
      options.width = columnWidth();
      options.height = 240;
      const first = { done: false };
      options.hooks = options.hooks ?? {};
      options.hooks.draw = [
        ...(options.hooks.draw ?? []),
        (u) => {
          if (first.done) return;
          first.done = true;
          report.drawn++;
          if (spec.kind === "time")
            for (const mark of u._dsatMarks) report.marks.push({ chart: index, ...mark });
        },
      ];
      const xs = spec.kind === "bars" ? spec.names.map((_, i) => i) : spec.xs;
      charts.push(new uPlot(options, [xs, ...spec.series.map(([, values]) => values)], cell));
    }
  }
  window.addEventListener("resize", () => {
    for (const chart of charts) chart.setSize({ width: columnWidth(), height: 240 });
  });

  function timeOptions(spec, xMax, yMax) {
    return {
      title: spec.title,
      scales: {
        x: { time: false, auto: false, range: [0, Math.max(xMax, 1e-3)] },
        y: { range: [0, yMax * 1.05] },
      },
      axes: [{ label: "time (s)" }, { label: spec.yLabel }],
      series: [
        { label: "t (s)" },
        ...spec.series.map(([label, values], i) => ({
          label,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          // A value between two gaps (latency where one interval in two answers jobs) has no line
          // to draw: show it as a point, even where uPlot hides points for density.
          points: { filter: (_u, _series, show) => (show ? null : isolated(values)) },
        })),
      ],
      hooks: { draw: [(u) => drawEvents(u, spec.events)] },
    };
  }

  function isolated(values) {
    const out = [];
    for (let i = 0; i < values.length; i++)
      if (values[i] !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null)
        out.push(i);
    return out;
  }

  function barOptions(spec, yMax) {
    const names = spec.names;
    const step = Math.max(1, Math.ceil(names.length / 24));
    return {
      title: spec.title,
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: [0, yMax * 1.1] } },
      axes: [
        {
          splits: () => names.map((_, i) => i).filter((i) => i % step === 0),
          values: (_u, splits) => splits.map((i) => names[i] ?? ""),
          rotate: names.length > 8 ? -30 : 0,
        },
        { label: "%" },
      ],
      series: [
        { label: "bucket", value: (_u, i) => (i === null ? "" : (names[i] ?? "")) },
        ...spec.series.map(([label], i) => ({
          label,
          stroke: COLORS[i % COLORS.length],
          fill: `${COLORS[i % COLORS.length]}99`,
          paths: uPlot.paths.bars({ size: [0.7, 80] }),
          points: { show: false },
        })),
      ],
    };
  }

  /** A vertical line and a label per event, in canvas pixels; remembers where for the test. */
  function drawEvents(u, events) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const marks = [];
    ctx.save();
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    events.forEach((event, i) => {
      const x = Math.round(u.valToPos(event.atS, "x", true));
      if (x < left || x > left + width) return;
      ctx.fillStyle = EVENT_COLOR;
      ctx.fillRect(x - Math.ceil(devicePixelRatio), top, 2 * Math.ceil(devicePixelRatio), height);
      ctx.fillText(event.label, x + 4 * devicePixelRatio, top + (12 + 13 * (i % 3)) * devicePixelRatio);
      // column: a pixel column inside the line, whatever the device pixel ratio.
      marks.push({ column: x - 1, top, height, label: event.label });
    });
    ctx.restore();
    u._dsatMarks = marks;
  }
})();
