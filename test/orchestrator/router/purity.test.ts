// The router is a pure state machine (issue 13): nothing under src/orchestrator/router may reach,
// even through the modules it imports, a socket, a file, a timer or a clock. Its time comes with
// each event and its randomness through its ports.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const ROUTER = join(ROOT, "src/orchestrator/router");
const FORBIDDEN = [
  "zeromq",
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:timers",
  "node:child_process",
  "node:dgram",
  // Spans leave as effects; the shell makes them OpenTelemetry spans (src/orchestrator/tracing.ts).
  "@opentelemetry/api",
];

/** Every module `file` loads at run time (type-only imports excluded), with who imports it. */
function runtimeImports(file: string, seen = new Map<string, string>()): Map<string, string> {
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
    if (match[1] !== undefined) continue;
    const spec = match[2];
    const target = spec.startsWith(".") ? resolve(dirname(file), spec) : spec;
    if (seen.has(target)) continue;
    seen.set(target, relative(ROOT, file));
    if (spec.startsWith(".")) runtimeImports(target, seen);
  }
  return seen;
}

const routerFiles = readdirSync(ROUTER)
  .filter((name) => name.endsWith(".ts"))
  .map((name) => join(ROUTER, name));

describe("the router is pure", () => {
  it("reaches no socket, file, network or timer module, even indirectly", () => {
    expect(routerFiles.length).toBeGreaterThan(0);
    const reached: string[] = [];
    for (const file of routerFiles)
      for (const [module, by] of runtimeImports(file))
        if (FORBIDDEN.includes(module)) reached.push(`${module} (imported by ${by})`);
    expect(reached).toEqual([]);
  });

  it("reads no clock and draws no randomness of its own", () => {
    const uses: string[] = [];
    for (const file of routerFiles) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, "");
        if (
          /Date\.now|Math\.random|new Date\(|performance\.now|setTimeout|setInterval|setImmediate|process\.hrtime/.test(
            code,
          )
        )
          uses.push(`${relative(ROOT, file)}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(uses).toEqual([]);
  });
});
