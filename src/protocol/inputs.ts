// Job inputs (Disco's model, docs/locality.md): a job may name the data it reads as a list of
// inputs, each a list of the addresses of that input's replicas ("disco://host/path",
// "http://host:port/path", "host:/path"). On the wire they travel as one MessagePack bin element
// (an entry's 8th element, a job header's `in`): the batch stays an array of scalars, so its shape
// check is unchanged, and the inputs get their own bounds (limits.ts), checked on the bytes before
// anything decodes them.
import { decode, encode } from "./codec.ts";
import type { Limits } from "./limits.ts";
import { type Shape, shapeProblem } from "./shape.ts";

/** Inputs of one job: each input is the list of its replicas' addresses, preferred first. */
export type JobInputs = string[][];

/** Characters of one replica address. */
export const INPUT_ADDRESS_LENGTH_MAX = 1024;

export type InputsLimits = Pick<Limits, "inputsPerJobMax" | "replicasPerInputMax" | "inputsBytesMax">;

/**
 * What a satellite accepts from its orchestrator, which checked the inputs against its own limits
 * already: ceilings, so a satellite never refuses what a generous orchestrator let through.
 */
export const SATELLITE_INPUTS_LIMITS: InputsLimits = {
  inputsPerJobMax: 65_536,
  replicasPerInputMax: 1024,
  inputsBytesMax: 16 * 1024 * 1024,
};

function inputsShape(limits: InputsLimits): Shape {
  return {
    name: "inputs",
    bytesMax: limits.inputsBytesMax,
    top: "array",
    topItemsMax: limits.inputsPerJobMax,
    innerItemsMax: limits.replicasPerInputMax,
    itemsMax: limits.inputsPerJobMax * (1 + limits.replicasPerInputMax),
    depthMax: 2,
    extensions: false,
  };
}

/** null when `inputs` is a list of inputs within `limits`, else why not (one sentence). */
export function inputsProblem(inputs: unknown, limits: InputsLimits): string | null {
  if (!Array.isArray(inputs)) return "inputs must be a list of inputs (each a list of replica addresses)";
  if (inputs.length === 0) return "inputs must hold at least one input";
  if (inputs.length > limits.inputsPerJobMax)
    return `inputs holds ${inputs.length} inputs, more than limits.inputsPerJobMax ${limits.inputsPerJobMax}`;
  for (let i = 0; i < inputs.length; i++) {
    const replicas: unknown = inputs[i];
    if (!Array.isArray(replicas) || replicas.length === 0)
      return `inputs[${i}] must be a non-empty list of replica addresses`;
    if (replicas.length > limits.replicasPerInputMax)
      return `inputs[${i}] has ${replicas.length} replicas, more than limits.replicasPerInputMax ${limits.replicasPerInputMax}`;
    for (let j = 0; j < replicas.length; j++) {
      const address: unknown = replicas[j];
      if (typeof address !== "string" || address.length === 0 || address.length > INPUT_ADDRESS_LENGTH_MAX)
        return `inputs[${i}][${j}] must be an address of 1-${INPUT_ADDRESS_LENGTH_MAX} characters`;
    }
  }
  return null;
}

export class InputsError extends Error {
  override name = "InputsError";
}

/** The wire form of `inputs`; throws InputsError when they break `limits`. */
export function encodeInputs(inputs: unknown, limits: InputsLimits): Buffer {
  const problem = inputsProblem(inputs, limits);
  if (problem !== null) throw new InputsError(problem);
  const bytes = encode(inputs);
  if (bytes.length > limits.inputsBytesMax)
    throw new InputsError(
      `inputs take ${bytes.length} bytes, more than limits.inputsBytesMax ${limits.inputsBytesMax}`,
    );
  return bytes;
}

/** The inputs in `bytes`, or why they are refused; shape-checked before decoding. Never throws. */
export function decodeInputs(bytes: unknown, limits: InputsLimits): JobInputs | string {
  if (!(bytes instanceof Uint8Array)) return "inputs must be MessagePack bytes (a bin element)";
  const problem = shapeProblem(bytes, inputsShape(limits));
  if (problem !== null) return problem;
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return "inputs are not MessagePack";
  }
  return inputsProblem(value, limits) ?? (value as JobInputs);
}

/**
 * The host name in a replica address, lower case, or null (a local path, or no host):
 * `scheme://[user@]host[:port]/...`, `host:/path` (scp style), `[v6]` hosts without brackets.
 */
export function replicaHost(address: string): string | null {
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/@?#]*@)?(\[[^\]]*\]|[^/:?#]*)/.exec(address);
  if (url !== null) return hostName(url[1]);
  const scp = /^([A-Za-z0-9][A-Za-z0-9._-]*):\//.exec(address);
  return scp === null ? null : hostName(scp[1]);
}

function hostName(raw: string): string | null {
  const host = raw.startsWith("[") ? raw.slice(1, -1) : raw;
  return host === "" ? null : host.toLowerCase();
}

/**
 * Disco's hostname map file: one `storage-name host-name` pair a line (lower-cased); blank lines
 * and `#` comments skipped. Throws InputsError naming the line of a bad one.
 */
export function parseHostnameMap(text: string, file: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, "").trim();
    if (line === "") continue;
    const words = line.split(/\s+/);
    if (words.length !== 2)
      throw new InputsError(
        `${file}:${i + 1}: expected "storage-name host-name", found ${JSON.stringify(line.slice(0, 80))}`,
      );
    pairs.push([words[0].toLowerCase(), words[1].toLowerCase()]);
  }
  return pairs;
}
