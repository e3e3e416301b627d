// Orchestrator configuration: endpoints, hierarchy, job types, limits. `resolveConfig` fills
// defaults and rejects bad combinations in sentences.
import { join } from "node:path";
import { type Logger, sharedLogger } from "../log/index.ts";
import { type Limits, validateLimits } from "../protocol/index.ts";
import { type KeyPair, keyName, readKeyPair } from "../security/index.ts";
import type { TrackerConfig } from "../tracker/index.ts";
import { exposedControl } from "./control-binding.ts";
import { type LocalityConfig, type ResolvedLocality, resolveLocality } from "./locality-config.ts";
import { type ResolvedScores, resolveScores, type ScoresConfig } from "./scores-config.ts";
import {
  ConfigError,
  type JobTypeConfig,
  type OverflowPolicy,
  pipelineOf,
  type ResolvedTypeConfig,
  resolveType,
} from "./type-config.ts";

export {
  ConfigError,
  type JobTypeConfig,
  type OverflowPolicy,
  pipelineOf,
  type ResolvedTypeConfig,
  resolveType,
};

export interface SecurityConfig {
  /** The orchestrator's key pair, or the path of its NAME.key file. */
  serverKey: KeyPair | string;
  /**
   * Directory of the admins' NAME.pub files: the only keys that may run the control commands
   * `jobs`, `retry`, `reload-keys` and `memory` (docs/security.md, "Control roles").
   */
  adminKeysDir?: string;
  /** Directory of the allowed clients' NAME.pub files. */
  clientKeysDir?: string;
  /** Directory of the allowed satellites' NAME.pub files. */
  satelliteKeysDir?: string;
  /** Satellite key name -> the job types it may serve (keys not listed may serve any type). */
  satelliteTypes?: Record<string, string[]>;
}

export interface ResolvedSecurity {
  serverKey: KeyPair;
  adminKeysDir?: string;
  clientKeysDir?: string;
  satelliteKeysDir?: string;
  satelliteTypes: Map<string, Set<string>>;
}

export interface OrchestratorConfig {
  /** ROUTER endpoint(s) for clients and satellites (MDP style: both on one socket). */
  frontend: string | string[];
  /** XSUB endpoint(s) publishers send fire-and-forget jobs to (topic = job type). */
  intake?: string | string[];
  /** XPUB endpoint(s) for events and results of published jobs. */
  events?: string | string[];
  /** ROUTER endpoint(s) for status and admin commands. */
  control?: string | string[];
  /**
   * Without security, control may only bind ipc://, inproc:// or a loopback address (every peer
   * is an admin there); true lets it bind a wildcard or another address anyway, with a warning.
   */
  insecureControl?: boolean;
  /** Failure-domain levels, outermost first. Default ["datacenter", "rack", "host"]. */
  hierarchy?: string[];
  /** Known job types: satellites may register only for these, unless `dynamicTypes`. */
  types?: Record<string, JobTypeConfig>;
  /**
   * Accept satellites for job types not listed in `types` (with default settings), up to
   * limits.dynamicTypesMax. Default: true when `types` lists none, false otherwise.
   */
  dynamicTypes?: boolean;
  limits?: Partial<Limits>;
  /** Tracker settings: ack, run and stall timeouts, backoff, breakers, poison (docs/tracker.md). */
  tracker?: Partial<TrackerConfig>;
  /** When set, every TCP endpoint is a CURVE server and peers must hold an allowed key. */
  security?: SecurityConfig;
  /** Durable jobs (docs/journal.md): accepted jobs survive an orchestrator crash. */
  journal?: JournalConfig;
  /**
   * Disk spill of queued jobs (docs/journal.md "Disk spill"): when a job's candidates are all busy
   * and their queues hold `queuedMax` jobs, its payload waits on disk instead of in memory. Off
   * unless set, or on (under `<journal.dir>/spill`) when there is a journal; `false` turns it off.
   */
  diskSpill?: DiskSpillConfig | false;
  /** Satellites' scores from their load (docs/operations.md, "Scores"). */
  scores?: ScoresConfig;
  /** Placement near the data: the hostname map (docs/locality.md); DSAT_HOSTNAME_MAP names a file too. */
  locality?: LocalityConfig;
  /**
   * Replicated orchestrators: the leadership term this orchestrator serves in (set by its node,
   * docs/raft.md). Attempt tokens then carry it, so satellites and the router tell one leadership's
   * attempts from another's. 0 (default): a single orchestrator.
   */
  fencingEpoch?: number;
  /**
   * Checks a `dsat config set` value against the topology's schema: null, or a sentence naming the
   * key and what it expects (orchestratorConfig() gives the topology's; the router checks again).
   */
  liveConfigCheck?: (key: string, value: unknown) => string | null;
  /**
   * Where the orchestrator's log lines go: a Logger (src/log), or a function taking each line as
   * text. Default: JSON lines on stdout (the process's `orchestrator` logger, docs/observability.md).
   */
  log?: ((line: string) => void) | Logger;
}

export interface DiskSpillConfig {
  /** Directory of the spill files (created if missing; its spill files are deleted at start). Default `<journal.dir>/spill`. */
  dir?: string;
  /** Jobs waiting in memory per satellite before further ones spill to disk (default limits.satelliteQueueMax). */
  queuedMax?: number;
}

export interface ResolvedDiskSpill {
  dir: string;
  queuedMax: number;
}

/** The job journal: accepted jobs and their state changes on disk before they are acknowledged. */
export interface JournalConfig {
  /** Directory of the journal's segment files (created if missing). */
  dir: string;
  /** fdatasync each group commit (default true). false survives kill -9, not a power loss. */
  fsync?: boolean;
  /** How long a group commit waits to gather more records, ms (default 0: the next turn). */
  commitWindowMs?: number;
  /** How long finished jobs (results, failures) are kept for resubmissions and `dsat jobs`, ms (default 1 h). */
  retentionMs?: number;
  /** At most this many finished jobs are kept (the oldest go first; default 100,000). */
  finishedMax?: number;
  /** Compact when the journal passes this many bytes and twice its live size (default 64 MiB). */
  compactBytes?: number;
  /** After a restart, how long to let satellites re-register before replayed jobs are placed, ms (default 2000). */
  recoveryMs?: number;
  /** Roll to a new segment file past this size (default 64 MiB). */
  segmentBytesMax?: number;
}

export interface ResolvedJournal {
  dir: string;
  fsync: boolean;
  commitWindowMs: number;
  retentionMs: number;
  finishedMax: number;
  compactBytes: number;
  recoveryMs: number;
  segmentBytesMax: number;
}

export interface ResolvedConfig {
  frontend: string[];
  intake: string[];
  events: string[];
  control: string[];
  /** Logged at start: control is reachable from other hosts without CURVE (insecureControl). */
  controlWarning: string | null;
  hierarchy: string[];
  types: Map<string, ResolvedTypeConfig>;
  dynamicTypes: boolean;
  limits: Limits;
  security: ResolvedSecurity | null;
  journal: ResolvedJournal | null;
  diskSpill: ResolvedDiskSpill | null;
  /** Tracker settings as given (the router completes them from the types and limits). */
  tracker: Partial<TrackerConfig>;
  scores: ResolvedScores;
  fencingEpoch: number;
  locality: ResolvedLocality;
  liveConfigCheck: ((key: string, value: unknown) => string | null) | null;
  log: (line: string) => void;
  /** The leveled logger behind `log`, or null when the caller gave a line function (no levels). */
  logger: Logger | null;
}

/** The largest payload a durable orchestrator takes: a journal record (16 MiB) less room for its fields. */
const JOURNAL_MESSAGE_BYTES_MAX = 15 * 1024 * 1024;

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export function resolveConfig(config: OrchestratorConfig): ResolvedConfig {
  const limits = validateLimits(config.limits);
  const frontend = list(config.frontend);
  if (frontend.length === 0) throw new ConfigError("frontend: at least one endpoint is required");
  const hierarchy = config.hierarchy ?? ["datacenter", "rack", "host"];
  if (new Set(hierarchy).size !== hierarchy.length)
    throw new ConfigError("hierarchy: levels must be distinct");
  if (hierarchy.includes("satellite") || hierarchy.includes("root")) {
    throw new ConfigError('hierarchy: "satellite" and "root" are reserved level names');
  }
  const types = new Map<string, ResolvedTypeConfig>();
  for (const [name, type] of Object.entries(config.types ?? {})) {
    types.set(name, resolveType(name, type, hierarchy, limits));
  }
  for (const [name, type] of types) {
    for (const next of type.next) {
      if (!types.has(next)) throw new ConfigError(`types.${name}.next: unknown type "${next}"`);
    }
  }
  for (const name of types.keys()) pipelineOf(types, name);
  if (config.journal !== undefined && limits.messageBytesMax > JOURNAL_MESSAGE_BYTES_MAX) {
    throw new ConfigError(
      `limits.messageBytesMax: at most ${JOURNAL_MESSAGE_BYTES_MAX} bytes with a journal (a journal record holds a whole payload or result, up to 16 MiB)`,
    );
  }
  const security = config.security === undefined ? null : resolveSecurity(config.security);
  const control = list(config.control);
  return {
    frontend,
    intake: list(config.intake),
    events: list(config.events),
    control,
    controlWarning: checkControlBinding(control, security, config.insecureControl),
    hierarchy,
    types,
    dynamicTypes: config.dynamicTypes ?? types.size === 0,
    limits,
    security,
    journal: config.journal === undefined ? null : resolveJournal(config.journal),
    diskSpill: resolveDiskSpill(config.diskSpill, config.journal, limits),
    tracker: config.tracker ?? {},
    fencingEpoch: config.fencingEpoch ?? 0,
    scores: resolveScores(config.scores),
    locality: resolveLocality(config.locality, process.env.DSAT_HOSTNAME_MAP),
    liveConfigCheck: config.liveConfigCheck ?? null,
    ...logOf(config.log),
  };
}

function resolveJournal(journal: JournalConfig): ResolvedJournal {
  if (typeof journal.dir !== "string" || journal.dir === "")
    throw new ConfigError("journal.dir: expected a directory path");
  const number = (name: keyof JournalConfig, fallback: number, min: number): number => {
    const value = journal[name] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min)
      throw new ConfigError(`journal.${name}: expected a number >= ${min}, got ${String(value)}`);
    return value;
  };
  if (journal.fsync !== undefined && typeof journal.fsync !== "boolean")
    throw new ConfigError("journal.fsync: expected true or false");
  return {
    dir: journal.dir,
    fsync: journal.fsync ?? true,
    commitWindowMs: number("commitWindowMs", 0, 0),
    retentionMs: number("retentionMs", 3_600_000, 0),
    finishedMax: number("finishedMax", 100_000, 0),
    compactBytes: number("compactBytes", 64 * 1024 * 1024, 4096),
    recoveryMs: number("recoveryMs", 2000, 0),
    segmentBytesMax: number("segmentBytesMax", 64 * 1024 * 1024, 4096),
  };
}

/** Off unless configured, or on under the journal's directory when there is a journal. */
function resolveDiskSpill(
  spill: DiskSpillConfig | false | undefined,
  journal: JournalConfig | undefined,
  limits: Limits,
): ResolvedDiskSpill | null {
  if (spill === false) return null;
  if (spill === undefined && journal === undefined) return null;
  if (spill !== undefined && (typeof spill !== "object" || spill === null))
    throw new ConfigError("diskSpill: expected an object ({ dir?, queuedMax? }) or false");
  const dir = spill?.dir ?? (journal !== undefined ? join(journal.dir, "spill") : undefined);
  if (typeof dir !== "string" || dir === "")
    throw new ConfigError("diskSpill.dir: expected a directory path (there is no journal to put it under)");
  const queuedMax = spill?.queuedMax ?? limits.satelliteQueueMax;
  if (!Number.isInteger(queuedMax) || queuedMax < 1)
    throw new ConfigError(`diskSpill.queuedMax: expected an integer >= 1, got ${String(queuedMax)}`);
  return { dir, queuedMax };
}

function resolveSecurity(security: SecurityConfig): ResolvedSecurity {
  let serverKey: KeyPair;
  try {
    serverKey = typeof security.serverKey === "string" ? readKeyPair(security.serverKey) : security.serverKey;
  } catch (error) {
    throw new ConfigError(`security.serverKey: ${(error as Error).message}`);
  }
  if (
    security.adminKeysDir === undefined &&
    security.clientKeysDir === undefined &&
    security.satelliteKeysDir === undefined
  )
    throw new ConfigError(
      "security: name adminKeysDir, clientKeysDir and/or satelliteKeysDir (nobody could connect)",
    );
  const satelliteTypes = new Map<string, Set<string>>();
  for (const [name, types] of Object.entries(security.satelliteTypes ?? {})) {
    if (!Array.isArray(types) || !types.every((type) => typeof type === "string"))
      throw new ConfigError(`security.satelliteTypes.${name}: expected an array of job types`);
    satelliteTypes.set(keyName(name), new Set(types));
  }
  return {
    serverKey,
    adminKeysDir: security.adminKeysDir,
    clientKeysDir: security.clientKeysDir,
    satelliteKeysDir: security.satelliteKeysDir,
    satelliteTypes,
  };
}

/**
 * Without CURVE every control peer is an admin: control must stay on this host (ipc, inproc,
 * loopback TCP) unless `insecureControl` says otherwise. Returns the warning to log at start.
 */
function checkControlBinding(
  control: readonly string[],
  security: ResolvedSecurity | null,
  insecureControl: boolean | undefined,
): string | null {
  if (insecureControl !== undefined && typeof insecureControl !== "boolean")
    throw new ConfigError("insecureControl: expected true or false");
  if (security !== null) return null;
  const exposed = exposedControl(control);
  if (exposed === null) return null;
  if (insecureControl !== true)
    throw new ConfigError(
      `control: ${exposed} without CURVE, so anyone who can reach it may run every control command (jobs, retry, reload-keys); bind it to 127.0.0.1 or ipc://, turn security on, or start with --insecure (insecureControl: true)`,
    );
  return `control ${exposed} without CURVE (insecureControl): anyone who can reach it may run every control command`;
}

/** The log option as a line function, and the leveled logger behind it when there is one. */
function logOf(log: OrchestratorConfig["log"]): { log: (line: string) => void; logger: Logger | null } {
  if (typeof log === "function") return { log, logger: null };
  const logger = log ?? sharedLogger("orchestrator");
  return { log: logger.line, logger };
}
