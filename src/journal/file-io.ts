// File I/O the segment log needs beyond node:fs: writes that loop until every byte is down (the
// kernel may write fewer bytes than asked) and the directory fsync that makes a rename durable.
import fs from "node:fs";

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
