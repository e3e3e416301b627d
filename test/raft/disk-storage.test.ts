// DiskStorage: the shared storage behaviour, then what only a disk has: reopening, torn tails, a crash
// between the snapshot file and the log, and a writer SIGKILLed at random points.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import type { ConfigState, Entry } from "../../src/raft/index.ts";
import { StorageError } from "../../src/raft/index.ts";
import { writeSnapshot } from "../../src/raft/node/disk-format.ts";
import { DiskStorage, type DiskStorageOptions } from "../../src/raft/node/index.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { opStream } from "./fixtures/storage-ops.ts";
import { normal } from "./helpers.ts";
import { contractConfig as config, failure, storageContract } from "./storage-contract.ts";

const fixture = fileURLToPath(new URL("./fixtures/storage-writer.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const temp = new TempDirs("dsat-raft-disk-");
const opened: DiskStorage[] = [];

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close().catch(() => {});
  await temp.removeAll();
});

async function open(dir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
  const storage = await DiskStorage.open(dir, { log: () => {}, ...options });
  opened.push(storage);
  return storage;
}

/** Closes `storage` (everything durable, lock freed) and opens the directory again. */
async function reopen(storage: DiskStorage, options: DiskStorageOptions = {}): Promise<DiskStorage> {
  await storage.close();
  return open(storage.dir, options);
}

const text = (entry: Entry) => (entry.kind === "normal" ? new TextDecoder().decode(entry.data) : entry.kind);
const all = (storage: DiskStorage) =>
  storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER);

describe("DiskStorage: the storage contract", () => {
  storageContract(async (founding: ConfigState) => open(await temp.make(), { bootstrap: founding }));
});

describe("DiskStorage on disk", () => {
  test("reopens with its entries, hard state and configuration", async () => {
    const storage = await open(await temp.make(), { bootstrap: config });
    storage.append([normal(2, 1), normal(3, 2), normal(4, 2)]);
    storage.setHardState({ term: 2, vote: "b", commit: 3 });
    await storage.sync();
    const again = await reopen(storage);
    expect(again.hardState()).toEqual({ term: 2, vote: "b", commit: 3 });
    expect(again.snapshot()).toMatchObject({ index: 1, term: 1, config });
    expect(all(again).map(text)).toEqual(["v2", "v3", "v4"]);
    expect([again.term(1), again.term(3), again.lastIndex()]).toEqual([1, 2, 4]);
  });

  test("a second process cannot open the same directory", async () => {
    const dir = await temp.make();
    await open(dir, { bootstrap: config });
    expect(await failure(() => DiskStorage.open(dir, { log: () => {} }))).toMatchObject({
      code: "JOURNAL_LOCKED",
    });
  });

  test("a truncated conflicting suffix stays truncated after reopen, also once the log is rewritten", async () => {
    const storage = await open(await temp.make(), { bootstrap: config, rewriteAfterRecords: 3 });
    storage.append([2, 3, 4, 5, 6].map((i) => normal(i, 1)));
    storage.append([normal(4, 2, "new4")]);
    storage.setHardState({ term: 2, vote: null, commit: 3 });
    await storage.sync();
    let again = await reopen(storage);
    expect(all(again).map(text)).toEqual(["v2", "v3", "new4"]);
    again.append([normal(5, 2), normal(6, 2)]);
    again.append([normal(3, 3, "new3")]);
    await again.sync();
    again = await reopen(again, { rewriteAfterRecords: 3 });
    expect(all(again).map(text)).toEqual(["v2", "new3"]);
    expect(again.term(3)).toBe(3);
    // Rewriting the log (superseded records dropped) keeps exactly the live entries.
    await again.createSnapshot(2, config, new Uint8Array([7]));
    await again.compact(2);
    expect(again.supersededRecords).toBe(0);
    again = await reopen(again);
    expect(all(again).map(text)).toEqual(["new3"]);
    expect(again.snapshot()).toMatchObject({ index: 2, term: 1 });
  });

  test("snapshot and compaction: the snapshot and the entries after it survive reopen", async () => {
    const storage = await open(await temp.make(), { bootstrap: config });
    storage.append([2, 3, 4, 5, 6].map((i) => normal(i, 1)));
    await storage.sync();
    await storage.createSnapshot(4, config, new Uint8Array([4, 2]));
    await storage.compact(4);
    const again = await reopen(storage);
    expect(again.snapshot()).toMatchObject({ index: 4, term: 1, config });
    expect([...again.snapshot().data]).toEqual([4, 2]);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([5, 6]);
    expect(again.hardState().commit).toBeGreaterThanOrEqual(4); // a snapshot covers committed entries
    expect(again.term(4)).toBe(1);
  });

  test("an installed snapshot replaces the log, after reopen too", async () => {
    const storage = await open(await temp.make(), { bootstrap: config });
    storage.append([2, 3, 4].map((i) => normal(i, 1)));
    await storage.sync();
    await storage.applySnapshot({ index: 9, term: 3, config, data: new Uint8Array([9]) });
    storage.setHardState({ term: 3, vote: null, commit: 9 });
    await storage.sync();
    storage.append([normal(10, 3)]);
    await storage.sync();
    const again = await reopen(storage);
    expect([again.firstIndex(), again.lastIndex(), again.term(9)]).toEqual([10, 10, 3]);
    expect(again.hardState()).toEqual({ term: 3, vote: null, commit: 9 });
  });

  test("a crash between the snapshot file and its reset record drops a conflicting log, keeps a matching one", async () => {
    const dir = await temp.make();
    const storage = await open(dir, { bootstrap: config });
    storage.append([2, 3, 4, 5].map((i) => normal(i, 1)));
    storage.setHardState({ term: 1, vote: null, commit: 2 });
    await storage.close();
    // What applySnapshot writes first, then the crash: the log still holds 2..5 of term 1.
    await writeSnapshot(dir, { index: 4, term: 2, config, data: new Uint8Array() }, true);
    let again = await open(dir);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([5, 4]); // (4, 2) is not in the log: all dropped
    expect(again.hardState()).toEqual({ term: 2, vote: null, commit: 4 }); // raised to the snapshot
    await again.close();
    await writeSnapshot(dir, { index: 4, term: 1, config, data: new Uint8Array() }, true);
    again = await open(dir);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([5, 5]); // (4, 1) matches: 5 stays
  });

  test("entries of a newer term than the stored hard state (a crash between log and hard state) raise the term, with no vote", async () => {
    const storage = await open(await temp.make(), { bootstrap: config });
    storage.setHardState({ term: 2, vote: "b", commit: 1 });
    await storage.sync();
    storage.append([normal(2, 3)]); // the Ready also carried term 3: the crash came before its file
    await storage.sync();
    const again = await reopen(storage);
    expect(again.hardState()).toEqual({ term: 3, vote: null, commit: 1 });
    expect(again.term(2)).toBe(3);
  });

  test("a torn tail is cut at open: the entries before it are kept", async () => {
    const dir = await temp.make();
    const storage = await open(dir, { bootstrap: config });
    storage.append([2, 3, 4].map((i) => normal(i, 1)));
    await storage.close();
    const logDir = path.join(dir, "log");
    const segment = path.join(
      logDir,
      fs
        .readdirSync(logDir)
        .filter((n) => n.endsWith(".log"))
        .sort()
        .at(-1)!,
    );
    fs.truncateSync(segment, fs.statSync(segment).size - 3); // the last record, half written
    const again = await open(dir);
    expect(all(again).map(text)).toEqual(["v2", "v3"]);
    again.append([normal(4, 1, "again4")]);
    await again.sync();
    expect(all(await reopen(again)).map(text)).toEqual(["v2", "v3", "again4"]);
  });

  test("a damaged hard state file is an error naming it, never silently a fresh state", async () => {
    const dir = await temp.make();
    const storage = await open(dir, { bootstrap: config });
    storage.setHardState({ term: 5, vote: "c", commit: 1 });
    await storage.close();
    const file = path.join(dir, "hardstate");
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const error = await failure(() => DiskStorage.open(dir, { log: () => {} }));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toMatch(/hardstate is damaged/);
  });
});

/** Every state the disk may hold once op `acked` was reported durable: after op n >= acked, or part way into op n + 1. */
function* statesFrom(seed: number, acked: number, upTo: number): Generator<{ terms: Map<number, string> }> {
  const ops = opStream(seed);
  const log = new Map<number, string>([[1, "1:"]]); // index -> "term:data"
  let last = 1;
  for (let n = 0; n <= upTo; n += 1) {
    const op = ops.next().value;
    for (const entry of op.entries) {
      for (let i = entry.index; i <= last; i += 1) log.delete(i);
      const data = entry.kind === "normal" ? new TextDecoder().decode(entry.data) : "";
      log.set(entry.index, `${entry.term}:${data}`);
      last = entry.index;
      if (n > acked) yield { terms: log };
    }
    if (n === acked) yield { terms: log };
  }
}

/** Runs the writer in a child and SIGKILLs it `delayMs` after its `syncsBeforeKill`th report; returns the last op reported durable. */
async function killWriter(
  dir: string,
  seed: number,
  syncsBeforeKill: number,
  delayMs: number,
): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dir, String(seed)], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let acked = -1;
  let partial = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const match = /^synced (\d+)$/.exec(line);
      if (match === null) throw new Error(`unexpected child output: ${line}`);
      acked = Number(match[1]);
      if (acked + 1 === syncsBeforeKill) setTimeout(() => child.kill("SIGKILL"), delayMs);
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (_code, exitSignal) => resolve(exitSignal));
  });
  expect(signal, `child did not die by SIGKILL; stderr: ${stderr}`).toBe("SIGKILL");
  return acked;
}

describe("DiskStorage under SIGKILL", () => {
  test("a killed writer loses nothing it reported durable, and the log is one it was writing", async () => {
    for (const [seed, delayMs] of [
      [1, 0],
      [2, 3],
      [3, 11],
    ] as const) {
      const dir = await temp.make();
      const acked = await killWriter(dir, seed, 120, delayMs);
      expect(acked).toBeGreaterThanOrEqual(119);
      const storage = await open(dir);
      const snap = storage.snapshot();
      const found = new Map<number, string>();
      for (const entry of all(storage)) found.set(entry.index, `${entry.term}:${text(entry)}`);
      const ops = opStream(seed);
      let ackedTerm = 0;
      for (let n = 0; n <= acked; n += 1) ackedTerm = ops.next().value.term;
      expect(storage.hardState().term, "the term of the last reported sync").toBeGreaterThanOrEqual(
        ackedTerm,
      );
      let matched = false;
      for (const { terms } of statesFrom(seed, acked, acked + 400)) {
        const candidateLast = Math.max(...terms.keys());
        if (candidateLast !== storage.lastIndex()) continue;
        if (Number(terms.get(snap.index)?.split(":")[0]) !== snap.term) continue;
        if ([...found].every(([index, value]) => terms.get(index) === value)) {
          matched = true;
          break;
        }
      }
      expect(
        matched,
        `seed ${seed}: the reopened log (last ${storage.lastIndex()}) is no state after op ${acked}`,
      ).toBe(true);
      await storage.close();
    }
  }, 40_000);
});
