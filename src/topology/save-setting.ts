// `dsat config set KEY VALUE --save` (docs/operations.md, "Live config"): a live setting written
// back to the topology file, so it survives a restart.
import { writeFileSync } from "node:fs";
import { readJsonFile } from "./json-file.ts";
import { parseTopology } from "./load-topology.ts";
import { TopologyError } from "./topology.ts";

/** Where a live setting lives in a topology file: `types.echo.timeoutMs` -> types/echo/timeoutMs. */
export function liveKeyPath(key: string): string[] {
  if (key.startsWith("types.")) {
    const last = key.lastIndexOf(".");
    return ["types", key.slice("types.".length, last), key.slice(last + 1)];
  }
  return ["orchestrator", ...key.split(".")];
}

/**
 * `dsat config set --save`: writes VALUE at KEY's place in the topology file, after checking that
 * the file with it is still a valid topology (a problem names the file, the path and what was
 * expected, and nothing is written). The file is rewritten as JSON with two-space indents.
 */
export function saveLiveSetting(file: string, key: string, value: unknown): void {
  const json = readJsonFile(file, (path, message) => new TopologyError(file, path, message)) as Record<
    string,
    unknown
  >;
  let node: Record<string, unknown> = json;
  const path = liveKeyPath(key);
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  parseTopology(json, file);
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}
