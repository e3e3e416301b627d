// A datadriven runner for router scripts (etcd-raft's testdata style; docs/router.md, "Script
// tests"). A script is a list of blocks: a command line, optional input lines, `----`, then the
// lines the command printed, up to a blank line. Lines starting with # (and blank lines) between
// blocks are comments and are kept. Each script starts on a fresh router (`config` makes another).
//
// `UPDATE_SCRIPTS=1 npx vitest run test/orchestrator/router` rewrites the expected output in
// place: read the diff before committing it, every line is a claim about the router.
//
// Commands (the clock starts at 0 and moves only with tick and stall; see script-env.ts):
//   config                                      + `key: value` lines: types, hierarchy, limits,
//                                                 tracker, journal (on/off/{...}), diskSpill,
//                                                 dynamicTypes, seed, show (log,heartbeat,stats),
//                                                 autocommit (on: commits land at once)
//   ready SAT [types=a,b] [rack=R host=H] [capacity=N] [weight=N] [plain] [batch]
//             [heartbeat=MS] [incarnation=X] [id=X]
//   ready                                       + one `SAT [options]` per line
//   request CLIENT TYPE [id=] [key=] [payload=JSON] [timeout=MS] [c=N] [session=S] [tp=] [single]
//   request CLIENT [session=S]                  + one `TYPE [options]` per line: one batch
//   cancel CLIENT JOB [session=S] [single]      mdp CLIENT SERVICE frame...
//   publish TYPE [id=] [key=] [payload=JSON] [inputs=a,b;c]
//   titanic CLIENT TYPE [key=] [payload=JSON] [inputs=a,b;c] [badheader]   (a dsat client's titanic.request)
//   ack SAT JOB#A [JOB#A...]   progress SAT JOB#A [value=JSON]   heartbeat|drain|disconnect SAT
//   reply SAT JOB#A ok [JSON | raw frame...]  |  reply SAT JOB#A error [fatal|retryable] [DSAT_ERR_X] msg
//   reply SAT                                   + one `JOB#A ok|error ...` per line
//   gone SAT (connection gone: peer-gone, and later sends to it bounce)   mute|unmute SAT
//   tick +MS (each tick the shell's timer would step, lines prefixed @time)
//   stall +MS [messages-first] (no tick for MS, then the late tick and the messages sent meanwhile)
//   commit [SEQ]   fail-journal [why]   resume-journal   crash (restart from the committed records)
//   retry ID   status   jobs   stats TYPE   candidates TYPE KEY (the CRUSH order, all placeable)
//
// Scripts in testdata/questions/ show behaviour still to be decided; this runner is not run on
// them by scripts.test.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { ScriptEnv } from "./script-env.ts";

interface Block {
  /** Comment and blank lines before the command. */
  comments: string[];
  /** 1-based line of the command in the file. */
  line: number;
  command: string;
  input: string[];
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
    const start = index;
    const input: string[] = [];
    while (index + 1 < lines.length && lines[index + 1] !== "----") {
      if (lines[index + 1].trim() === "")
        throw new Error(`${path}:${start + 1}: expected ---- after "${line}" (a blank line came first)`);
      input.push(lines[++index]);
    }
    if (index + 1 >= lines.length) throw new Error(`${path}:${start + 1}: expected ---- after "${line}"`);
    index += 2;
    const expected: string[] = [];
    while (index < lines.length && lines[index] !== "") expected.push(lines[index++]);
    index--; // the blank line ending the block is kept, as a comment of the next one
    blocks.push({ comments, line: start + 1, command: line, input, expected });
    comments = [];
  }
  return { blocks, trailing: comments };
}

export interface ScriptResult {
  /** The file as it should read (with the output the router produced). */
  actual: string;
  expected: string;
  /** One entry per block whose output differs: where, and a diff. */
  mismatches: string[];
}

/** Runs a script file against a fresh router; with UPDATE_SCRIPTS=1, writes the output back. */
export function runScript(path: string): ScriptResult {
  const text = readFileSync(path, "utf8");
  const { blocks, trailing } = parse(text, path);
  const env = new ScriptEnv();
  const out: string[] = [];
  const mismatches: string[] = [];
  try {
    for (const block of blocks) {
      let produced: string[];
      try {
        produced = env.run(block.command, block.input);
      } catch (error) {
        produced = [`error: ${(error as Error).message}`];
      }
      if (produced.length === 0) produced = ["(none)"];
      out.push(...block.comments, block.command, ...block.input, "----", ...produced);
      if (produced.join("\n") !== block.expected.join("\n"))
        mismatches.push(
          `${relative(process.cwd(), path)}:${block.line}: ${block.command}\n${diff(block.expected, produced)}`,
        );
    }
  } finally {
    env.close();
  }
  out.push(...trailing);
  const actual = `${out.join("\n")}\n`;
  if (process.env.UPDATE_SCRIPTS === "1" && actual !== text) writeFileSync(path, actual);
  return { actual, expected: text, mismatches };
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
