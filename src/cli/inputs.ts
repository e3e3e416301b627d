// `dsat inputs PATH` (docs/locality.md, "dsat inputs"): a local tree's files as replica lists,
// one input a line (replicas separated by spaces) or a JSON array, for `dsat publish --inputs`.
// And the reader `dsat publish --inputs FILE` uses for either form.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { Command } from "commander";
import { UsageError } from "./errors.ts";
import { listTreeInputs } from "./input-tree.ts";

export function inputsCommand(): Command {
  return new Command("inputs")
    .description(
      "list a local directory tree's files as inputs (replica lists) from user.dsat.replicas xattrs or .dsat-replicas manifests, for `dsat publish --inputs -`",
    )
    .argument("<path>", "a directory (or one file)")
    .option("--filter <substring>", "only files whose path (relative to PATH) contains this")
    .option("--regex <regex>", "only files whose path (relative to PATH) matches this JavaScript regex")
    .option("--host <name>", "the host name for files no replica list names (default: this host's)")
    .option("--json", "print one JSON array of replica lists")
    .action((path: string, options: { filter?: string; regex?: string; host?: string; json?: boolean }) => {
      if (options.filter !== undefined && options.regex !== undefined)
        throw new UsageError("inputs: --filter and --regex exclude each other");
      let keep = (_: string) => true;
      if (options.filter !== undefined) {
        const substring = options.filter;
        keep = (file) => file.includes(substring);
      }
      if (options.regex !== undefined) {
        let regex: RegExp;
        try {
          regex = new RegExp(options.regex);
        } catch (error) {
          throw new UsageError(`inputs --regex: ${(error as Error).message}`);
        }
        keep = (file) => regex.test(file);
      }
      let listing: ReturnType<typeof listTreeInputs>;
      try {
        listing = listTreeInputs(path, options.host ?? hostname(), keep);
      } catch (error) {
        throw new UsageError(`inputs ${path}: ${(error as Error).message}`);
      }
      for (const note of listing.notes) process.stderr.write(`dsat inputs: ${note}\n`);
      const lists = listing.inputs.map((input) => input.replicas);
      if (options.json === true) console.log(JSON.stringify(lists));
      else for (const replicas of lists) console.log(replicas.join(" "));
    });
}

/**
 * Inputs as `dsat inputs` prints them: a JSON array of replica lists, or one input a line with
 * its replicas separated by spaces. `-` reads standard input.
 */
export function readInputs(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    throw new UsageError(`--inputs ${file}: ${(error as Error).message}`);
  }
  if (text.trimStart().startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--inputs ${file}: not valid JSON: ${(error as Error).message}`);
    }
    const ok =
      Array.isArray(parsed) &&
      parsed.every((input) => Array.isArray(input) && input.every((address) => typeof address === "string"));
    if (!ok) throw new UsageError(`--inputs ${file}: expected a JSON array of arrays of addresses`);
    return parsed as string[][];
  }
  return text
    .split("\n")
    .map((line) =>
      line
        .trim()
        .split(/\s+/)
        .filter((address) => address !== ""),
    )
    .filter((input) => input.length > 0);
}
