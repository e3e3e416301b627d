// Two runs side by side (`dsat simulate ... --compare OTHER`): the same scenario and seed on two
// topologies, or two scenarios (policies: tracker settings, events) on one topology.
import type { SimulationResult } from "./simulation.ts";

/** What a file to compare with is: a scenario has a load, a topology has hosts. */
export function compareKind(json: unknown): "scenario" | "topology" {
  return typeof json === "object" && json !== null && "load" in json ? "scenario" : "topology";
}

/** The figures compared, per type (the text and the HTML report show the same). */
export const COMPARE_ROWS: Array<[string, (t: SimulationResult["types"][string]) => number]> = [
  ["submitted", (t) => t.submitted],
  ["done", (t) => t.completed],
  ["failed", (t) => t.failed],
  ["lost", (t) => t.lost],
  ["retries", (t) => t.retries],
  ["reroutes", (t) => t.reroutes],
  ["timeouts", (t) => t.timeouts],
  ["keyed jobs moved", (t) => t.keyMoves],
  ["jobs/s", (t) => t.throughputPerS],
  ["p50 ms", (t) => t.latencyMs.p50],
  ["p95 ms", (t) => t.latencyMs.p95],
  ["p99 ms", (t) => t.latencyMs.p99],
  ["max ms", (t) => t.latencyMs.max],
];

/** Per type with jobs in either run: each figure in A, in B, and B - A. */
export function formatComparison(a: SimulationResult, b: SimulationResult): string {
  const nameA = `A: ${a.scenario} on ${a.topology}`;
  const nameB = `B: ${b.scenario} on ${b.topology}`;
  const out = [`${nameA}\n${nameB}\nseed ${a.seed}`, ""];
  const types = [...new Set([...Object.keys(a.types), ...Object.keys(b.types)])].filter(
    (type) => (a.types[type]?.submitted ?? 0) + (b.types[type]?.submitted ?? 0) > 0,
  );
  for (const type of types) {
    const rows = COMPARE_ROWS.map(([label, pick]) => {
      const x = a.types[type] === undefined ? 0 : pick(a.types[type]);
      const y = b.types[type] === undefined ? 0 : pick(b.types[type]);
      const delta = Math.round((y - x) * 1000) / 1000;
      return [label, String(x), String(y), delta > 0 ? `+${delta}` : String(delta)];
    });
    const cells = [[type, "A", "B", "B - A"], ...rows];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((row) => row[i].length)));
    out.push(
      cells
        .map((row) =>
          row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "),
        )
        .join("\n"),
      "",
    );
  }
  const lost = (r: SimulationResult) => r.satelliteEvents["satellite.lost"] ?? 0;
  out.push(`satellites lost: A ${lost(a)}, B ${lost(b)}`);
  return `${out.join("\n")}\n`;
}
