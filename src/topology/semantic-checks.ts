// The checks of a topology the JSON Schema cannot express (load-topology.ts runs them after it):
// names that must exist (hosts, types, levels, buckets), cycles in `next`, and rules (names, and
// that a rule gives its type's satellites candidates at all). Each failure is a TopologyError naming
// the file, the JSON Pointer (or the line of rule text), what was expected and what was found.
import { type RuleSpec, RuleSpecError, type RuleStepSpec, resolveRule } from "../crush/index.ts";
import { sampleCandidates, whyNoCandidates } from "./candidates.ts";
import { parseRuleText, RuleTextError } from "./rule-text.ts";
import { satelliteInstances } from "./satellite-instances.ts";
import { describe, escapePointer } from "./schema.ts";
import {
  DEFAULT_REPLICAS,
  type RawTopology,
  type RawType,
  type Topology,
  TopologyError,
  type TopologyType,
} from "./topology.ts";
import { typeMap, typePlacement } from "./type-placement.ts";

/** The bucket at the top of every type's map (CRUSH's root), which rules `take`. */
export const ROOT_BUCKET = "default";
/** Level names a rule may use besides the hierarchy's: devices and the root. */
export const EXTRA_LEVELS = ["satellite", "root"] as const;
/** Keys mapped at load time to tell a rule that gives no candidate at all (check maps 10,000). */
const LOAD_SAMPLES = 64;

/** At most `max` names, then "...". */
export function listNames(names: readonly string[], max = 12): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")}, ...`;
}

/** One topology's checks, run in turn by parseTopology; each throws at the first failure. */
export class Semantics {
  /** Bucket name -> its level and the host that first placed it (hosts are buckets too). */
  private readonly buckets = new Map<string, { level: string; parents: string; host: string }>();
  /** Rule path -> where its steps are, for checks after the rule was read. */
  readonly stepsOf = new Map<string, (index: number, key?: string) => [string, string]>();

  constructor(
    private readonly file: string,
    private readonly topology: Topology,
  ) {}

  fail(path: string, message: string): never {
    throw new TopologyError(this.file, path, message);
  }

  hierarchy(): void {
    const { hierarchy } = this.topology;
    if (hierarchy[hierarchy.length - 1] !== "host") {
      this.fail("/hierarchy", `expected levels ending with "host", found ${describe(hierarchy)}`);
    }
  }

  hosts(): void {
    const { hierarchy, hosts } = this.topology;
    const above = hierarchy.slice(0, -1);
    this.buckets.set(ROOT_BUCKET, { level: "root", parents: "", host: "" });
    for (const [host, placement] of Object.entries(hosts)) {
      for (const level of Object.keys(placement)) {
        if (!above.includes(level)) {
          this.fail(
            `/hosts/${escapePointer(host)}/${escapePointer(level)}`,
            `expected a level of the hierarchy above host (${above.join(", ") || "none"}), found ${describe(level)}`,
          );
        }
      }
      const parents: string[] = [];
      for (const level of hierarchy) {
        const name = level === "host" ? host : placement[level];
        if (name === undefined) continue;
        const path =
          level === "host" ? `/hosts/${escapePointer(host)}` : `/hosts/${escapePointer(host)}/${level}`;
        const seen = this.buckets.get(name);
        const where = parents.join("/");
        if (seen === undefined) {
          this.buckets.set(name, { level, parents: where, host });
        } else if (seen.level !== level) {
          const owner = seen.level === "root" ? "the root bucket" : `a ${seen.level} (host ${seen.host})`;
          this.fail(
            path,
            `expected a ${level} name not used for another bucket, found ${describe(name)}, already ${owner}`,
          );
        } else if (seen.parents !== where) {
          this.fail(
            path,
            `expected ${level} ${JSON.stringify(name)} in one place (${seen.parents || "the root"}, as for host ${seen.host}), found it under ${where || "the root"}`,
          );
        }
        parents.push(name);
      }
    }
  }

  type(name: string, raw: RawType, topology: RawTopology): TopologyType {
    const path = `/types/${escapePointer(name)}`;
    const { hierarchy } = this.topology;
    for (const [index, host] of (raw.hosts ?? []).entries()) {
      if (!Object.hasOwn(this.topology.hosts, host)) {
        this.fail(
          `${path}/hosts/${index}`,
          `expected a host declared under /hosts (${listNames(Object.keys(this.topology.hosts))}), found ${describe(host)}`,
        );
      }
    }
    const levels = [...hierarchy, "satellite"];
    if (raw.failureDomain !== undefined && !levels.includes(raw.failureDomain)) {
      this.fail(
        `${path}/failureDomain`,
        `expected a hierarchy level (${levels.join(", ")}), found ${describe(raw.failureDomain)}`,
      );
    }
    const next = raw.next === undefined ? [] : Array.isArray(raw.next) ? raw.next : [raw.next];
    next.forEach((step, index) => {
      if (!Object.hasOwn(topology.types, step)) {
        this.fail(
          Array.isArray(raw.next) ? `${path}/next/${index}` : `${path}/next`,
          `expected a type declared under /types (${listNames(Object.keys(topology.types))}), found ${describe(step)}`,
        );
      }
    });
    const { rule: rawRule, ...rest } = raw;
    const type: TopologyType = { ...rest };
    if (rawRule !== undefined) {
      const rule = this.rule(`${path}/rule`, rawRule);
      type.rule = rule;
      if (typeof rawRule === "string") type.ruleText = rawRule;
    }
    return type;
  }

  /** Reads a rule in any form and checks its names against the hierarchy. */
  private rule(path: string, raw: string | RuleStepSpec[] | RuleSpec): RuleSpec {
    let spec: RuleSpec;
    /** Where step `index` (its `key`) is: a JSON Pointer, and "line N: " for rule text. */
    let where: (index: number, key?: string) => [string, string];
    if (typeof raw === "string") {
      let lines: number[];
      try {
        ({ spec, lines } = parseRuleText(raw));
      } catch (error) {
        if (error instanceof RuleTextError) this.fail(path, error.message);
        throw error;
      }
      where = (index) => [path, `line ${lines[index]}: `];
    } else {
      spec = Array.isArray(raw) ? { steps: raw } : raw;
      const steps = Array.isArray(raw) ? path : `${path}/steps`;
      where = (index, key) => [`${steps}/${index}${key === undefined ? "" : `/${key}`}`, ""];
    }
    this.stepsOf.set(path, where);
    const levels = [...this.topology.hierarchy, ...EXTRA_LEVELS];
    let working = false;
    spec.steps.forEach((step, index) => {
      const at = (key?: string) => where(index, key);
      switch (step.op) {
        case "use": {
          if (!this.buckets.has(step.bucket)) {
            const [p, prefix] = at("bucket");
            this.fail(
              p,
              `${prefix}expected a bucket of the hierarchy (${listNames([...this.buckets.keys()])}), found ${describe(step.bucket)}`,
            );
          }
          working = true;
          break;
        }
        case "select":
        case "take":
        case "choose": {
          if (!working) {
            const [p, prefix] = at();
            this.fail(
              p,
              `${prefix}expected a take (op "use") before this step, found none since the last emit`,
            );
          }
          if (step.type !== undefined && !levels.includes(step.type)) {
            const [p, prefix] = at("type");
            this.fail(
              p,
              `${prefix}expected a bucket type (${levels.join(", ")}), found ${describe(step.type)}`,
            );
          }
          break;
        }
        case "emit":
          working = false;
          break;
        default:
          break;
      }
    });
    if (!spec.steps.some((step) => step.op === "emit")) {
      this.fail(path, "expected an emit step (without one the rule places nothing), found none");
    }
    return spec;
  }

  /**
   * Each rule against its type's own map (the buckets above the type's satellites only), as the
   * orchestrator will resolve it: a `take` of a bucket none of the type's hosts sit under fails there.
   */
  rulesFit(): void {
    const instances = satelliteInstances(this.topology);
    for (const [name, type] of Object.entries(this.topology.types)) {
      if (type.rule === undefined) continue;
      const members = instances.filter((instance) => instance.type === name);
      if (members.length === 0) continue;
      const path = `/types/${escapePointer(name)}/rule`;
      const map = typeMap(this.topology, members);
      const names = new Set<string>();
      const ids = [...map.itemNames.keys()].filter((id) => id < 0).sort((a, b) => b - a);
      for (const id of ids) names.add(map.itemNames.get(id) as string);
      type.rule.steps.forEach((step, index) => {
        if (step.op === "use" && !names.has(step.bucket)) {
          const [p, prefix] = this.stepsOf.get(path)?.(index, "bucket") ?? [path, ""];
          this.fail(
            p,
            `${prefix}expected a bucket holding some of ${name}'s satellites (${listNames([...names])}), found ${describe(step.bucket)}`,
          );
        }
      });
      try {
        resolveRule(type.rule, map, 0, path);
      } catch (error) {
        if (error instanceof RuleSpecError) this.fail(error.path, error.message.slice(error.path.length + 2));
        throw error;
      }
      // Valid names can still select nothing (`take r1; choose firstn 2 type rack` with r1 a rack):
      // every job would fail with no satellite. Fewer candidates than replicas is only degraded.
      const placement = typePlacement(this.topology, name, members);
      if (sampleCandidates(placement, LOAD_SAMPLES).max === 0) {
        const why = whyNoCandidates(placement.crushMap, type.replicas ?? DEFAULT_REPLICAS);
        const count = `${members.length} satellite${members.length === 1 ? "" : "s"}`;
        this.fail(
          path,
          `expected a rule that gives jobs candidates among ${name}'s ${count}, found 0 candidates for all ${LOAD_SAMPLES} keys mapped${why === undefined ? "" : `: ${why}`}`,
        );
      }
    }
  }

  pipelines(): void {
    const { types } = this.topology;
    const nextOf = (name: string): string[] => {
      const next = types[name]?.next;
      return next === undefined ? [] : Array.isArray(next) ? next : [next];
    };
    const done = new Set<string>();
    const visit = (name: string, stack: string[]): void => {
      const loop = stack.indexOf(name);
      if (loop >= 0) {
        const cycle = [...stack.slice(loop), name];
        this.fail(
          `/types/${escapePointer(stack[stack.length - 1])}/next`,
          `expected a pipeline that ends, found the loop ${cycle.join(" -> ")}`,
        );
      }
      if (done.has(name)) return;
      for (const step of nextOf(name)) visit(step, [...stack, name]);
      done.add(name);
    };
    for (const name of Object.keys(types)) visit(name, []);
  }
}
