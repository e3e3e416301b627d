// The file I/O the segment log builds on, on file descriptors: fs calls as promises, writes that loop
// until every byte is down (the kernel may write fewer bytes than asked), and the directory fsync that
// makes a rename durable; asynchronous for commits, synchronous for the repairs at open.
import fs from "node:fs";
import { promisify } from "node:util";

// ---- Asynchronous: the writer's commits ----------------------------------------------------------

export const openAsync = promisify(fs.open);
export const closeAsync = promisify(fs.close);
const writevAsync = promisify(fs.writev);
export const fdatasyncAsync = promisify(fs.fdatasync);
export const fsyncAsync = promisify(fs.fsync);
export const fstatAsync = promisify(fs.fstat);
export const ftruncateAsync = promisify(fs.ftruncate);

/** writev until every byte is written: the kernel may write fewer bytes than asked. */
export async function writeAll(fd: number, buffers: Buffer[], position: number): Promise<number> {
  let left = buffers;
  let at = position;
  while (left.length > 0) {
    const { bytesWritten } = await writevAsync(fd, left, at);
    if (bytesWritten === 0) throw new Error("journal: writev wrote 0 bytes");
    at += bytesWritten;
    left = dropBytes(left, bytesWritten);
  }
  return at - position;
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (count >= buffer.length) count -= buffer.length;
    else {
      rest.push(count > 0 ? buffer.subarray(count) : buffer);
      count = 0;
    }
  }
  return rest;
}

/** The directory fsync that makes a rename or unlink durable (Linux; Windows cannot open one). */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const fd = await openAsync(dir, "r");
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

// ---- Synchronous: repairs at open -----------------------------------------------------------------

/** Positional writes until every byte of `buffers` is written; returns the bytes written. */
export function writeAllSync(fd: number, buffers: Buffer[], position: number): number {
  let at = position;
  for (const buffer of buffers) {
    for (let done = 0; done < buffer.length; ) {
      const written = fs.writeSync(fd, buffer, done, buffer.length - done, at);
      done += written;
      at += written;
    }
  }
  return at - position;
}

/** A rename or unlink is durable only once the directory is synced (Linux; Windows cannot open one). */
export function syncDirectorySync(dir: string): void {
  if (process.platform === "win32") return;
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
