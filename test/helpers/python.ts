// Python peers for interop tests (Debian's /usr/bin/python3 with python3-zmq; .ci/run installs
// it): spawn a script, wait for a line it prints, run one to its end, and kill every process
// started (or adopted) here by PID.
import { type ChildProcess, spawn } from "node:child_process";

export const PYTHON = "/usr/bin/python3";

export class PythonPeers {
  private readonly children = new Set<ChildProcess>();

  spawn(script: string, args: string[]): ChildProcess {
    return this.adopt(spawn(PYTHON, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** Tracks a process started elsewhere (a node CLI, say), so that killAll() kills it too. */
  adopt(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    return child;
  }

  /** Runs `script` to its end (killed after `timeoutMs`); its exit code and output. */
  run(
    script: string,
    args: string[],
    timeoutMs: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = this.spawn(script, args);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    return new Promise((resolve) => {
      const guard = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("exit", (code) => {
        clearTimeout(guard);
        resolve({ code, stdout, stderr });
      });
    });
  }

  killAll(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
  }
}

/** Waits for a stdout line matching `pattern` from a child, with a bound. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      const line = lines.find((candidate) => pattern.test(candidate));
      if (line !== undefined) finish(() => resolve(line));
    };
    const onExit = (code: number | null): void =>
      finish(() => reject(new Error(`process exited (${code}) before printing ${pattern}`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      settle();
    };
    child.stdout?.on("data", onData);
    child.on("exit", onExit);
  });
}

/** Counts the stdout lines of a child matching `pattern` (live, as they come). */
export function countLines(child: ChildProcess, pattern: RegExp): () => number {
  let count = 0;
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (pattern.test(line)) count++;
  });
  return () => count;
}
