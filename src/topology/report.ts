// What `dsat topology check` and `dsat topology show` print: per type, its satellites per failure
// domain, its rule in Ceph's words, whether it is degraded, and each satellite's share of jobs as
// CRUSH gives it (the first candidate of many mappings, the satellite a job goes to when all are up).

import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type CrushMap, describeStep, formatTree, type Rule } from "../crush/index.ts";
import { formatTable } from "../util/index.ts";
import { sampleCandidates } from "./candidates.ts";
import { satelliteInstances } from "./satellite-instances.ts";
import { describe, escapePointer } from "./schema.ts";
import { listNames } from "./semantic-checks.ts";
import { DEFAULT_REPLICAS, type SatelliteInstance, type Topology } from "./topology.ts";
import { typeMap, typePlacement } from "./type-placement.ts";

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
  const placement = typePlacement(topology, name, satellites);
  const map = placement.crushMap;
  report.map = map;
  report.steps = (map.rules[0] as Rule).steps.map((step) => describeStep(step, map));
  const { min, max, first } = sampleCandidates(placement, samples);
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

/**
 * Warnings that do not stop a load: hosts missing a level, types with both rule and failureDomain,
 * satellite keys allowed types the topology does not declare.
 */
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
  // Not an error: the orchestrator also serves types it was not configured with, once a satellite
  // registers for them (OrchestratorConfig.types). But it is usually a typo.
  const declared = Object.keys(topology.types);
  for (const [key, types] of Object.entries(topology.orchestrator.security?.satelliteTypes ?? {})) {
    types.forEach((type, index) => {
      if (Object.hasOwn(topology.types, type)) return;
      warnings.push(
        `/orchestrator/security/satelliteTypes/${escapePointer(key)}/${index}: expected a type declared under /types (${listNames(declared)}), found ${describe(type)}; allowed, since satellites may register types the topology does not declare, but check the spelling`,
      );
    });
  }
  return warnings;
}

/** A problem `check` finds outside the file itself: a JSON Pointer and a sentence. */
export interface CheckProblem {
  path: string;
  message: string;
}

/**
 * Files the topology names that are not there: the security key and key directories, and each
 * type's module. Not load errors: the pm2 ecosystem may be generated where the keys are not.
 */
export function missingFiles(topology: Topology): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const expect = (path: string, file: string, kind: "file" | "directory", what: string) => {
    let found: string | undefined;
    try {
      const stat = statSync(file);
      if (kind === "file" && !stat.isFile())
        found = stat.isDirectory() ? "a directory" : "something not a file";
      if (kind === "directory" && !stat.isDirectory()) found = "a file";
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      found = code === "ENOENT" || code === "ENOTDIR" ? "nothing" : (code ?? (error as Error).message);
    }
    if (found !== undefined) problems.push({ path, message: `expected ${what}, found ${found} at ${file}` });
  };
  const security = topology.orchestrator.security;
  if (security !== undefined) {
    expect("/orchestrator/security/serverKey", security.serverKey, "file", "the orchestrator's key file");
    if (security.admins !== undefined)
      expect(
        "/orchestrator/security/admins",
        security.admins,
        "directory",
        "a directory of the admins' NAME.pub files",
      );
    if (security.clients !== undefined)
      expect(
        "/orchestrator/security/clients",
        security.clients,
        "directory",
        "a directory of the clients' NAME.pub files",
      );
    if (security.satellites !== undefined)
      expect(
        "/orchestrator/security/satellites",
        security.satellites,
        "directory",
        "a directory of the satellites' NAME.pub files",
      );
  }
  const base = dirname(topology.file);
  for (const [name, type] of Object.entries(topology.types)) {
    if (type.module === undefined) continue;
    expect(
      `/types/${escapePointer(name)}/module`,
      resolve(base, type.module),
      "file",
      "a satellite module file",
    );
  }
  return problems;
}

/** Why a type has no satellites in the topology. */
function noSatellitesReason(topology: Topology, name: string): string {
  const type = topology.types[name];
  if (type.module === undefined) return "no module";
  if (type.instances === 0) return "instances 0";
  if (type.instancesPerHost === 0) return "instancesPerHost 0";
  return "no hosts";
}

export interface CheckResult {
  /** The report (stdout). */
  text: string;
  /** `FILE: POINTER: expected ..., found ...` lines; `check` exits 1 when there are any. */
  errors: string[];
}

/** `dsat topology check`: the report and the problems that fail the check. `display` names the file. */
export function checkTopology(topology: Topology, display: string, samples = 10_000): CheckResult {
  const lines: string[] = [];
  const instances = satelliteInstances(topology);
  const typeNames = Object.keys(topology.types);
  lines.push(
    `${display}: valid. ${Object.keys(topology.hosts).length} hosts, ${typeNames.length} types, ${instances.length} satellites`,
  );
  lines.push(`hierarchy: ${topology.hierarchy.join(" > ")}`);
  const warnings = topologyWarnings(topology);
  let degraded = 0;
  const unplaced: string[] = [];
  for (const name of typeNames) {
    const type = topology.types[name];
    const report = typeReport(topology, name, samples);
    lines.push("");
    const next = type.next === undefined ? "" : `, next ${[type.next].flat().join(", ")}`;
    lines.push(
      `type ${name}: ${plural(report.satellites.length, "satellite")}, replicas ${report.replicas}, failure domain ${report.domainLevel}${next}`,
    );
    if (report.satellites.length === 0) {
      unplaced.push(name);
      lines.push(
        `  no satellites declared (${noSatellitesReason(topology, name)}), so pm2 starts none: served only by satellites that register themselves; placement not checked`,
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
  const placed = typeNames.length - unplaced.length;
  if (degraded > 0)
    lines.push(`warning: ${degraded} of ${typeNames.length} types degraded (fewer candidates than replicas)`);
  else if (placed > 0)
    lines.push(
      unplaced.length === 0
        ? "ok: every type gets as many candidates as it has replicas"
        : `ok: every type with satellites (${placed} of ${typeNames.length}) gets as many candidates as it has replicas`,
    );
  if (unplaced.length > 0)
    lines.push(
      `note: no satellites declared for ${unplaced.join(", ")}: served only by satellites that register themselves`,
    );
  const errors = missingFiles(topology).map((problem) => `${display}: ${problem.path}: ${problem.message}`);
  if (errors.length > 0)
    lines.push(
      `error: ${plural(errors.length, "file")} named by the topology ${errors.length === 1 ? "is" : "are"} missing (listed on stderr)`,
    );
  return { text: `${lines.join("\n")}\n`, errors };
}

/** The report of `dsat topology check` (without the missing-file errors' exit code). */
export function formatCheck(topology: Topology, display: string, samples = 10_000): string {
  return checkTopology(topology, display, samples).text;
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
