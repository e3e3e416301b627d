// The disk spill (src/orchestrator/spill.ts, docs/journal.md "Disk spill"): the DiskSpill FIFO on
// its own, then a real orchestrator whose only satellite is far slower than the requests coming in.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Client, connect, DsatError } from "../../src/client/index.ts";
import { resolveConfig } from "../../src/orchestrator/config.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { DiskSpill } from "../../src/orchestrator/spill.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { rackAndHost } from "../helpers/topology.ts";
import { sleep, until } from "../helpers/wait.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dsat-spill-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const frames = (...texts: string[]) => texts.map((text) => Buffer.from(text));
const texts = (taken: { frames: Buffer[] } | Buffer[] | undefined) =>
  taken === undefined ? undefined : (Array.isArray(taken) ? taken : taken.frames).map(String);
const fileSizes = (path: string) =>
  readdirSync(path)
    .filter((name) => name.startsWith("spill-"))
    .map((name) => statSync(join(path, name)).size);

describe("DiskSpill", () => {
  it("is a FIFO per type, reading the frames back from disk", () => {
    const spill = new DiskSpill(join(dir, "spill"));
    try {
      spill.push("a", "a1", frames("one", "two"));
      spill.push("b", "b1", frames("bee"));
      spill.push("a", "a2", frames("three"));
      spill.push("b", "b2", []);
      spill.push("a", "a3", frames("", "empty first"));
      expect(spill.size()).toBe(5);
      expect(spill.size("a")).toBe(3);
      expect(spill.size("b")).toBe(2);
      expect(spill.size("c")).toBe(0);
      expect(spill.bytes).toBe(6 + 3 + 5 + 11);
      expect(spill.peakJobs).toBe(5);
      expect(spill.shift("a")).toMatchObject({ jobId: "a1" });
      expect(texts(spill.shift("b"))).toEqual(["bee"]);
      expect(texts(spill.shift("a"))).toEqual(["three"]);
      expect(spill.shift("b")).toEqual({ jobId: "b2", frames: [] });
      expect(spill.shift("b")).toBeUndefined();
      expect(texts(spill.shift("a"))).toEqual(["", "empty first"]);
      expect(spill.shift("a")).toBeUndefined();
      expect(spill.shift("nothing")).toBeUndefined();
      expect(spill.size()).toBe(0);
      expect(spill.bytes).toBe(0);
    } finally {
      spill.close();
    }
  });

  it("reads an entry by job id without taking it, and skips removed ones", () => {
    const spill = new DiskSpill(dir);
    try {
      spill.push("t", "j1", frames("first"));
      spill.push("t", "j2", frames("second", "frame"));
      spill.push("t", "j3", frames("third"));
      expect(texts(spill.read("j2"))).toEqual(["second", "frame"]);
      expect(spill.size("t")).toBe(3);
      expect(spill.has("j2")).toBe(true);
      expect(spill.remove("j2")).toBe(true);
      expect(spill.remove("j2")).toBe(false);
      expect(spill.read("j2")).toBeUndefined();
      expect(spill.has("j2")).toBe(false);
      expect(spill.size("t")).toBe(2);
      expect(spill.peek("t")).toBe("j1");
      expect(spill.remove("j1")).toBe(true);
      expect(spill.peek("t")).toBe("j3"); // j2 and j1 are skipped
      expect(spill.peek("other")).toBeUndefined();
      expect(texts(spill.shift("t"))).toEqual(["third"]);
      expect(spill.peek("t")).toBeUndefined();
      expect(spill.shift("t")).toBeUndefined();
      expect(spill.read("j3")).toBeUndefined();
    } finally {
      spill.close();
    }
  });

  it("puts a job back at the front with unshift", () => {
    const spill = new DiskSpill(dir);
    try {
      for (const n of [1, 2, 3]) spill.push("t", `j${n}`, frames(`p${n}`));
      const first = spill.shift("t");
      expect(first?.jobId).toBe("j1");
      spill.unshift("t", "j1", first?.frames ?? []);
      spill.unshift("t", "j0", frames("p0"));
      const order: string[] = [];
      for (let taken = spill.shift("t"); taken !== undefined; taken = spill.shift("t"))
        order.push(`${taken.jobId}:${texts(taken)?.join()}`);
      expect(order).toEqual(["j0:p0", "j1:p1", "j2:p2", "j3:p3"]);
    } finally {
      spill.close();
    }
  });

  it("truncates a type's file to 0 once everything in it has been drained or removed", () => {
    const spill = new DiskSpill(dir);
    try {
      spill.push("a", "a1", frames("x".repeat(1000)));
      spill.push("a", "a2", frames("y".repeat(1000)));
      spill.push("b", "b1", frames("z".repeat(500)));
      expect(fileSizes(dir).reduce((sum, size) => sum + size, 0)).toBeGreaterThan(2500);
      spill.shift("a");
      expect(spill.fileBytes).toBeGreaterThan(2500); // a2 is still in a's file
      spill.remove("a2");
      expect(fileSizes(dir).sort((x, y) => x - y)).toEqual([0, 4 + 4 + 500]);
      expect(spill.shift("b")?.jobId).toBe("b1");
      expect(fileSizes(dir)).toEqual([0, 0]);
      expect(spill.fileBytes).toBe(0);
      // And it is used again from offset 0.
      spill.push("a", "a3", frames("again"));
      expect(texts(spill.read("a3"))).toEqual(["again"]);
      expect(spill.fileBytes).toBe(4 + 4 + 5);
      expect(texts(spill.shift("a"))).toEqual(["again"]);
    } finally {
      spill.close();
    }
  });

  it("keeps large frames and many frames intact", () => {
    const spill = new DiskSpill(dir);
    try {
      const big = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const many = Array.from({ length: 64 }, (_, i) => Buffer.alloc(i * 100, i));
      spill.push("t", "big", [big, Buffer.from("tail")]);
      spill.push("t", "many", many);
      expect(spill.bytes).toBe(big.length + 4 + many.reduce((sum, frame) => sum + frame.length, 0));
      const first = spill.shift("t");
      expect(first?.frames.length).toBe(2);
      expect(first?.frames[0].equals(big)).toBe(true);
      expect(String(first?.frames[1])).toBe("tail");
      const second = spill.shift("t");
      expect(second?.frames.length).toBe(64);
      for (const [i, frame] of (second?.frames ?? []).entries()) expect(frame.equals(many[i])).toBe(true);
    } finally {
      spill.close();
    }
  });

  it("rewrites a file without its drained part once that part dominates", () => {
    const spill = new DiskSpill(dir, { compactBytes: 4096 });
    try {
      // A steady stream: the file never empties, so only compaction keeps it small.
      let next = 0;
      let expected = 0;
      for (let round = 0; round < 200; round++) {
        spill.push("t", `j${next}`, frames(`payload ${next}`.padEnd(200, ".")));
        next++;
        spill.push("t", `j${next}`, frames(`payload ${next}`.padEnd(200, ".")));
        next++;
        const taken = spill.shift("t");
        expect(taken?.jobId).toBe(`j${expected}`);
        expect(texts(taken)?.[0]).toBe(`payload ${expected}`.padEnd(200, "."));
        expected++;
        expect(spill.fileBytes).toBeLessThan(4096 * 2 + spill.size() * 212 * 2);
      }
      expect(spill.size("t")).toBe(200);
      expect(texts(spill.read("j399"))?.[0]).toBe("payload 399".padEnd(200, "."));
      for (; expected < next; expected++) expect(spill.shift("t")?.jobId).toBe(`j${expected}`);
      expect(spill.fileBytes).toBe(0);
      expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    } finally {
      spill.close();
    }
  });

  it("creates its directory, deletes spill files left by an earlier run, and removes its files on close", () => {
    const path = join(dir, "nested", "spill");
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, "spill-0.bin"), "left over from a crash");
    writeFileSync(join(path, "spill-7.bin.tmp"), "a compaction cut short");
    writeFileSync(join(path, "keep.txt"), "not ours");
    const spill = new DiskSpill(path);
    expect(readdirSync(path)).toEqual(["keep.txt"]);
    spill.push("t", "j1", frames("x"));
    expect(readdirSync(path).sort()).toEqual(["keep.txt", "spill-0.bin"]);
    spill.close();
    expect(readdirSync(path)).toEqual(["keep.txt"]);
    expect(spill.size()).toBe(0);
    expect(() => spill.push("t", "j2", frames("y"))).toThrow(/closed/);
    const fresh = new DiskSpill(join(dir, "created"));
    expect(existsSync(join(dir, "created"))).toBe(true);
    fresh.close();
  });
});

describe("disk spill configuration", () => {
  it("is off by default, on under the journal's directory with a journal, and can be set or turned off", () => {
    const base = { frontend: "inproc://x", log: () => {} };
    expect(resolveConfig(base).diskSpill).toBeNull();
    expect(resolveConfig({ ...base, journal: { dir: "/var/j" } }).diskSpill).toEqual({
      dir: join("/var/j", "spill"),
      queuedMax: 1000,
    });
    expect(
      resolveConfig({ ...base, journal: { dir: "/var/j" }, limits: { satelliteQueueMax: 7 } }).diskSpill,
    ).toEqual({ dir: join("/var/j", "spill"), queuedMax: 7 });
    expect(resolveConfig({ ...base, journal: { dir: "/var/j" }, diskSpill: false }).diskSpill).toBeNull();
    expect(resolveConfig({ ...base, diskSpill: { dir: "/tmp/s", queuedMax: 3 } }).diskSpill).toEqual({
      dir: "/tmp/s",
      queuedMax: 3,
    });
    expect(() => resolveConfig({ ...base, diskSpill: {} })).toThrow(/diskSpill.dir/);
    expect(() => resolveConfig({ ...base, diskSpill: { dir: "/tmp/s", queuedMax: 0 } })).toThrow(
      /diskSpill.queuedMax/,
    );
  });
});

// ---- a real orchestrator ----

interface Stack {
  orchestrator: Orchestrator;
  frontend: string;
  satellites: SatelliteRuntime[];
  client: Client;
  addSatellite(handle: (payload: Work) => unknown, index: number): Promise<SatelliteRuntime>;
  close(): Promise<void>;
}

interface Work {
  n: number;
  pad: string;
}

async function startStack(options: {
  diskSpill: { dir: string; queuedMax: number } | null;
  limits?: Record<string, number>;
}): Promise<Stack> {
  const [frontend] = await freeEndpoints(1);
  const orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["rack", "host"],
    types: { work: {} },
    limits: { heartbeatMs: 500, satelliteQueueMax: 5, ...options.limits },
    ...(options.diskSpill !== null ? { diskSpill: options.diskSpill } : {}),
    log: () => {},
  });
  await orchestrator.start();
  const satellites: SatelliteRuntime[] = [];
  const client = await connect(frontend);
  const stack: Stack = {
    orchestrator,
    frontend,
    satellites,
    client,
    async addSatellite(handle, index) {
      const satellite = await runSatellite(
        defineSatellite({ type: "work", concurrency: 1, handle: (payload: Work) => handle(payload) }),
        {
          endpoint: frontend,
          id: `s${index}`,
          location: rackAndHost(index),
          heartbeatMs: 500,
          log: () => {},
        },
      );
      satellites.push(satellite);
      await until(
        () => orchestrator.status().satellites.some((entry) => entry.id === `s${index}`),
        5000,
        `satellite s${index} to register`,
      );
      return satellite;
    },
    async close() {
      await client.close();
      for (const satellite of satellites) await satellite.stop();
      await orchestrator.stop();
    },
  };
  return stack;
}

/** The payload bytes the orchestrator's live jobs hold in memory (a peek at a private map). */
function payloadBytesInMemory(orchestrator: Orchestrator): number {
  const state = (orchestrator.router as unknown as { r: { jobs: Map<string, { payload: Buffer[] }> } }).r;
  const jobs = state.jobs;
  let bytes = 0;
  for (const job of jobs.values()) for (const frame of job.payload) bytes += frame.length;
  return bytes;
}

const PAD = "p".repeat(4096);

describe("orchestrator with the disk spill", () => {
  it("spills 500 requests beyond one slow satellite to disk and runs them all, in order", async () => {
    const spillDir = join(dir, "spill");
    const stack = await startStack({ diskSpill: { dir: spillDir, queuedMax: 5 } });
    try {
      const seen: number[] = [];
      await stack.addSatellite(async ({ n }) => {
        seen.push(n);
        await sleep(5);
        return n * 2;
      }, 1);
      const send = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) =>
          stack.client.request("work", { n: from + i, pad: PAD }, { timeoutMs: 60_000 }),
        );
      const orchestrator = stack.orchestrator;
      // Two waves: the second comes while jobs of the first are on disk and the satellite's queue
      // refills from there, so a new job that found room in the queue would overtake them.
      const requests = send(0, 300);
      await until(() => seen.length >= 20, 10_000, "the first jobs to run");
      expect(orchestrator.status().diskSpill?.jobs).toBeGreaterThan(200);
      requests.push(...send(300, 200));
      await until(() => (orchestrator.status().diskSpill?.jobs ?? 0) > 400, 10_000, "jobs to spill");
      const during = orchestrator.status();
      expect(during.diskSpill?.bytes).toBeGreaterThan(400 * PAD.length);
      expect(during.jobs.waiting).toBeLessThanOrEqual(5);
      // In memory: the running job and the queued ones (and any a batch is carrying), not 400 payloads.
      expect(payloadBytesInMemory(orchestrator)).toBeLessThan(20 * (PAD.length + 64));
      const results = await Promise.all(requests);
      expect(results).toEqual(Array.from({ length: 500 }, (_, n) => n * 2));
      expect(seen).toEqual(Array.from({ length: 500 }, (_, n) => n)); // FIFO: in submission order
      const after = orchestrator.status();
      expect(after.diskSpill?.peakJobs).toBeGreaterThan(400);
      expect(after.diskSpill?.spilledTotal).toBeGreaterThanOrEqual(after.diskSpill?.peakJobs ?? 0);
      expect(after.diskSpill?.jobs).toBe(0);
      expect(after.diskSpill?.bytes).toBe(0);
      expect(after.diskSpill?.fileBytes).toBe(0);
      expect(fileSizes(spillDir).length).toBeGreaterThan(0);
      expect(fileSizes(spillDir).every((size) => size === 0)).toBe(true);
      expect(after.jobs.inFlight).toBe(0);
      expect(after.stats.work?.failed ?? 0).toBe(0);
    } finally {
      await stack.close();
    }
    expect(fileSizes(spillDir)).toEqual([]); // stop() removed its files
  }, 60_000);

  it("drains the spill to a satellite that registers, and removes jobs that expire while spilled", async () => {
    const stack = await startStack({ diskSpill: { dir, queuedMax: 2 } });
    const releases: Array<() => void> = [];
    try {
      const first: number[] = [];
      await stack.addSatellite(
        ({ n }) =>
          new Promise((resolve) => {
            first.push(n);
            releases.push(() => resolve(n));
          }),
        1,
      );
      const orchestrator = stack.orchestrator;
      // 1 runs, 2 queue, 7 spill; the last three have a short deadline.
      const settled = Array.from({ length: 10 }, (_, n) =>
        stack.client.request("work", { n, pad: "x" }, { timeoutMs: n >= 7 ? 300 : 30_000 }).then(
          (value) => ({ n, value }),
          (error: DsatError) => ({ n, code: error.code }),
        ),
      );
      await until(() => orchestrator.status().diskSpill?.jobs === 7, 5000, "seven jobs to spill");
      // A compaction snapshot takes spilled payloads from the disk.
      const live = [...orchestrator.router.liveRecords()].filter((record) => record.k === "accepted");
      expect(live.length).toBe(10);
      expect(live.every((record) => record.k === "accepted" && (record.payload[0]?.length ?? 0) > 0)).toBe(
        true,
      );
      // The three short ones expire on disk: their entries go, the file keeps the others.
      await until(() => orchestrator.status().diskSpill?.jobs === 4, 5000, "three spilled jobs to expire");
      // A second satellite comes: the spill drains to it (every job has both as candidates).
      const second: number[] = [];
      await stack.addSatellite(async ({ n }) => {
        second.push(n);
        return n;
      }, 2);
      await until(() => orchestrator.status().diskSpill?.jobs === 0, 5000, "the spill to drain");
      expect(orchestrator.status().diskSpill?.fileBytes).toBe(0);
      for (const release of releases.splice(0)) release();
      const end = Date.now() + 5000;
      while (first.length + second.length < 7 && Date.now() < end) {
        for (const release of releases.splice(0)) release();
        await sleep(10);
      }
      for (const release of releases.splice(0)) release();
      const outcomes = await Promise.all(settled);
      expect(outcomes.filter((outcome) => "value" in outcome).map((outcome) => outcome.n)).toEqual([
        0, 1, 2, 3, 4, 5, 6,
      ]);
      expect(outcomes.filter((outcome) => "code" in outcome)).toEqual([
        { n: 7, code: "DSAT_ERR_TIMEOUT" },
        { n: 8, code: "DSAT_ERR_TIMEOUT" },
        { n: 9, code: "DSAT_ERR_TIMEOUT" },
      ]);
      // The second satellite took spilled jobs in their order.
      expect(second.length).toBeGreaterThan(0);
      expect([...second].sort((a, b) => a - b)).toEqual(second);
      expect(orchestrator.status().jobs.inFlight).toBe(0);
    } finally {
      for (const release of releases) release();
      await stack.close();
    }
  }, 30_000);

  it("without the disk spill, the same load beyond the queues waits in memory and is served", async () => {
    const stack = await startStack({ diskSpill: null, limits: { noSatelliteWaitMs: 1000 } });
    try {
      await stack.addSatellite(async ({ n }) => {
        await sleep(5);
        return n * 2;
      }, 1);
      expect(stack.orchestrator.status().diskSpill).toBeNull();
      const outcomes = await Promise.all(
        Array.from({ length: 500 }, (_, n) =>
          stack.client.request("work", { n, pad: PAD }, { timeoutMs: 20_000 }).then(
            (value) => ({ ok: value === n * 2 }),
            (error: unknown) => ({ code: error instanceof DsatError ? error.code : String(error) }),
          ),
        ),
      );
      expect(outcomes.length).toBe(500);
      const codes = new Set(outcomes.map((outcome) => ("ok" in outcome ? String(outcome.ok) : outcome.code)));
      // The waiting room holds what the queues could not (within limits.waitingBytesMax): all served.
      expect([...codes]).toEqual(["true"]);
      expect(stack.orchestrator.status().waiting).toMatchObject({ jobs: 0, where: "memory" });
      expect(stack.orchestrator.status().jobs.inFlight).toBe(0);
      expect(existsSync(join(dir, "spill-0.bin"))).toBe(false);
    } finally {
      await stack.close();
    }
  }, 60_000);
});
