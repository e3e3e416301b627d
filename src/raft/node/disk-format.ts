// The bytes of a Raft data directory (docs/raft.md, "On disk"): the records of the entry log (kept in the
// journal's SegmentLog, which frames and checksums them) and the two small files replaced atomically,
// `hardstate` and `snapshot`.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import type { ConfigChange, ConfigState, Entry, HardState, Snapshot } from "../index.ts";
import { StorageError } from "../index.ts";
import { pack, unpack } from "./codec.ts";

// ---- Log records -------------------------------------------------------------------------------------

const RECORD_ENTRY = 1;
const RECORD_RESET = 2;
const KIND_CODES = { noop: 0, normal: 1, config: 2 } as const;
const CHANGE_TYPES: readonly ConfigChange["type"][] = ["add-learner", "add-voter", "remove"];

/**
 * `entry`: the entry at its index, superseding any entry at that index or after it found earlier in the
 * log. `reset`: the log is empty after (index, term) (an installed or compacted-to snapshot).
 */
export type LogRecord = { type: "entry"; entry: Entry } | { type: "reset"; index: number; term: number };

export function encodeEntryRecord(entry: Entry): Buffer {
  switch (entry.kind) {
    case "noop":
      return pack([RECORD_ENTRY, entry.index, entry.term, KIND_CODES.noop]);
    case "normal":
      return pack([RECORD_ENTRY, entry.index, entry.term, KIND_CODES.normal, entry.data]);
    case "config":
      return pack([
        RECORD_ENTRY,
        entry.index,
        entry.term,
        KIND_CODES.config,
        [entry.change.type, entry.change.node, entry.config.voters, entry.config.learners],
      ]);
  }
}

export function encodeResetRecord(index: number, term: number): Buffer {
  return pack([RECORD_RESET, index, term]);
}

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isIdList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((id) => typeof id === "string" && id.length > 0);

/** Throws a StorageError naming `where` if the record is not one this module wrote. */
export function decodeLogRecord(bytes: Uint8Array, where: string): LogRecord {
  const bad = (why: string) => new StorageError(`${where}: ${why}`);
  let value: unknown;
  try {
    value = unpack(bytes);
  } catch {
    throw bad("not MessagePack");
  }
  if (!Array.isArray(value) || !isIndex(value[1]) || !isIndex(value[2])) throw bad("not a Raft log record");
  const [type, index, term] = value as [number, number, number];
  if (type === RECORD_RESET) return { type: "reset", index, term };
  if (type !== RECORD_ENTRY) throw bad(`unknown record type ${String(type)}`);
  switch (value[3]) {
    case KIND_CODES.noop:
      return { type: "entry", entry: { index, term, kind: "noop" } };
    case KIND_CODES.normal:
      if (!(value[4] instanceof Uint8Array)) throw bad(`entry ${index} has no data bytes`);
      return { type: "entry", entry: { index, term, kind: "normal", data: value[4] } };
    case KIND_CODES.config: {
      const body = value[4] as unknown[];
      const ok =
        Array.isArray(body) &&
        CHANGE_TYPES.includes(body[0] as ConfigChange["type"]) &&
        typeof body[1] === "string" &&
        isIdList(body[2]) &&
        isIdList(body[3]);
      if (!ok) throw bad(`entry ${index} has a malformed configuration`);
      const change: ConfigChange = { type: body[0] as ConfigChange["type"], node: body[1] as string };
      const config: ConfigState = { voters: body[2] as string[], learners: body[3] as string[] };
      return { type: "entry", entry: { index, term, kind: "config", change, config } };
    }
    default:
      throw bad(`entry ${index} has an unknown kind`);
  }
}

// ---- Small files replaced atomically ---------------------------------------------------------------------

export const HARD_STATE_FILE = "hardstate";
export const SNAPSHOT_FILE = "snapshot";
const TEMP_SUFFIX = ".tmp";
const MAGIC = { [HARD_STATE_FILE]: "DSATRHS1", [SNAPSHOT_FILE]: "DSATRSN1" } as const;
type SmallFile = keyof typeof MAGIC;
/** magic (8) · body length u32 LE · CRC-32 of the body u32 LE, then the MessagePack body. */
const FILE_HEADER_BYTES = 16;

function frameFile(name: SmallFile, body: Buffer): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  header.write(MAGIC[name], 0, "ascii");
  header.writeUInt32LE(body.length, 8);
  header.writeUInt32LE(zlib.crc32(body), 12);
  return Buffer.concat([header, body]);
}

/** The body of `dir/name`, or undefined if there is none; a damaged file throws (never silently ignored). */
function readFramed(dir: string, name: SmallFile): Buffer | undefined {
  const file = path.join(dir, name);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StorageError(`${file}: cannot read (${(error as Error).message})`);
  }
  const body = bytes.subarray(FILE_HEADER_BYTES);
  if (
    bytes.length < FILE_HEADER_BYTES ||
    bytes.toString("ascii", 0, 8) !== MAGIC[name] ||
    bytes.readUInt32LE(8) !== body.length ||
    bytes.readUInt32LE(12) !== zlib.crc32(body)
  ) {
    throw new StorageError(
      `${file} is damaged (bad magic, length or checksum); it was complete when renamed into place, so this is disk damage: restore it or rebuild this node from its peers`,
    );
  }
  return body;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write under a temp name, fsync, rename over the old file, fsync the directory. */
async function writeFramed(dir: string, name: SmallFile, body: Buffer, fsync: boolean): Promise<void> {
  const file = path.join(dir, name);
  const handle = await fs.promises.open(file + TEMP_SUFFIX, "w");
  try {
    await handle.writeFile(frameFile(name, body));
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(file + TEMP_SUFFIX, file);
  if (fsync) await syncDirectory(dir);
}

/** Temp files left by a crash were never renamed into place: nothing refers to them. */
export function removeTempFiles(dir: string): void {
  for (const name of [HARD_STATE_FILE, SNAPSHOT_FILE])
    fs.rmSync(path.join(dir, name + TEMP_SUFFIX), { force: true });
}

export function readHardState(dir: string): HardState | undefined {
  const body = readFramed(dir, HARD_STATE_FILE);
  if (body === undefined) return undefined;
  const value = unpack(body) as unknown[];
  if (
    !Array.isArray(value) ||
    !isIndex(value[0]) ||
    !(value[1] === null || typeof value[1] === "string") ||
    !isIndex(value[2])
  ) {
    throw new StorageError(`${path.join(dir, HARD_STATE_FILE)}: not a hard state`);
  }
  return { term: value[0], vote: value[1] as string | null, commit: value[2] };
}

export function writeHardState(dir: string, hardState: HardState, fsync: boolean): Promise<void> {
  return writeFramed(dir, HARD_STATE_FILE, pack([hardState.term, hardState.vote, hardState.commit]), fsync);
}

export function readSnapshot(dir: string): Snapshot | undefined {
  const body = readFramed(dir, SNAPSHOT_FILE);
  if (body === undefined) return undefined;
  const value = unpack(body) as unknown[];
  if (
    !Array.isArray(value) ||
    !isIndex(value[0]) ||
    !isIndex(value[1]) ||
    !isIdList(value[2]) ||
    !isIdList(value[3]) ||
    !(value[4] instanceof Uint8Array)
  ) {
    throw new StorageError(`${path.join(dir, SNAPSHOT_FILE)}: not a snapshot`);
  }
  return {
    index: value[0],
    term: value[1],
    config: { voters: value[2], learners: value[3] },
    data: value[4],
  };
}

export function writeSnapshot(dir: string, snapshot: Snapshot, fsync: boolean): Promise<void> {
  const body = pack([
    snapshot.index,
    snapshot.term,
    snapshot.config.voters,
    snapshot.config.learners,
    snapshot.data,
  ]);
  return writeFramed(dir, SNAPSHOT_FILE, body, fsync);
}
