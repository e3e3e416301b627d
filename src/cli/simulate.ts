// `dsat simulate TOPOLOGY SCENARIO [--seed N] [--out DIR] [--json] [--compare OTHER]`
// (docs/simulate.md): the real router under a virtual clock, with simulated satellites, clients,
// links and failures.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import {
  compareKind,
  formatComparison,
  formatResult,
  htmlReport,
  loadScenario,
  ScenarioError,
  type SimulationResult,
  simulate,
} from "../simulate/index.ts";
import { loadTopology } from "../topology/index.ts";
import { UsageError } from "./errors.ts";

interface SimulateOptions {
  seed?: number;
  out?: string;
  json?: boolean;
  compare?: string;
}

function seedOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0 || parsed > 0xffffffff)
    throw new InvalidArgumentError(`expected an integer in 0..4294967295, got "${value}"`);
  return parsed;
}

/** A scenario error as the CLI's one-line user error (src/cli/errors.ts): exit 1, no stack. */
function userErrors<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
}

/** Is OTHER a scenario or a topology? Read as JSON; a file that is neither fails as a topology. */
function kindOf(file: string): "scenario" | "topology" {
  try {
    return compareKind(JSON.parse(readFileSync(file, "utf8")));
  } catch {
    return "topology";
  }
}

export function simulateCommand(): Command {
  return new Command("simulate")
    .description(
      "run a topology under a scenario's load and failures, in virtual time, with the real router (docs/simulate.md)",
    )
    .argument("<topology>", "topology JSON file")
    .argument("<scenario>", "scenario JSON file (scenarios/scenario.schema.json)")
    .option("--seed <n>", "random seed (default: the scenario's seed, else 1)", seedOption)
    .option(
      "--out <dir>",
      "write the result as JSON to DIR/<scenario>.seed<N>.json and charts to DIR/report.html",
    )
    .option("--json", "print the result as JSON instead of tables")
    .option(
      "--compare <other>",
      "also run OTHER (a topology, or a scenario) with the same seed and show both side by side",
    )
    .action((topologyFile: string, scenarioFile: string, options: SimulateOptions) => {
      const topology = loadTopology(topologyFile);
      const scenario = userErrors(() => loadScenario(scenarioFile));
      const seed = options.seed ?? scenario.seed ?? 1;
      const started = performance.now();
      const result = userErrors(() => simulate(topology, scenario, seed));
      let other: SimulationResult | null = null;
      if (options.compare !== undefined) {
        const file = options.compare;
        other =
          kindOf(file) === "scenario"
            ? userErrors(() => simulate(topology, loadScenario(file), seed))
            : userErrors(() => simulate(loadTopology(file), scenario, seed));
      }
      const wallMs = performance.now() - started;
      const json = `${JSON.stringify(other === null ? result : { a: result, b: other }, null, 2)}\n`;
      const text = other === null ? formatResult(result) : formatComparison(result, other);
      process.stdout.write(options.json === true ? json : text);
      if (options.out !== undefined) {
        mkdirSync(options.out, { recursive: true });
        const suffix = other === null ? "" : `.vs-${basename(options.compare as string, ".json")}`;
        const file = join(options.out, `${basename(scenarioFile, ".json")}.seed${seed}${suffix}.json`);
        writeFileSync(file, json);
        const report = join(options.out, "report.html");
        writeFileSync(report, htmlReport(other === null ? [result] : [result, other]));
        process.stderr.write(`dsat: wrote ${file} and ${report}\n`);
      }
      // Wall time varies run to run: stderr only, so stdout and the file are byte-identical per seed.
      const jobs = [result, ...(other === null ? [] : [other])]
        .flatMap((r) => Object.values(r.types))
        .reduce((sum, type) => sum + type.submitted, 0);
      process.stderr.write(
        `dsat: ${jobs} jobs simulated in ${(wallMs / 1000).toFixed(2)} s wall (${Math.round((jobs * 1000) / Math.max(1, wallMs))} jobs/s)\n`,
      );
    });
}
