// `dsat crush ...`: crushtool's test/tree/compile/decompile, plus compare and explain.
import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  type CrushMap,
  type CrushTestOptions,
  compareMappings,
  decompileCrushMap,
  encodeCrushBinary,
  explainMapping,
  formatComparison,
  formatExplanation,
  formatTree,
  loadCrushMapFile,
  runCrushTest,
  testReweights,
} from "../crush/index.ts";
import { UsageError } from "./errors.ts";

function integer(value: string): number {
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  }
  return parsed;
}

/** `--weight DEV W` may repeat; commander collects the values flat, we pair them. */
function weightPairs(values: string[] | undefined, flag = "--weight"): Array<[number, number]> {
  if (values === undefined) return [];
  if (values.length % 2 !== 0)
    throw new UsageError(`${flag} takes two values: a device id and a weight in 0..1`);
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < values.length; i += 2) {
    const device = Number(values[i]);
    const weight = Number(values[i + 1]);
    if (!Number.isInteger(device) || device < 0)
      throw new UsageError(`${flag}: "${values[i]}" is not a device id`);
    if (!Number.isFinite(weight)) throw new UsageError(`${flag}: "${values[i + 1]}" is not a number`);
    pairs.push([device, weight]);
  }
  return pairs;
}

/** A rule given by id or by name. */
function ruleId(map: CrushMap, rule: string, file: string): number {
  if (/^\d+$/.test(rule)) {
    const id = Number(rule);
    if (map.rules[id] === undefined) throw new UsageError(`${file}: no rule with id ${id}`);
    return id;
  }
  for (const [id, name] of map.ruleNames) if (name === rule) return id;
  throw new UsageError(`${file}: no rule named "${rule}"`);
}

function write(text: string, output: string | undefined): void {
  if (output === undefined || output === "-") process.stdout.write(text);
  else writeFileSync(output, text);
}

export function crushCommand(): Command {
  const crush = new Command("crush").description(
    "CRUSH maps: test, tree, compile, decompile, compare, explain",
  );

  // crushtool reads --x, --min-x and --max-x in order: the last one given wins.
  const range: { minX?: number; maxX?: number } = {};
  const test = crush
    .command("test")
    .description("map inputs like `crushtool --test` (same flags, same output)")
    .requiredOption("-i, --input <map>", "map file: crushtool text or compiled binary")
    .option("--test", "accepted and ignored, for crushtool compatibility")
    .option("--rule <rule>", "rule id or name (default: every rule)")
    .option("--num-rep <n>", "result size (default: the rule's min_size..max_size)", integer)
    .option("--min-x <x>", "first input (used with --max-x)", integer)
    .option("--max-x <x>", "last input (used with --min-x)", integer)
    .option("--x <x>", "one input: the same as --min-x X --max-x X", integer)
    .option("--pool-id <id>", "hash each x with this pool id first, as Ceph does for PGs", integer)
    .addOption(
      new Option("--weight <device-and-weight...>", "reweight a device: --weight DEV W (W in 0..1; 0 = out)"),
    )
    .option("--show-mappings", "print each mapping")
    .option("--show-bad-mappings", "print mappings shorter than num_rep or with holes")
    .option("--show-statistics", "print result-size statistics")
    .option("--show-utilization", "print statistics and per-device use")
    .option("--show-utilization-all", "like --show-utilization, every device")
    .option("--show-choose-tries", "print how many tries placements took")
    .action((options) => {
      const map = loadCrushMapFile(options.input);
      const testOptions: CrushTestOptions = {
        rule: options.rule === undefined ? undefined : ruleId(map, options.rule, options.input),
        numRep: options.numRep,
        minX: range.minX,
        maxX: range.maxX,
        poolId: options.poolId,
        weights: weightPairs(options.weight),
        showMappings: options.showMappings,
        showBadMappings: options.showBadMappings,
        showStatistics: options.showStatistics,
        showUtilization: options.showUtilization,
        showUtilizationAll: options.showUtilizationAll,
        showChooseTries: options.showChooseTries,
      };
      const result = runCrushTest(map, testOptions);
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
    });

  test.on("option:x", (value: string) => {
    range.minX = integer(value);
    range.maxX = range.minX;
  });
  test.on("option:min-x", (value: string) => {
    range.minX = integer(value);
  });
  test.on("option:max-x", (value: string) => {
    range.maxX = integer(value);
  });

  crush
    .command("tree")
    .description("print the hierarchy like `crushtool --tree`")
    .requiredOption("-i, --input <map>", "map file (text or binary)")
    .action((options) => {
      process.stdout.write(formatTree(loadCrushMapFile(options.input)));
    });

  crush
    .command("compile")
    .description("compile a text map to Ceph's binary format (like `crushtool -c`)")
    .argument("[map]", "text map")
    .option("-i, --input <map>", "text map (instead of the argument)")
    .requiredOption("-o, --output <file>", "binary map to write")
    .action((positional: string | undefined, options) => {
      const input = options.input ?? positional;
      if (input === undefined) throw new UsageError("compile: give the text map as an argument or with -i");
      writeFileSync(options.output, encodeCrushBinary(loadCrushMapFile(input)));
    });

  crush
    .command("decompile")
    .description("print a map in crushtool's text format (like `crushtool -d`)")
    .argument("[map]", "binary (or text) map")
    .option("-i, --input <map>", "map (instead of the argument)")
    .option("-o, --output <file>", "text file to write (default: stdout)")
    .action((positional: string | undefined, options) => {
      const input = options.input ?? positional;
      if (input === undefined) throw new UsageError("decompile: give the map as an argument or with -i");
      write(decompileCrushMap(loadCrushMapFile(input)), options.output);
    });

  crush
    .command("compare")
    .description("how many inputs change placement between two maps, and where data moves")
    .argument("<before>", "map before the change (text or binary)")
    .argument("<after>", "map after the change")
    .requiredOption("--rule <rule>", "rule id or name (looked up in each map)")
    .requiredOption("--num-rep <n>", "result size", integer)
    .option("--min-x <x>", "first input", integer, 0)
    .option("--max-x <x>", "last input", integer, 1023)
    .addOption(
      new Option("--weight <device-and-weight...>", "reweight a device in both maps: --weight DEV W"),
    )
    .addOption(
      new Option("--weight-after <device-and-weight...>", "reweight a device in the second map only"),
    )
    .option("--limit <n>", "show at most this many moves", integer, 50)
    .option("--json", "print the result as JSON")
    .action((beforePath: string, afterPath: string, options) => {
      const before = loadCrushMapFile(beforePath);
      const after = loadCrushMapFile(afterPath);
      if (options.maxX < options.minX) throw new UsageError("--max-x must not be below --min-x");
      const both = weightPairs(options.weight);
      const result = compareMappings(before, after, {
        ruleA: ruleId(before, options.rule, beforePath),
        ruleB: ruleId(after, options.rule, afterPath),
        numRep: options.numRep,
        minX: options.minX,
        maxX: options.maxX,
        reweightsA: testReweights(before, both),
        reweightsB: testReweights(after, [...both, ...weightPairs(options.weightAfter, "--weight-after")]),
      });
      if (options.json) {
        const { before: was, after: now, ...rest } = result;
        const json = { ...rest, before: Object.fromEntries(was), after: Object.fromEntries(now) };
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      const names = (item: number) =>
        after.itemNames.get(item) ?? before.itemNames.get(item) ?? `osd.${item}`;
      process.stdout.write(formatComparison(result, names, options.limit));
    });

  crush
    .command("explain")
    .description("every decision CRUSH takes for one input (an audit log)")
    .requiredOption("-i, --input <map>", "map file (text or binary)")
    .requiredOption("--rule <rule>", "rule id or name")
    .requiredOption("--x <x>", "the input", integer)
    .requiredOption("--num-rep <n>", "result size", integer)
    .addOption(new Option("--weight <device-and-weight...>", "reweight a device: --weight DEV W"))
    .option("--json", "print the events as JSON")
    .action((options) => {
      const map = loadCrushMapFile(options.input);
      const explanation = explainMapping(
        map,
        ruleId(map, options.rule, options.input),
        options.x,
        options.numRep,
        testReweights(map, weightPairs(options.weight)),
      );
      if (options.json) process.stdout.write(`${JSON.stringify(explanation, null, 2)}\n`);
      else process.stdout.write(formatExplanation(map, explanation));
    });

  return crush;
}
