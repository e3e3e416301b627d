// A datadriven script runner in etcd-raft's testdata style, the same convention as the router's
// (test/orchestrator/router/script.ts): a script is a list of blocks, each a command line, `----`, then
// the lines the command printed, up to a blank line. Lines starting with # (and blank lines) between
// blocks are comments and are kept. `UPDATE_SCRIPTS=1` rewrites the expected output in place: read the
// diff before committing it, every line is a claim about the code under test.

import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";

export interface ScriptEnv {
  /** Runs one command; returns the lines it printed. Throwing prints `error: message`. */
  run(command: string): string[];
}

interface Block {
  comments: string[];
  /** 1-based line of the command in the file. */
  line: number;
  command: string;
  expected: string[];
}

function parse(text: string, path: string): { blocks: Block[]; trailing: string[] } {
  const blocks: Block[] = [];
  let comments: string[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line.trim() === "" || line.startsWith("#")) {
      comments.push(line);
      continue;
    }
    if (lines[index + 1] !== "----") throw new Error(`${path}:${index + 1}: expected ---- after "${line}"`);
    const start = index;
    index += 2;
    const expected: string[] = [];
    while (index < lines.length && lines[index] !== "") expected.push(lines[index++]);
    index--; // the blank line ending the block is kept, as a comment of the next one
    blocks.push({ comments, line: start + 1, command: line, expected });
    comments = [];
  }
  return { blocks, trailing: comments };
}

export interface ScriptResult {
  /** One entry per block whose output differs: where, and a diff. */
  mismatches: string[];
}

/** Runs a script file against `env`; with UPDATE_SCRIPTS=1, writes the produced output back. */
export function runScript(path: string, env: ScriptEnv): ScriptResult {
  const text = readFileSync(path, "utf8");
  const { blocks, trailing } = parse(text, path);
  const out: string[] = [];
  const mismatches: string[] = [];
  for (const block of blocks) {
    let produced: string[];
    try {
      produced = env.run(block.command);
    } catch (error) {
      produced = [`error: ${(error as Error).message}`];
    }
    if (produced.length === 0) produced = ["ok"];
    out.push(...block.comments, block.command, "----", ...produced);
    if (produced.join("\n") !== block.expected.join("\n"))
      mismatches.push(
        `${relative(process.cwd(), path)}:${block.line}: ${block.command}\n${diff(block.expected, produced)}`,
      );
  }
  out.push(...trailing);
  const actual = `${out.join("\n")}\n`;
  if (process.env.UPDATE_SCRIPTS === "1" && actual !== text) writeFileSync(path, actual);
  return { mismatches };
}

/** A line diff (- expected, + actual), by longest common subsequence: blocks are short. */
function diff(expected: readonly string[], actual: readonly string[]): string {
  const n = expected.length;
  const m = actual.length;
  const common: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      common[i][j] =
        expected[i] === actual[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      lines.push(`    ${expected[i]}`);
      i++;
      j++;
    } else if (i < n && (j === m || common[i + 1][j] >= common[i][j + 1])) lines.push(`  - ${expected[i++]}`);
    else lines.push(`  + ${actual[j++]}`);
  }
  return lines.join("\n");
}
