// A run's result as text tables: totals per type, the timeline (all types together), the
// scenario's events, load per failure domain, and the busiest and idlest satellites.
import type { SimulationResult } from "./simulation.ts";

/** The per-type table's columns, in the text report and the HTML one. */
export const TYPE_COLUMNS = [
  "type",
  "submitted",
  "done",
  "failed",
  "lost",
  "retries",
  "reroutes",
  "timeouts",
  "moved",
  "jobs/s",
  "p50 ms",
  "p95 ms",
  "p99 ms",
];

type TypeResult = SimulationResult["types"][string];

/** One type's row of that table. */
export function typeRow(type: string, t: TypeResult): Array<string | number> {
  return [
    type,
    t.submitted,
    t.completed,
    t.failed,
    t.lost,
    t.retries,
    t.reroutes,
    t.timeouts,
    t.keyMoves,
    t.throughputPerS,
    t.latencyMs.p50,
    t.latencyMs.p95,
    t.latencyMs.p99,
  ];
}

/** "DSAT_ERR_TIMEOUT 3, DSAT_ERR_FAILED 1" */
export function failedByText(t: TypeResult): string {
  return Object.entries(t.failedBy)
    .map(([code, n]) => `${code} ${n}`)
    .join(", ");
}

export function formatResult(result: SimulationResult): string {
  const out: string[] = [];
  out.push(`${result.scenario} on ${result.topology}, seed ${result.seed}: ${result.description}`);
  out.push(`simulated ${(result.simulatedMs / 1000).toFixed(1)} s, ${result.routerSteps} router steps`);
  out.push("");
  out.push("per type");
  out.push(
    table(
      TYPE_COLUMNS,
      Object.entries(result.types).map(([type, t]) => typeRow(type, t)),
    ),
  );
  const failures = Object.entries(result.types).filter(([, t]) => t.failed > 0);
  for (const [type, t] of failures) out.push(`  ${type} failed by code: ${failedByText(t)}`);
  if (result.orchestrators !== undefined) {
    out.push("");
    out.push(...orchestratorLines(result));
  }
  out.push("");
  out.push(`over time (every ${result.intervalMs} ms, all types)`);
  const marks = new Map<number, string[]>();
  for (const event of result.events) {
    const index = Math.floor(event.atMs / result.intervalMs);
    marks.set(index, [...(marks.get(index) ?? []), `${event.action} ${event.what}`.trim()]);
  }
  out.push(
    table(
      [
        "t s",
        "done/s",
        "p50 ms*",
        "p99 ms*",
        "retries",
        "reroutes",
        "timeouts",
        "moved",
        "in flight",
        "waiting",
        "events",
      ],
      result.timeline.map((interval, index) => {
        const types = Object.values(interval.types);
        const done = types.reduce((sum, t) => sum + t.completed, 0);
        const worst = (pick: (t: (typeof types)[number]) => number) => Math.max(0, ...types.map(pick));
        return [
          (interval.startMs / 1000).toFixed(1),
          Math.round((done * 1000) / result.intervalMs),
          worst((t) => t.latencyMs.p50),
          worst((t) => t.latencyMs.p99),
          types.reduce((sum, t) => sum + t.retries, 0),
          types.reduce((sum, t) => sum + t.reroutes, 0),
          types.reduce((sum, t) => sum + t.timeouts, 0),
          types.reduce((sum, t) => sum + t.keyMoves, 0),
          interval.inFlight,
          interval.waiting + interval.queued,
          (marks.get(index) ?? []).join("; "),
        ];
      }),
    ),
  );
  out.push(
    "* the slowest type in the interval; moved: keyed jobs served by another satellite than their key's last",
  );
  out.push("");
  for (const [level, buckets] of Object.entries(result.domains)) {
    if (level === "host" && Object.keys(buckets).length > 12) continue;
    out.push(
      `load per ${level}: ${Object.entries(buckets)
        .map(([name, b]) => `${name} ${(b.share * 100).toFixed(1)}%`)
        .join(", ")}`,
    );
  }
  const busiest = [...result.satellites].sort(
    (a, b) => b.utilization - a.utilization || (a.id < b.id ? -1 : 1),
  );
  const shown = busiest.length <= 12 ? busiest : [...busiest.slice(0, 6), ...busiest.slice(-6)];
  out.push("");
  out.push(busiest.length <= 12 ? "satellites" : `satellites (6 busiest, 6 idlest of ${busiest.length})`);
  out.push(
    table(
      ["satellite", "jobs", "busy", "location"],
      shown.map((s) => [s.id, s.jobs, `${(s.utilization * 100).toFixed(1)}%`, s.location]),
    ),
  );
  const sat = Object.entries(result.satelliteEvents)
    .map(([topic, n]) => `${topic} ${n}`)
    .join(", ");
  if (sat !== "") out.push(`router events: ${sat}`);
  return `${out.join("\n")}\n`;
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) =>
          i === 0 || (i === row.length - 1 && header[i] === "events")
            ? cell.padEnd(widths[i])
            : cell.padStart(widths[i]),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Several orchestrators: the nodes, each leadership, each failover and the latency around it. */
export function orchestratorLines(result: SimulationResult): string[] {
  const o = result.orchestrators;
  if (o === undefined) return [];
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const after = (at: number | null, from: number) => (at === null ? "never" : `+${Math.round(at - from)} ms`);
  const lines = [
    `orchestrators (Raft): ${o.nodes
      .map((n) => `${n.id} on ${n.host} ${n.up ? `${n.role} term ${n.term}` : "dead"}`)
      .join(", ")}`,
    `leaderships: ${o.leaderships
      .map(
        (l) =>
          `${l.node} term ${l.term} from ${s(l.fromMs)}${l.toMs === null ? "" : ` to ${s(l.toMs)} (${l.ended ?? ""})`}`,
      )
      .join("; ")}`,
  ];
  for (const f of o.failovers)
    lines.push(
      `failover at ${s(f.atMs)}: ${f.killed} killed with ${f.inFlight} requests waiting; ${f.leader ?? "no node"} elected ${after(f.electedAtMs, f.atMs)}, serving ${after(f.servingAtMs, f.atMs)}, first answer ${after(f.firstAnswerAtMs, f.atMs)}; latency p50/p99/max ${f.windowMs / 1000} s before ${f.latencyBeforeMs.p50}/${f.latencyBeforeMs.p99}/${f.latencyBeforeMs.max} ms, after ${f.latencyAfterMs.p50}/${f.latencyAfterMs.p99}/${f.latencyAfterMs.max} ms`,
    );
  lines.push(
    `raft: ${o.raftMessages} messages, ${o.proposals} entries proposed; clients sent ${o.resent} requests again${o.notLeader > 0 ? `, ${o.notLeader} NOT_LEADER answers` : ""}; satellites ran ${o.executions} jobs`,
  );
  return lines;
}
