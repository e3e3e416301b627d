// Opening a journal directory that cannot be used, and the directory lock: a segment that is a
// directory or cannot be read, a garbage or unusable LOCK, a stale LOCK whose pid now belongs to
// another program, a live holder in another process, two processes racing. Each refusal is one line
// (and an exit code from `dsat orchestrator`); the lock is the kernel's, so it dies with its holder.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { JournalError, SegmentLog, segmentName } from "../../src/journal/index.ts";
import { JobJournal } from "../../src/orchestrator/durable.ts";
import { ROOT, runDsat } from "../cli/helpers.ts";
import { journalConfig } from "../helpers/journal.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";

const holdFixture = fileURLToPath(new URL("./fixtures/hold-journal.ts", import.meta.url));

const temp = new TempDirs("dsat-open-");
const children: ChildProcess[] = [];
const journals: JobJournal[] = [];

afterEach(async () => {
  for (const journal of journals.splice(0)) await journal.close().catch(() => {});
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await temp.removeAll();
});

function open(dir: string): { journal: JobJournal; lines: string[] } {
  const lines: string[] = [];
  const [journal] = JobJournal.open(journalConfig(dir), (line) => lines.push(line), Date.now());
  journals.push(journal);
  return { journal, lines };
}

/** The error open() throws (it must throw a one-line JournalError). */
function openError(dir: string): JournalError {
  try {
    open(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(JournalError);
    expect((error as Error).message).not.toContain("\n");
    return error as JournalError;
  }
  throw new Error("open() did not fail");
}

/** A child holding (or failing to take) the lock of `dir`; resolves its first stdout line. */
function holder(dir: string, startAt?: number): { child: ChildProcess; line: Promise<string> } {
  const args = ["--import", "tsx", holdFixture, dir, ...(startAt === undefined ? [] : [String(startAt)])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const line = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.on("exit", () => reject(new Error(`holder exited without a line; stderr: ${stderr}`)));
  });
  return { child, line };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

describe("opening a journal directory that cannot be used", () => {
  it("a segment path that is a directory: one line naming it, and the lock is released", async () => {
    const dir = await temp.make();
    fs.mkdirSync(path.join(dir, segmentName(1)));
    const error = openError(dir);
    expect(error.code).toBe("JOURNAL_UNREADABLE");
    expect(error.message).toBe(
      `journal ${dir}: ${segmentName(1)} is a directory, not a segment file; move it out of the journal directory`,
    );
    fs.rmdirSync(path.join(dir, segmentName(1)));
    expect(open(dir).journal.committedSeq).toBe(0); // the failed open did not keep the lock
  });

  it("a segment that cannot be opened (a symlink loop: ELOOP, which root gets too)", async () => {
    const dir = await temp.make();
    fs.symlinkSync(segmentName(1), path.join(dir, segmentName(1)));
    const error = openError(dir);
    expect(error.code).toBe("JOURNAL_UNREADABLE");
    expect(error.message).toMatch(
      new RegExp(`^journal ${dir}: cannot read segment ${segmentName(1)} \\(ELOOP`),
    );
  });

  it("a garbage LOCK nobody holds is replaced, with a log line; a LOCK that is a directory is one line", async () => {
    const dir = await temp.make();
    fs.writeFileSync(path.join(dir, "LOCK"), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x0a]));
    const { journal, lines } = open(dir);
    expect(lines).toEqual([
      `journal: ${dir}: its LOCK file named no process (5 bytes that are not a pid); replaced`,
    ]);
    expect(fs.readFileSync(path.join(dir, "LOCK"), "utf8")).toBe(`${process.pid}\n`);
    await journal.close();
    expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);

    fs.mkdirSync(path.join(dir, "LOCK"));
    const error = openError(dir);
    expect(error.code).toBe("JOURNAL_UNREADABLE");
    expect(error.message).toMatch(
      new RegExp(`^journal ${dir}: cannot write its LOCK file \\(.*\\); remove ${dir}/LOCK$`),
    );
  });

  it("a stale LOCK whose pid now belongs to another live program does not block the start", async () => {
    const dir = await temp.make();
    // pid 1 and our parent are alive and hold no journal: exactly a reused pid.
    for (const pid of [1, process.ppid]) {
      fs.writeFileSync(path.join(dir, "LOCK"), `${pid}\n`);
      const { journal, lines } = open(dir);
      expect(lines).toEqual([
        `journal: ${dir}: taking over the LOCK of pid ${pid}, which no longer holds the journal (it exited, or the pid now belongs to another program)`,
      ]);
      await journal.close();
    }
  });
});

describe("the journal directory lock", () => {
  it("a live holder in another process refuses the start, naming its pid; kill -9 frees it at once", async () => {
    const dir = await temp.make();
    const { child, line } = holder(dir);
    expect(await line).toBe(`locked ${child.pid}`);
    // The pid comes from the kernel's view of the lock, not from the LOCK file, which may lie.
    fs.writeFileSync(path.join(dir, "LOCK"), "1\n");
    const error = openError(dir);
    expect(error.code).toBe("JOURNAL_LOCKED");
    expect(error.message).toBe(
      `journal ${dir} is in use by another process (pid ${child.pid}); one orchestrator per journal directory`,
    );
    // Not even the segments were touched by the refused open.
    expect(fs.readdirSync(dir)).toEqual(["LOCK"]);
    child.kill("SIGKILL");
    await exited(child);
    // The LOCK file is still there, naming a live pid (1): it is only information.
    const { lines } = open(dir);
    expect(lines).toEqual([
      `journal: ${dir}: taking over the LOCK of pid 1, which no longer holds the journal (it exited, or the pid now belongs to another program)`,
    ]);
  });

  it("two processes racing for one directory: exactly one wins, the other names it", async () => {
    for (let round = 0; round < 3; round++) {
      const dir = await temp.make();
      const startAt = Date.now() + 1500; // both children are loaded and spinning by then
      const racers = [holder(dir, startAt), holder(dir, startAt)];
      const lines = await Promise.all(racers.map((racer) => racer.line));
      const winners = racers.filter((_, index) => lines[index].startsWith("locked "));
      expect(winners, lines.join(" | ")).toHaveLength(1);
      const loser = lines.find((line) => line.startsWith("refused "));
      expect(loser).toBe(
        `refused JOURNAL_LOCKED: journal ${dir} is in use by another process (pid ${winners[0].child.pid}); one orchestrator per journal directory`,
      );
      for (const racer of racers) racer.child.kill("SIGKILL");
      await Promise.all(racers.map((racer) => exited(racer.child)));
    }
  });

  it("in one process: a second open is refused while the first is open; close() frees the directory", async () => {
    const dir = await temp.make();
    const { journal } = open(dir);
    expect(openError(dir).code).toBe("JOURNAL_LOCKED");
    await journal.close();
    expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
    const { lines } = open(dir);
    expect(lines).toEqual([]);
  });
});

describe("dsat orchestrator with a journal it cannot open", () => {
  async function topology(dir: string): Promise<string> {
    const [frontend] = await freeEndpoints(1);
    const file = path.join(dir, "topology.json");
    const types = { echo: { module: path.join(ROOT, "satellites/echo.ts") } };
    fs.writeFileSync(
      file,
      JSON.stringify({ orchestrator: { frontend }, hierarchy: ["host"], hosts: { h1: {} }, types }),
    );
    return file;
  }

  function expectOneLine(stderr: Buffer, expected: RegExp): void {
    const text = stderr.toString();
    expect(text.trimEnd().split("\n"), text).toHaveLength(1);
    expect(text).toMatch(expected);
    expect(text).not.toMatch(/\n\s+at /);
  }

  it("exits 74 with one line for a segment that is a directory, 75 for a held journal", async () => {
    const dir = await temp.make();
    const file = await topology(dir);
    const journalDir = path.join(dir, "journal");
    fs.mkdirSync(path.join(journalDir, segmentName(1)), { recursive: true });
    const broken = await runDsat(["orchestrator", "-t", file, "--journal", journalDir], 30_000);
    expect(broken.code).toBe(74);
    expectOneLine(broken.stderr, /^dsat: journal .*journal: 0{19}1\.log is a directory, not a segment file/);

    fs.rmdirSync(path.join(journalDir, segmentName(1)));
    const { child, line } = holder(journalDir);
    await line;
    const held = await runDsat(["orchestrator", "-t", file, "--journal", journalDir], 30_000);
    expect(held.code).toBe(75);
    expectOneLine(
      held.stderr,
      new RegExp(`^dsat: journal .* is in use by another process \\(pid ${child.pid}\\)`),
    );
  });

  // chmod 000 stops reads for anyone but root. As root, the orchestrator runs as nobody for this case
  // (setpriv); the ELOOP case above is the same failure for root itself.
  const root = process.getuid?.() === 0;
  const canRunAsNobody =
    root &&
    (() => {
      try {
        execFileSync("setpriv", [
          "--reuid=nobody",
          "--regid=nogroup",
          "--clear-groups",
          "test",
          "-r",
          path.join(ROOT, "bin/dsat"),
        ]);
        return true;
      } catch {
        return false;
      }
    })();

  it.skipIf(root && !canRunAsNobody)(
    "exits 74 with one line for a segment it may not read (chmod 000)",
    async () => {
      const dir = await temp.make();
      const file = await topology(dir);
      const journalDir = path.join(dir, "journal");
      await SegmentLog.open(journalDir, { log: () => {} }).close();
      fs.chmodSync(path.join(journalDir, segmentName(1)), 0o000);
      let result: Awaited<ReturnType<typeof runDsat>>;
      if (root) {
        execFileSync("chown", ["-R", "nobody", dir]);
        fs.chmodSync(dir, 0o755);
        result = await new Promise((resolve, reject) => {
          const args = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, "bin/dsat"];
          const run = spawn("setpriv", [...args, "orchestrator", "-t", file, "--journal", journalDir], {
            cwd: ROOT,
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, HOME: dir },
          });
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          run.stdout.on("data", (chunk: Buffer) => out.push(chunk));
          run.stderr.on("data", (chunk: Buffer) => err.push(chunk));
          run.on("error", reject);
          run.on("close", (code, signal) =>
            resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }),
          );
        });
      } else {
        result = await runDsat(["orchestrator", "-t", file, "--journal", journalDir], 30_000);
      }
      expect(result.code, result.stderr.toString()).toBe(74);
      expectOneLine(
        result.stderr,
        /^dsat: journal .*: cannot read segment 0{19}1\.log \(EACCES: permission denied/,
      );
    },
  );
});
