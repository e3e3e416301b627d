// Helpers for tests that run the real `dsat` CLI as a child process.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CRUSH_FIXTURES } from "../helpers/crush-maps.ts";

/** Repository root (where package.json and bin/dsat live). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The committed crushtool reference fixtures. */
export const FIXTURES = CRUSH_FIXTURES;

export interface RunResult {
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/**
 * Runs `node bin/dsat ...args` with cwd = repo root and resolves (never rejects on a non-zero exit) with
 * the raw stdout/stderr bytes. Rejects only if the process cannot be started or exceeds `timeoutMs`.
 */
export function runDsat(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/dsat", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`dsat ${args.join(" ")}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

/** A fixture file's bytes, by path relative to test/fixtures/crush. */
export function fixture(rel: string): Buffer {
  return readFileSync(path.join(FIXTURES, rel));
}

/** Path of a fixture relative to the repo root (what the CLI is given, since cwd = root). */
export function fixturePath(rel: string): string {
  return path.relative(ROOT, path.join(FIXTURES, rel));
}

/** The crushtool reference cases (test/fixtures/crush/cases.json). */
export { type CrushCase, loadCases } from "../helpers/crush-maps.ts";
