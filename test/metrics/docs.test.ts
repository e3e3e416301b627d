// docs/observability.md lists every metric the registry has (and no other), and the Grafana
// dashboard queries only metrics that exist, in panels that fit its grid.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NodeMetrics, OrchestratorMetrics } from "../../src/metrics/index.ts";

const read = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");

/**
 * Registered metric families, the registry with every optional part on (journal, disk spill, per
 * satellite, process) and a replicated node's Raft metrics; with `series`, a histogram's _bucket,
 * _sum and _count too.
 */
function allMetricNames(series = false): Set<string> {
  const source = {
    config: { journal: {}, diskSpill: {} },
    status: () => {
      throw new Error("not scraped");
    },
    onEvent: () => () => {},
  };
  const metrics = new OrchestratorMetrics(source as never);
  const node = new NodeMetrics();
  const names = new Set<string>();
  for (const metric of [...metrics.registry.getMetricsAsArray(), ...node.registry.getMetricsAsArray()]) {
    names.add(metric.name);
    // A histogram's series: queries name these, the docs name the family.
    if (series && String(metric.type) === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${metric.name}${suffix}`);
  }
  metrics.close();
  node.close();
  return names;
}

/** Metric names in backticks in the doc, `{a,b}` alternatives expanded. */
function documentedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name] of text.matchAll(/`((?:dsat|process|nodejs)_[a-z0-9_{},]+)`/g)) {
    const alternatives = /^(.*)\{([a-z0-9,]+)\}(.*)$/.exec(name);
    if (alternatives === null) names.add(name);
    else
      for (const part of alternatives[2].split(",")) names.add(`${alternatives[1]}${part}${alternatives[3]}`);
  }
  return names;
}

describe("docs/observability.md", () => {
  it("lists every metric, and only those", () => {
    const registered = allMetricNames();
    const documented = documentedNames(read("observability.md"));
    expect([...registered].filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !registered.has(name))).toEqual([]);
  });
});

interface Panel {
  type: string;
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string }>;
}

describe("docs/grafana-dashboard.json", () => {
  const dashboard = JSON.parse(read("grafana-dashboard.json")) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; query: { query: string } }> };
    __inputs: Array<{ name: string }>;
  };

  it("queries only metrics that exist", () => {
    const registered = allMetricNames(true);
    const queries = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ...dashboard.templating.list.map((variable) => variable.query.query),
    ];
    expect(queries.length).toBeGreaterThan(30);
    for (const query of queries)
      for (const [name] of query.matchAll(/\b(?:dsat|process|nodejs)_[a-z0-9_]+/g))
        expect(registered.has(name), `${name} in ${query}`).toBe(true);
  });

  it("is importable: a data-source input, unique panel ids, panels within the grid and not overlapping", () => {
    expect(dashboard.__inputs.map((input) => input.name)).toEqual(["DS_PROMETHEUS"]);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Set<string>();
    for (const { title, gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++)
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(taken.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          taken.add(`${x},${y}`);
        }
    }
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join("\n");
    for (const subject of [
      "per type",
      "latency",
      "in flight",
      "queue",
      "per state",
      "failure domain",
      "breakers",
      "journal",
    ])
      expect(titles).toContain(subject);
  });
});
