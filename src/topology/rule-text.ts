// crushtool rule text -> the JSON form of a rule (RuleSpec, src/crush/rule-builder.ts), so a
// topology can say
//
//   "rule": "step take default\nstep chooseleaf firstn 0 type rack\nstep emit"
//
// Either bare steps, or a whole `rule NAME { ... }` block as crushtool decompiles it (its id,
// ruleset, type, min_size and max_size lines are read; device classes are not supported).
import type { RuleSpec, RuleStepSpec, SetStepName } from "../crush/index.ts";

/** A rule text line that cannot be read: its 1-based line number and what was wrong. */
export class RuleTextError extends Error {
  override name = "RuleTextError";
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/** A parsed rule with, for each step, the text line it came from (for error messages). */
export interface ParsedRuleText {
  spec: RuleSpec;
  lines: number[];
}

const SET_NAMES: ReadonlySet<string> = new Set<SetStepName>([
  "choose_tries",
  "chooseleaf_tries",
  "choose_local_tries",
  "choose_local_fallback_tries",
  "chooseleaf_vary_r",
  "chooseleaf_stable",
]);

const STEP_FORMS =
  '"step take <bucket>", "step choose|chooseleaf firstn|indep <n> type <type>", "step set_<tunable> <n>" or "step emit"';

export function parseRuleText(text: string): ParsedRuleText {
  const spec: RuleSpec = { steps: [] };
  const lines: number[] = [];
  let block = "none" as "none" | "open" | "closed";
  const rawLines = text.split(/\r?\n/);
  rawLines.forEach((raw, index) => {
    const number = index + 1;
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const words = line.split(/\s+/);
    const fail = (what: string): never => {
      throw new RuleTextError(number, `expected ${what}, found ${JSON.stringify(line)}`);
    };
    if (block === "closed") fail("nothing after the closing brace");
    if (words[0] === "rule") {
      if (block !== "none" || spec.steps.length > 0) fail("one rule");
      if (words.length !== 3 || words[2] !== "{") fail('"rule <name> {"');
      spec.name = words[1];
      block = "open";
      return;
    }
    if (words[0] === "}") {
      if (block !== "open" || words.length !== 1) fail("a step");
      block = "closed";
      return;
    }
    if (block === "open" && ["id", "ruleset", "type", "min_size", "max_size"].includes(words[0])) {
      if (words.length !== 2) fail(`"${words[0]} <value>"`);
      if (words[0] === "type") {
        if (words[1] !== "replicated" && words[1] !== "erasure") fail('"type replicated" or "type erasure"');
        spec.type = words[1] as "replicated" | "erasure";
      } else {
        const value = integer(words[1]) ?? fail(`"${words[0]} <integer>"`);
        if (words[0] === "min_size") spec.minSize = value;
        if (words[0] === "max_size") spec.maxSize = value;
      }
      return;
    }
    if (words[0] !== "step") fail(STEP_FORMS);
    const step = parseStep(words.slice(1)) ?? fail(STEP_FORMS);
    spec.steps.push(step);
    lines.push(number);
  });
  if (block === "open") throw new RuleTextError(rawLines.length, 'expected a closing "}", found the end');
  if (spec.steps.length === 0) throw new RuleTextError(1, "expected at least one step, found none");
  return { spec, lines };
}

function parseStep(words: string[]): RuleStepSpec | undefined {
  const [op, ...rest] = words;
  if (op === "take" && rest.length === 1) return { op: "use", bucket: rest[0] };
  if (op === "emit" && rest.length === 0) return { op: "emit" };
  if ((op === "choose" || op === "chooseleaf") && rest.length === 4) {
    const [mode, count, typeWord, type] = rest;
    const n = integer(count);
    if ((mode !== "firstn" && mode !== "indep") || n === undefined || typeWord !== "type") return undefined;
    return op === "choose"
      ? { op: "choose", type, count: n, mode }
      : { op: "choose", type, count: n, mode, leaf: true };
  }
  if (op?.startsWith("set_") && rest.length === 1) {
    const name = op.slice(4);
    const value = integer(rest[0]);
    if (!SET_NAMES.has(name) || value === undefined) return undefined;
    return { op: "set", name: name as SetStepName, value };
  }
  return undefined;
}

function integer(word: string): number | undefined {
  return /^-?\d{1,6}$/.test(word) ? Number(word) : undefined;
}
