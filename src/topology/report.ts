// What `dsat topology check` and `dsat topology show` print: per type, its satellites per failure
// domain, its rule in Ceph's words, whether it is degraded, and each satellite's share of jobs as
// CRUSH gives it (the first candidate of many mappings, the satellite a job goes to when all are up).
import { type CrushMap, describeStep, formatTree, type Rule } from "../crush/index.ts";
import { TypePlacement } from "../orchestrator/index.ts";
import { formatTable } from "../util/index.ts";
import { type SatelliteInstance, satelliteInstances, type Topology, typeMap } from "./topology.ts";

export interface SatelliteShare {
  id: string;
  /** Location path, e.g. "dc1/r1/h1". */
  where: string;
  weight: number;
  /** weight / the type's total weight. */
  weightShare: number;
  /** Fraction of mappings whose first candidate it is. */
  crushShare: number;
}

export interface TypeReport {
  name: string;
  satellites: SatelliteInstance[];
  replicas: number;
  /** The level candidates are spread over (the default rule's failure domain, or the rule's leaf type). */
  domainLevel: string;
  /** Satellites per bucket of domainLevel, in spread order. */
  domains: Array<{ bucket: string; satellites: number }>;
  /** The rule's steps in Ceph's words (`take default`, `chooseleaf firstn 0 type rack`, `emit`). */
  steps: string[];
  /** Fewest and most candidates a job got over the samples. */
  candidatesMin: number;
  candidatesMax: number;
  /** Why jobs get fewer candidates than replicas; undefined when they do not. */
  degraded?: string;
  shares: SatelliteShare[];
  samples: number;
  map?: CrushMap;
}

export interface CheckReport {
  types: TypeReport[];
  warnings: string[];
}

const DEFAULT_REPLICAS = 3;

/** Analyzes one type with `samples` CRUSH mappings (x = 0..samples-1). */
export function typeReport(topology: Topology, name: string, samples = 10_000): TypeReport {
  const type = topology.types[name];
  const replicas = type.replicas ?? DEFAULT_REPLICAS;
  const failureDomain = type.failureDomain ?? topology.hierarchy.at(-1) ?? "host";
  const satellites = satelliteInstances(topology).filter((instance) => instance.type === name);
  const leafType = type.rule?.steps
    .filter((step) => step.op === "take" || step.op === "choose" || step.op === "select")
    .map((step) => ("type" in step ? step.type : undefined))
    .filter((level): level is string => level !== undefined && level !== "satellite")
    .at(-1);
  const domainLevel = type.rule === undefined ? failureDomain : (leafType ?? "satellite");
  const domainOf = (instance: SatelliteInstance) =>
    instance.location.find(([level]) => level === domainLevel)?.[1] ?? instance.id;
  const domains = new Map<string, number>();
  for (const instance of satellites)
    domains.set(domainOf(instance), (domains.get(domainOf(instance)) ?? 0) + 1);
  const report: TypeReport = {
    name,
    satellites,
    replicas,
    domainLevel,
    domains: [...domains].map(([bucket, count]) => ({ bucket, satellites: count })),
    steps: [],
    candidatesMin: 0,
    candidatesMax: 0,
    shares: [],
    samples,
  };
  if (satellites.length === 0) return report;
  const placement = new TypePlacement(
    name,
    topology.hierarchy,
    { replicas, failureDomain, rule: type.rule },
    satellites.map((instance, device) => ({
      device,
      satelliteId: instance.id,
      location: instance.location,
      weight: instance.weight,
      placeable: true,
    })),
    1,
  );
  const map = placement.crushMap;
  report.map = map;
  report.steps = (map.rules[0] as Rule).steps.map((step) => describeStep(step, map));
  const first = new Map<string, number>();
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let x = 0; x < samples; x++) {
    const candidates = placement.candidates(x);
    min = Math.min(min, candidates.length);
    max = Math.max(max, candidates.length);
    if (candidates.length > 0) first.set(candidates[0], (first.get(candidates[0]) ?? 0) + 1);
  }
  report.candidatesMin = min;
  report.candidatesMax = max;
  const totalWeight = satellites.reduce((sum, instance) => sum + instance.weight, 0);
  report.shares = satellites.map((instance) => ({
    id: instance.id,
    where: instance.location.map(([, bucket]) => bucket).join("/"),
    weight: instance.weight,
    weightShare: instance.weight / totalWeight,
    crushShare: (first.get(instance.id) ?? 0) / samples,
  }));
  if (min < replicas) {
    const domainNames = report.domains.map((domain) => domain.bucket).join(", ");
    report.degraded =
      type.rule === undefined && domains.size < replicas
        ? `only ${plural(domains.size, domainLevel)} (${domainNames}) for ${replicas} replicas: jobs get ${plural(domains.size, "candidate")}, ${replicas - domains.size} short`
        : `the rule gives ${min === max ? min : `${min}..${max}`} candidates for ${replicas} replicas`;
  }
  return report;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** Warnings that do not stop a load: hosts missing a level, types with both rule and failureDomain. */
export function topologyWarnings(topology: Topology): string[] {
  const warnings: string[] = [];
  const above = topology.hierarchy.slice(0, -1);
  for (const [host, placement] of Object.entries(topology.hosts)) {
    const missing = above.filter((level) => placement[level] === undefined);
    if (missing.length > 0)
      warnings.push(`host ${host} has no ${missing.join(", ")}: it sits directly under the level above`);
  }
  for (const [name, type] of Object.entries(topology.types)) {
    if (type.rule !== undefined && type.failureDomain !== undefined)
      warnings.push(`type ${name}: rule and failureDomain both given; the rule decides placement`);
  }
  return warnings;
}

/** `dsat topology check` output. `display` is the file name as the user gave it. */
export function formatCheck(topology: Topology, display: string, samples = 10_000): string {
  const lines: string[] = [];
  const instances = satelliteInstances(topology);
  const typeNames = Object.keys(topology.types);
  lines.push(
    `${display}: valid. ${Object.keys(topology.hosts).length} hosts, ${typeNames.length} types, ${instances.length} satellites`,
  );
  lines.push(`hierarchy: ${topology.hierarchy.join(" > ")}`);
  const warnings = topologyWarnings(topology);
  let degraded = 0;
  for (const name of typeNames) {
    const type = topology.types[name];
    const report = typeReport(topology, name, samples);
    lines.push("");
    const next = type.next === undefined ? "" : `, next ${[type.next].flat().join(", ")}`;
    lines.push(
      `type ${name}: ${plural(report.satellites.length, "satellite")}, replicas ${report.replicas}, failure domain ${report.domainLevel}${next}`,
    );
    if (report.satellites.length === 0) {
      lines.push(
        type.module === undefined
          ? "  no module: its satellites are started outside this topology and register on their own"
          : "  no instances",
      );
      continue;
    }
    lines.push(`  rule: ${report.steps.join("; ")}${type.rule === undefined ? " (default)" : ""}`);
    lines.push(
      `  satellites per ${report.domainLevel}: ${report.domains.map((domain) => `${domain.bucket} ${domain.satellites}`).join(", ")}`,
    );
    if (report.degraded !== undefined) {
      degraded++;
      lines.push(`  DEGRADED: ${report.degraded}`);
    } else {
      const spread =
        report.replicas === 1 || report.domainLevel === "satellite"
          ? ""
          : `, each in a different ${report.domainLevel}`;
      lines.push(`  placement: ${plural(report.replicas, "candidate")} per job${spread}`);
    }
    lines.push(`  expected share of jobs (first candidate of ${report.samples} CRUSH mappings):`);
    const rows = [
      ["satellite", "location", "weight", "weight share", "CRUSH share"],
      ...report.shares.map((share) => [
        share.id,
        share.where,
        String(share.weight),
        percent(share.weightShare),
        percent(share.crushShare),
      ]),
    ];
    for (const line of formatTable(rows, [false, false, true, true, true])) lines.push(`    ${line}`);
  }
  lines.push("");
  for (const warning of warnings) lines.push(`warning: ${warning}`);
  lines.push(
    degraded === 0
      ? "ok: every type gets as many candidates as it has replicas"
      : `warning: ${degraded} of ${typeNames.length} types degraded (fewer candidates than replicas)`,
  );
  return `${lines.join("\n")}\n`;
}

interface TreeNode {
  label: string;
  children: TreeNode[];
}

/** `dsat topology show` output: the hierarchy with satellites under hosts, then each type's CRUSH tree. */
export function formatShow(topology: Topology, display: string): string {
  const instances = satelliteInstances(topology);
  const root: TreeNode = { label: "default (root)", children: [] };
  const index = new Map<string, TreeNode>();
  for (const [host, placement] of Object.entries(topology.hosts)) {
    let node = root;
    let key = "";
    for (const level of topology.hierarchy) {
      const bucket = level === "host" ? host : placement[level];
      if (bucket === undefined) continue;
      key += `/${bucket}`;
      let child = index.get(key);
      if (child === undefined) {
        child = { label: `${level} ${bucket}`, children: [] };
        index.set(key, child);
        node.children.push(child);
      }
      node = child;
    }
    for (const instance of instances.filter((candidate) => candidate.host === host)) {
      const concurrency = topology.types[instance.type].concurrency;
      const details = [
        `weight ${instance.weight}`,
        ...(concurrency === undefined ? [] : [`concurrency ${concurrency}`]),
      ];
      node.children.push({ label: `${instance.id}  (${details.join(", ")})`, children: [] });
    }
  }
  const lines = [`${display}: hierarchy ${topology.hierarchy.join(" > ")}`, "", root.label];
  const draw = (node: TreeNode, prefix: string): void => {
    node.children.forEach((child, position) => {
      const last = position === node.children.length - 1;
      lines.push(`${prefix}${last ? "└── " : "├── "}${child.label}`);
      draw(child, `${prefix}${last ? "    " : "│   "}`);
    });
  };
  draw(root, "");
  for (const name of Object.keys(topology.types)) {
    const members = instances.filter((instance) => instance.type === name);
    lines.push("");
    if (members.length === 0) {
      lines.push(`type ${name}: no satellites in this topology`);
      continue;
    }
    const report = typeReport(topology, name, 1);
    const map = report.map ?? typeMap(topology, members);
    lines.push(`type ${name}: rule ${report.steps.join("; ")}`);
    lines.push(...formatTree(map).trimEnd().split("\n"));
    lines.push(`  devices: ${members.map((member, device) => `osd.${device} = ${member.id}`).join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
