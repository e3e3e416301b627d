// `dsat config set KEY VALUE` values checked against the topology's own schema (the node the key
// names, router/live-config.ts's classifyLiveKey): the same words as a topology file's problems.
import { classifyLiveKey } from "../orchestrator/index.ts";
import { nodeChecker, SCHEMA_FILE, type SchemaCheck } from "./schema.ts";

const checkers = new Map<string, SchemaCheck>();

/** null when VALUE may be KEY's, else a sentence naming the key and what it expects. */
export function liveConfigProblem(key: string, value: unknown): string | null {
  const known = classifyLiveKey(key);
  if (known.kind !== "live") return known.why;
  let check = checkers.get(known.schema);
  if (check === undefined) checkers.set(known.schema, (check = nodeChecker(SCHEMA_FILE, known.schema)));
  const problem = check(value);
  if (problem === undefined) return null;
  return problem.path === "/" || problem.path === ""
    ? `${key}: ${problem.message}`
    : `${key}${problem.path.replaceAll("/", ".")}: ${problem.message}`;
}
