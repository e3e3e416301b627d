// A disk that fails under a journal, for real: a small tmpfs mounted on a temporary root (CI runs
// as root) and filled until writes fail with ENOSPC. Where mount is not allowed, or with
// DSAT_TEST_NO_MOUNT=1 (to run the fallback where mount would work), the failure is the other real
// one a journal meets: its directory swapped for an empty one, so a new segment cannot go where
// open() would find it. Call setUp() in beforeAll and tearDown() in afterAll.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "vitest";

/** The failure under one journal directory, and the way back. */
export interface FailingDisk {
  fail(): void;
  heal(): void;
}

export class FailingDisks {
  /** The temporary root; the tmpfs is mounted on it when `mounted`. */
  root = "";
  mounted = false;

  /** `prefix` names the root in the temporary directory; `size` is the tmpfs's (mount's size=). */
  constructor(
    private readonly prefix: string,
    private readonly size: string,
  ) {}

  setUp(): void {
    this.root = fs.mkdtempSync(path.join(tmpdir(), this.prefix));
    if (process.env.DSAT_TEST_NO_MOUNT === "1") return;
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${this.size}`, "tmpfs", this.root], {
        stdio: "pipe",
      });
      this.mounted = true;
    } catch (error) {
      console.warn(
        `cannot mount a tmpfs on ${this.root} (${(error as Error).message.split("\n")[0]}); the journal's directory is swapped away instead`,
      );
    }
  }

  tearDown(): void {
    if (this.mounted) execFileSync("umount", [this.root]);
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  /**
   * The failing disk under `dir` (inside the root): "full" fills the tmpfs (a filler file takes
   * every free page; heal() deletes it), "swapped" renames `dir` away and puts an empty directory in
   * its place (heal() removes that one, which must still be empty, and moves `dir` back).
   */
  disk(dir: string, kind: "full" | "swapped" = this.mounted ? "full" : "swapped"): FailingDisk {
    const filler = path.join(this.root, "filler");
    if (kind === "full") {
      return {
        fail() {
          const fd = fs.openSync(filler, "a");
          const chunk = Buffer.alloc(4096, 1);
          try {
            for (;;) fs.writeSync(fd, chunk);
          } catch (error) {
            expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
          } finally {
            fs.closeSync(fd);
          }
        },
        heal() {
          fs.rmSync(filler);
        },
      };
    }
    return {
      fail() {
        fs.renameSync(dir, `${dir}.away`);
        fs.mkdirSync(dir);
      },
      heal() {
        fs.rmdirSync(dir);
        fs.renameSync(`${dir}.away`, dir);
      },
    };
  }
}
