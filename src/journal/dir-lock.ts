// One process per journal directory, held by the kernel: a listening abstract unix socket named after
// the directory's real path. The kernel frees it when the holder dies, however it dies (kill -9
// too), so a LOCK file naming a pid that is gone, or that was reused by another program, never blocks
// a start, and two processes racing for the directory get exactly one winner.
// The LOCK file is information for people and error messages only: it names the holder's pid.
// Abstract sockets are Linux only; elsewhere the LOCK file's pid is checked as before (best effort).
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { describeIoError, JournalError } from "./errors.ts";

export interface DirectoryLock {
  /** The LOCK file (information only). */
  readonly file: string;
  /** Removes the LOCK file (if it still names this process), then frees the lock. Idempotent. */
  release(): void;
}

/** Takes the directory (created if needed) or throws JOURNAL_LOCKED / JOURNAL_UNREADABLE, one line each. */
export function lockDirectory(dir: string, log: (line: string) => void): DirectoryLock {
  let real: string;
  try {
    fs.mkdirSync(dir, { recursive: true });
    real = fs.realpathSync(dir);
  } catch (error) {
    throw new JournalError(
      "JOURNAL_UNREADABLE",
      `journal ${dir}: cannot create the directory (${describeIoError(error)})`,
      {
        cause: error,
      },
    );
  }
  const file = path.join(dir, "LOCK");
  let server: net.Server | null = null;
  if (process.platform === "linux") {
    const socketName = `\0dsat-journal-${createHash("sha256").update(real).digest("hex").slice(0, 40)}`;
    server = listenAbstract(socketName);
    if (server === null) throw lockedError(dir, holderOf(socketName) ?? pidIn(file));
  } else {
    const owner = pidIn(file);
    if (owner !== null && owner !== process.pid && alive(owner)) throw lockedError(dir, owner);
  }
  try {
    writeLockFile(dir, file, log);
  } catch (error) {
    server?.close();
    throw error;
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      // The file first: once the socket is free, the next holder writes its own LOCK.
      if (pidIn(file) === process.pid) fs.rmSync(file, { force: true });
      server?.close();
    },
  };
}

/**
 * A server bound to the abstract name, or null if another socket holds it. The bind happens inside
 * listen() (Node reports its error on the next tick), so `listening` tells at once.
 */
function listenAbstract(name: string): net.Server | null {
  const server = net.createServer();
  server.on("error", () => {}); // EADDRINUSE, already answered by `listening` below
  server.listen({ path: name });
  if (!server.listening) return null;
  server.unref(); // the lock must not keep the process alive
  return server;
}

function lockedError(dir: string, pid: number | null): JournalError {
  const holder = pid === null ? "another process (its pid is unknown)" : `another process (pid ${pid})`;
  return new JournalError(
    "JOURNAL_LOCKED",
    `journal ${dir} is in use by ${holder}; one orchestrator per journal directory`,
  );
}

/** The pid in a LOCK file, or null (missing, unreadable, not a pid). */
function pidIn(file: string): number | null {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** The process holding the abstract socket, from /proc (null when it cannot be seen, e.g. another user's). */
function holderOf(socketName: string): number | null {
  try {
    // Node pads an abstract name with NULs to the whole sun_path; /proc shows each NUL as "@".
    const wanted = ` @${socketName.slice(1)}`;
    const line = fs
      .readFileSync("/proc/net/unix", "utf8")
      .split("\n")
      .find(
        (entry) => entry.includes(wanted) && /^@*$/.test(entry.slice(entry.indexOf(wanted) + wanted.length)),
      );
    const inode = line?.trim().split(/\s+/)[6];
    if (inode === undefined) return null;
    const target = `socket:[${inode}]`;
    for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
      if (Number(pid) === process.pid) continue;
      let fds: string[];
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return Number(pid);
        } catch {}
      }
    }
  } catch {}
  return null;
}

/** Writes our pid to LOCK (atomically), saying once whose stale LOCK it replaces. */
function writeLockFile(dir: string, file: string, log: (line: string) => void): void {
  let previous: string | null = null;
  try {
    previous = fs.readFileSync(file, "latin1");
  } catch {}
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, `${process.pid}\n`);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw new JournalError(
      "JOURNAL_UNREADABLE",
      `journal ${dir}: cannot write its LOCK file (${describeIoError(error)}); remove ${file}`,
      { cause: error },
    );
  }
  if (previous === null) return;
  const owner = /^\d{1,10}$/.test(previous.trim()) ? Number(previous.trim()) : null;
  if (owner === process.pid) return;
  log(
    owner === null
      ? `journal: ${dir}: its LOCK file named no process (${previous.length} bytes that are not a pid); replaced`
      : `journal: ${dir}: taking over the LOCK of pid ${owner}, which no longer holds the journal (it exited, or the pid now belongs to another program)`,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
