// Temporary directories for tests: made under the OS's temporary directory, removed together
// (call removeAll() in afterEach, after whatever still writes into them is closed).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export class TempDirs {
  private dirs: string[] = [];

  /** `prefix` starts each directory's name, as mkdtemp's does (e.g. "dsat-journal-"). */
  constructor(private readonly prefix: string) {}

  async make(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), this.prefix));
    this.dirs.push(dir);
    return dir;
  }

  async removeAll(): Promise<void> {
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}
