// `dsat topology check [FILE]` and `dsat topology show [FILE]` (docs/topology.md).
import { Command, InvalidArgumentError } from "commander";
import { checkTopology, formatShow, loadTopology } from "../topology/index.ts";

function defaultFile(file: string | undefined): string {
  return file ?? process.env.DSAT_TOPOLOGY ?? "topologies/demo.json";
}

function samplesOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > 10_000_000)
    throw new InvalidArgumentError(`expected an integer in 1..10000000, got "${value}"`);
  return parsed;
}

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
        const name = defaultFile(file);
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
        const name = defaultFile(file);
        process.stdout.write(formatShow(loadTopology(name), name));
      }),
  );
  return command;
}
