// The dashboard page's script (src/dashboard/page.ts inlines it after uPlot). One server-sent events
// stream: a snapshot when it opens, then one delta per tick, applied in place. Every text from the
// orchestrator goes in through textContent, never as markup. window.dsatDashboard tells a test what
// the page has received and drawn.
(() => {
  const COLORS = { done: "#2f9e44", failed: "#e03131", retried: "#f08c00", acked: "#1c7ed6" };
  const LATENCY = [
    ["windowP50", "#0ca678", "p50 this tick"],
    ["windowP99", "#e8590c", "p99 this tick"],
    ["windowMean", "#868e96", "mean this tick"],
    ["p50", "#1c7ed6", "p50 since start"],
    ["p99", "#5f3dc4", "p99 since start"],
  ];
  // The job types table's columns; the latencies are the last tick's.
  const TABLE_KEYS = [
    "done",
    "failed",
    "retried",
    "acked",
    "inFlight",
    "windowP50",
    "windowP99",
    "windowMean",
  ];
  // latencyPoints: per type, the ticks with a latency measured (a test checks the chart has some).
  const page = { snapshots: 0, deltas: 0, charts: 0, drawn: 0, admin: false, last: null, latencyPoints: {} };
  window.dsatDashboard = page;

  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  };
  const fmt = (value) =>
    value === null || value === undefined ? "-" : Number.isInteger(value) ? String(value) : value.toFixed(1);
  const time = (at) =>
    `${new Date(at).toLocaleTimeString(undefined, { hour12: false })}.${String(at % 1000).padStart(3, "0")}`;

  let historyPoints = 300;
  const rows = new Map(); // satellite id -> row
  const satElements = new Map(); // satellite id -> element
  let tree = null;
  const types = new Map(); // type -> { xs, columns, charts, row }

  // ---- the stream ----
  const stream = new EventSource("events");
  stream.addEventListener("snapshot", (message) => {
    const snapshot = JSON.parse(message.data);
    page.snapshots++;
    page.admin = snapshot.admin;
    historyPoints = snapshot.historyPoints;
    setMode(snapshot.admin);
    rows.clear();
    for (const row of snapshot.satellites) rows.set(row.id, row);
    for (const [type, kept] of Object.entries(snapshot.history)) {
      const entry = typeEntry(type);
      entry.xs.length = 0;
      for (const column of Object.values(entry.columns)) column.length = 0;
      kept.t.forEach((t, i) => {
        pushPoint(entry, t, kept.points[i]);
      });
      redraw(entry);
      if (kept.points.length > 0) typeRow(entry, kept.points[kept.points.length - 1]);
    }
    renderTree(snapshot.tree);
    common(snapshot);
  });
  stream.addEventListener("delta", (message) => {
    const delta = JSON.parse(message.data);
    page.deltas++;
    page.last = delta;
    for (const row of delta.satellites) rows.set(row.id, row);
    for (const id of delta.removed) rows.delete(id);
    for (const [type, point] of Object.entries(delta.types)) {
      const entry = typeEntry(type);
      pushPoint(entry, delta.t, point);
      redraw(entry);
      typeRow(entry, point);
    }
    if (delta.tree !== undefined) renderTree(delta.tree);
    else {
      for (const row of delta.satellites) updateSatellite(row);
      for (const id of delta.removed) satElements.get(id)?.remove();
    }
    common(delta);
  });
  stream.addEventListener("error", () => {
    $("control").className = "badge bad";
    $("control").textContent = "dashboard unreachable";
  });

  function common(message) {
    const control = $("control");
    control.className = `badge ${message.control.ok ? "ok" : "bad"}`;
    control.textContent = message.control.ok
      ? "orchestrator answering"
      : `orchestrator: ${message.control.error}`;
    $("events-per-s").textContent = fmt(message.totals.eventsPerS);
    $("jobs-in-flight").textContent = fmt(message.totals.jobsInFlight);
    $("jobs-waiting").textContent = fmt(message.totals.jobsWaiting);
    $("satellite-count").textContent = fmt(message.totals.satellites);
    list(
      "list-breakers",
      message.lists.breakers.map((id) => id),
    );
    list(
      "list-drained",
      message.lists.drained.map((id) => id),
    );
    list(
      "list-poison",
      message.lists.poison.map((e) => `${time(e.at)} ${e.id ?? "?"} (${e.type ?? "?"}) ${e.detail ?? ""}`),
    );
    list(
      "list-lost",
      message.lists.lost.map((e) => `${time(e.at)} ${e.satellite} ${e.detail ?? ""}`),
    );
    renderOrchestrators(message.orchestrators ?? []);
    const ring = message.ring;
    $("ring").textContent =
      `The search keeps the events of the last ${ring.jobs} jobs (at most ${ring.jobsMax}, ${Math.round(ring.bytes / 1024)} KiB of ${Math.round(ring.bytesMax / 1024)} KiB)` +
      (ring.oldestAt === null ? "." : `, since ${time(ring.oldestAt)}.`);
    updateCounts();
    const selected = $("detail").dataset.id;
    if (selected !== undefined && rows.has(selected)) showDetail(selected);
  }

  // ---- replicated orchestrators: one row per node, rebuilt each tick (a few rows) ----
  function renderOrchestrators(nodes) {
    $("orchestrators-section").hidden = nodes.length === 0;
    page.orchestrators = nodes.map((node) => ({ id: node.id, role: node.role, term: node.term }));
    $("orchestrators").tBodies[0].replaceChildren(
      ...nodes.map((node) => {
        const tr = el(
          "tr",
          node.role === "leader" ? "leader" : node.role === "unreachable" ? "unreachable" : "",
        );
        tr.dataset.node = node.id;
        const cell = (key, text, className = "") => {
          const td = el("td", className, text);
          td.dataset.key = key;
          tr.append(td);
          return td;
        };
        cell("id", node.id);
        cell("role", node.role).title =
          node.error ?? (node.leader === null ? "no leader known" : `leader ${node.leader}`);
        cell("term", fmt(node.term), "n");
        cell("commit", fmt(node.commit), "n");
        cell("lag", fmt(node.lag), "n");
        const health = cell("health", "");
        health.append(el("span", `health ${node.health}`, node.health));
        cell("serving", node.serving ? "yes" : "no");
        return tr;
      }),
    );
  }

  function list(id, items) {
    const ul = $(id);
    ul.replaceChildren(
      ...(items.length === 0 ? [el("li", "empty", "none")] : items.map((item) => el("li", "", item))),
    );
  }

  // ---- the failure-domain tree ----
  function renderTree(root) {
    tree = root;
    const container = $("tree");
    const open = new Set(
      [...container.querySelectorAll("details")].filter((d) => !d.open).map((d) => d.dataset.path),
    );
    satElements.clear();
    const build = (node, path) => {
      const details = el("details");
      details.dataset.path = path;
      details.open = !open.has(path);
      const summary = el("summary", "", node.name);
      summary.append(el("span", "counts"));
      details.append(summary);
      for (const child of node.children) details.append(build(child, `${path}/${child.name}`));
      for (const id of node.satellites) {
        const item = el("div", "sat");
        item.dataset.sat = id;
        item.append(
          el("span", "name", id),
          el("span", "state"),
          el("div", "bar"),
          el("span", "load n"),
          el("span", "score n"),
        );
        item.children[2].append(el("i"));
        item.addEventListener("click", () => showDetail(id));
        satElements.set(id, item);
        details.append(item);
        const row = rows.get(id);
        if (row !== undefined) updateSatellite(row);
      }
      return details;
    };
    if (root.children.length === 0 && root.satellites.length === 0)
      container.replaceChildren(el("p", "empty", "no satellite yet"));
    else container.replaceChildren(...root.children.map((child) => build(child, child.name)));
    updateCounts();
  }

  function updateSatellite(row) {
    const item = satElements.get(row.id);
    if (item === undefined) return;
    item.className = `sat s-${row.state}`;
    item.dataset.state = row.state;
    item.title = `${row.id}: ${row.state}, ${row.inFlight}/${row.capacity} in flight, ${row.queued} queued`;
    item.children[1].textContent = row.state;
    item.children[2].firstChild.style.width = `${Math.min(100, Math.round(row.load * 100))}%`;
    item.children[3].textContent = `${Math.round(row.load * 100)}%`;
    item.children[4].textContent = row.score === undefined ? "" : fmt(row.score);
  }

  /** Each domain's summary: satellites ready of all, and its mean load. */
  function updateCounts() {
    if (tree === null) return;
    const walk = (node, details) => {
      let total = 0;
      let ready = 0;
      let load = 0;
      const childDetails = [...details.children].filter((c) => c.tagName === "DETAILS");
      node.children.forEach((child, i) => {
        const sums = walk(child, childDetails[i]);
        total += sums.total;
        ready += sums.ready;
        load += sums.load;
      });
      for (const id of node.satellites) {
        const row = rows.get(id);
        if (row === undefined) continue;
        total++;
        if (row.state === "ready") ready++;
        load += row.load;
      }
      details.firstChild.lastChild.textContent = `${ready}/${total} ready, load ${total === 0 ? 0 : Math.round((100 * load) / total)}%`;
      return { total, ready, load };
    };
    const tops = [...$("tree").children].filter((c) => c.tagName === "DETAILS");
    tree.children.forEach((child, i) => {
      if (tops[i]) walk(child, tops[i]);
    });
  }

  function showDetail(id) {
    const row = rows.get(id);
    const detail = $("detail");
    if (row === undefined) return;
    detail.hidden = false;
    detail.dataset.id = id;
    $("detail-title").textContent = id;
    const fields = [
      ["state", row.state],
      ["location", row.location || "(none)"],
      ["types", row.types.join(", ")],
      ["in flight", `${row.inFlight} of ${row.capacity}`],
      ["queued", row.queued],
      ["load", `${Math.round(row.load * 100)}%`],
      ["done / failed", `${row.done} / ${row.failed}`],
      ["score", row.score === undefined ? "not reported" : fmt(row.score)],
    ];
    $("detail-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", "", k), el("dd", "", v)]));
  }

  // ---- per-type charts and figures ----
  function typeEntry(type) {
    let entry = types.get(type);
    if (entry !== undefined) return entry;
    const columns = { done: [], failed: [], retried: [], acked: [] };
    for (const [key] of LATENCY) columns[key] = [];
    const box = el("div", "chart");
    box.dataset.type = type;
    const throughput = el("div");
    const latency = el("div");
    box.append(
      el("h3", "", `${type}: jobs per second`),
      throughput,
      el("h3", "", `${type}: latency, ms`),
      latency,
    );
    $("charts").append(box);
    const width = Math.max(320, box.clientWidth || 380);
    const drawn = (u) => {
      if (!u.dsatDrawn) {
        u.dsatDrawn = true;
        page.drawn++;
      }
    };
    const chart = (target, series, yLabel) => {
      page.charts++;
      return new uPlot(
        {
          width,
          height: 160,
          series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: false }))],
          axes: [{}, { label: yLabel, size: 50 }],
          legend: { live: false },
          hooks: { draw: [drawn] },
        },
        [[], ...series.map(() => [])],
        target,
      );
    };
    entry = {
      type,
      xs: [],
      columns,
      throughput: chart(throughput, Object.entries(COLORS), "per s"),
      latency: chart(
        latency,
        LATENCY.map(([, color, label]) => [label, color]),
        "ms",
      ),
      row: null,
    };
    types.set(type, entry);
    return entry;
  }

  function pushPoint(entry, t, point) {
    entry.xs.push(t / 1000);
    for (const [key, column] of Object.entries(entry.columns)) column.push(point[key] ?? null);
    if (entry.xs.length > historyPoints) {
      entry.xs.shift();
      for (const column of Object.values(entry.columns)) column.shift();
    }
  }

  function redraw(entry) {
    const c = entry.columns;
    page.latencyPoints[entry.type] = c.windowP50.filter((v) => v !== null).length;
    entry.throughput.setData([entry.xs, c.done, c.failed, c.retried, c.acked]);
    entry.latency.setData([entry.xs, ...LATENCY.map(([key]) => c[key])]);
  }

  function typeRow(entry, point) {
    if (entry.row === null) {
      const type = [...types.entries()].find(([, e]) => e === entry)[0];
      entry.row = el("tr");
      entry.row.dataset.type = type;
      entry.row.append(el("td", "", type));
      for (const key of TABLE_KEYS) {
        const cell = el("td", "n");
        cell.dataset.key = key;
        entry.row.append(cell);
      }
      $("types").tBodies[0].append(entry.row);
    }
    for (const cell of entry.row.querySelectorAll("td[data-key]"))
      cell.textContent = fmt(point[cell.dataset.key]);
  }

  // ---- job search ----
  $("job-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("job-id").value.trim();
    const out = $("job-result");
    if (id === "") return;
    out.replaceChildren(el("p", "empty", "looking..."));
    try {
      const response = await fetch(`api/job?id=${encodeURIComponent(id)}`);
      const job = await response.json();
      if (!response.ok) throw new Error(job.error);
      out.replaceChildren(...timeline(job));
    } catch (error) {
      out.replaceChildren(el("p", "message error", `search failed: ${error.message}`));
    }
  });

  function timeline(job) {
    const parts = [];
    const items = [];
    const o = job.orchestrator;
    if (o !== null && typeof o.receivedAt === "number")
      items.push([o.receivedAt, "accepted", `type ${o.type}`]);
    for (const e of job.events) {
      const bits = [
        e.type && `type ${e.type}`,
        e.satellite && `on ${e.satellite}`,
        e.status && `status ${e.status}`,
        e.detail,
      ].filter(Boolean);
      items.push([e.at, e.event.replace(/^job\./, ""), bits.join(", ")]);
    }
    if (o !== null && typeof o.completedAt === "number")
      items.push([o.completedAt, o.state, o.message ?? ""]);
    items.sort((a, b) => a[0] - b[0]);
    if (!job.inWindow && o === null) {
      parts.push(
        el(
          "p",
          "message error",
          `${job.id}: not in the dashboard's window (it keeps the events of the last ${job.window.jobs} jobs${job.window.oldestAt === null ? "" : `, since ${time(job.window.oldestAt)}`}), and the orchestrator does not hold it${job.orchestratorError ? ` (${job.orchestratorError})` : ""}.`,
        ),
      );
      return parts;
    }
    if (!job.inWindow)
      parts.push(
        el("p", "empty", "not in the dashboard's window: only what the orchestrator holds is shown"),
      );
    if (o !== null)
      parts.push(
        el(
          "p",
          "",
          `now: ${o.phase} ${o.state}${o.satellite ? ` on ${o.satellite}` : ""}, attempt ${o.attempt ?? "-"}`,
        ),
      );
    else if (job.orchestratorError)
      parts.push(el("p", "empty", `the orchestrator's view: ${job.orchestratorError}`));
    const ol = el("ol", "timeline");
    ol.dataset.job = job.id;
    for (const [at, what, detail] of items) {
      const li = el("li");
      li.dataset.event = what;
      li.append(
        el("span", "at", time(at)),
        el("b", "", what),
        document.createTextNode(detail ? ` ${detail}` : ""),
      );
      ol.append(li);
    }
    if (job.dropped > 0) ol.append(el("li", "empty", `${job.dropped} later events not kept`));
    parts.push(ol);
    return parts;
  }

  // ---- admin ----
  function setMode(admin) {
    $("mode").textContent = admin ? "admin (token)" : "read-only";
    for (const node of document.querySelectorAll(".admin-only")) node.hidden = !admin;
    $("admin-off").hidden = admin;
  }

  function confirmAction(text) {
    return new Promise((resolve) => {
      const box = $("confirm");
      $("confirm-text").textContent = text;
      box.classList.add("open");
      const done = (answer) => {
        box.classList.remove("open");
        $("confirm-yes").onclick = null;
        $("confirm-no").onclick = null;
        resolve(answer);
      };
      $("confirm-yes").onclick = () => done(true);
      $("confirm-no").onclick = () => done(false);
    });
  }

  async function admin(body, question) {
    const out = $("admin-result");
    if (!(await confirmAction(question))) {
      out.className = "message";
      out.textContent = "cancelled";
      return;
    }
    try {
      const response = await fetch("api/admin", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Dsat-Admin-Token": $("token").value },
        body: JSON.stringify(body),
      });
      const reply = await response.json();
      if (!response.ok || reply.ok === false) throw new Error(reply.error ?? `HTTP ${response.status}`);
      out.className = "message ok";
      out.textContent = `${body.action} ${body.target ?? body.id}: done${reply.satellites ? ` (${reply.satellites.join(", ") || "no satellite now"})` : ""}`;
    } catch (error) {
      out.className = "message error";
      out.textContent = `${body.action} refused: ${error.message}`;
    }
  }

  const target = () => $("admin-target").value.trim();
  $("drain").addEventListener(
    "click",
    () =>
      target() &&
      admin({ action: "drain", target: target() }, `Drain ${target()}? Its satellites take no new job.`),
  );
  $("undrain").addEventListener(
    "click",
    () => target() && admin({ action: "undrain", target: target() }, `Undrain ${target()}?`),
  );
  $("retry").addEventListener("click", () => {
    const id = $("retry-id").value.trim();
    if (id) admin({ action: "retry", id }, `Run the failed job ${id} again?`);
  });
  $("detail-drain").addEventListener("click", () => {
    const id = $("detail").dataset.id;
    admin({ action: "drain", target: id }, `Drain ${id}? It takes no new job.`);
  });
  $("detail-undrain").addEventListener("click", () => {
    const id = $("detail").dataset.id;
    admin({ action: "undrain", target: id }, `Undrain ${id}?`);
  });
})();
