// Option parsing shared by the CLI's commands: the topology file they default to, and integer
// options checked against a range (commander reports the error in one line).
import { InvalidArgumentError } from "commander";

/** The topology file a command reads: the one given, else DSAT_TOPOLOGY, else the demo's. */
export function defaultTopologyFile(file: string | undefined): string {
  return file ?? process.env.DSAT_TOPOLOGY ?? "topologies/demo.json";
}

/** A commander parser for an integer in min..max. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`expected an integer in ${min}..${max}, got "${value}"`);
    return parsed;
  };
}
