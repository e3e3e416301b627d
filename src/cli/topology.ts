// `dsat topology check [FILE]` and `dsat topology show [FILE]` (docs/topology.md), and `dsat check`
// (docs/operations.md): does every type's placement still have its failure domains.
import { Command } from "commander";
import {
  checkPlacements,
  checkTopology,
  declaredSatellites,
  formatShow,
  type LiveSatellite,
  loadTopology,
  type TypePlacementCheck,
} from "../topology/index.ts";
import { formatTable } from "../util/index.ts";
import { registeredSatellites } from "./control.ts";
import { defaultTopologyFile, integerIn } from "./options.ts";

const samplesOption = integerIn(1, 10_000_000);

export function topologyCommand(): Command {
  const command = new Command("topology").description("check and show topology files (docs/topology.md)");
  command.addCommand(
    new Command("check")
      .description(
        "validate a topology; per type: satellites per failure domain, rule, degraded placement, share of jobs; exit 1 when it names files (keys, modules) that do not exist",
      )
      .argument("[file]", "topology JSON file (default: $DSAT_TOPOLOGY or topologies/demo.json)")
      .option("--samples <n>", "CRUSH mappings per type for the shares", samplesOption, 10_000)
      .action((file: string | undefined, options: { samples: number }) => {
        const name = defaultTopologyFile(file);
        // A file that does not load throws (one line, exit 1). One that loads but names files that
        // are not there (keys, modules) gets its report and one line per missing file, exit 1.
        const result = checkTopology(loadTopology(name), name, options.samples);
        process.stdout.write(result.text);
        for (const error of result.errors) process.stderr.write(`dsat: ${error}\n`);
        if (result.errors.length > 0) process.exitCode = 1;
      }),
  );
  command.addCommand(
    new Command("show")
      .description("the hierarchy as a tree with each host's satellites, and each type's CRUSH tree")
      .argument("[file]", "topology JSON file (default: $DSAT_TOPOLOGY or topologies/demo.json)")
      .action((file: string | undefined) => {
        const name = defaultTopologyFile(file);
        process.stdout.write(formatShow(loadTopology(name), name));
      }),
  );
  return command;
}

/**
 * `dsat check [FILE] [--live]`: per type, whether its rule finds `replicas` candidates in distinct
 * failure domains with the satellites the topology declares, or (--live) those the orchestrator has
 * registered now. Exit 1 when any placement is degraded or impossible, for CI and monitoring.
 */
export function checkCommand(): Command {
  return new Command("check")
    .description(
      "check each type's placement: candidates per job and their failure domains, with the declared satellites or (--live) the registered ones; exit 1 when degraded",
    )
    .argument("[file]", "topology JSON file (default: $DSAT_TOPOLOGY or topologies/demo.json)")
    .option("--live", "ask the running orchestrator (its control endpoint) which satellites are registered")
    .option("--samples <n>", "CRUSH mappings per type", samplesOption, 10_000)
    .option("--json", "print the checks as JSON")
    .action(
      async (file: string | undefined, options: { live?: boolean; samples: number; json?: boolean }) => {
        const name = defaultTopologyFile(file);
        const topology = loadTopology(name);
        const satellites =
          options.live === true ? await liveSatellites(name, topology) : declaredSatellites(topology);
        const checks = checkPlacements(topology, satellites, options.samples);
        if (options.json === true) console.log(JSON.stringify(checks, null, 2));
        else process.stdout.write(formatChecks(checks, options.live === true ? "registered" : "declared"));
        if (checks.some((check) => check.verdict !== "ok")) process.exitCode = 1;
      },
    );
}

async function liveSatellites(
  file: string,
  topology: ReturnType<typeof loadTopology>,
): Promise<LiveSatellite[]> {
  return registeredSatellites<LiveSatellite>(file, topology, "--live");
}

function formatChecks(checks: readonly TypePlacementCheck[], which: string): string {
  const rows = [
    ["type", "verdict", "satellites", "domains", "candidates", "why"],
    ...checks.map((check) => [
      check.type,
      check.verdict.toUpperCase(),
      String(check.satellites),
      `${check.domains} ${check.domainLevel}`,
      check.candidatesMin === check.candidatesMax
        ? `${check.candidatesMin}/${check.replicas}`
        : `${check.candidatesMin}-${check.candidatesMax}/${check.replicas}`,
      check.why,
    ]),
  ];
  const bad = checks.filter((check) => check.verdict !== "ok").length;
  const summary =
    bad === 0
      ? `ok: every type's placement has its failure domains (${which} satellites)`
      : `${bad} of ${checks.length} types degraded or impossible (${which} satellites)`;
  return `${formatTable(rows, [false, false, true, false, true, false]).join("\n")}\n${summary}\n`;
}
