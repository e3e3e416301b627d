// Reading a JSON file for a loader that names the file, the JSON path and what was expected in
// every error (topologies, simulation scenarios): unreadable files and syntax errors included.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** Builds the loader's own error: (JSON Pointer, sentence). */
export type JsonFileError = (path: string, message: string) => Error;

/** The parsed JSON of `file`, or the loader's error for an unreadable file or bad JSON. */
export function readJsonFile(file: string, error: JsonFileError): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(file), "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw error(
      "/",
      `expected a readable file, found ${code === "ENOENT" ? "no such file" : (code ?? (cause as Error).message)}`,
    );
  }
  return parseJsonText(text, error);
}

/** JSON.parse with the line and column of a syntax error. */
export function parseJsonText(text: string, error: JsonFileError): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const match = /at position (\d+)/.exec(message);
    const position = match === null ? text.length : Number(match[1]);
    const before = text.slice(0, position).split("\n");
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    const reason = message.replace(/\s*in JSON at position \d+.*$/s, "").replace(/^JSON\.parse: /, "");
    throw error("/", `not valid JSON at line ${line}, column ${column}: ${reason}`);
  }
}
