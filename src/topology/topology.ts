// Topology files: where the orchestrator listens, the failure-domain hierarchy and where each host
// sits, the job types and the satellites that serve them (docs/topology.md).
//
// {
//   "$schema": "./topology.schema.json",
//   "orchestrator": { "frontend": "tcp://127.0.0.1:5555", "intake": "...", "events": "...", "control": "...",
//                     "heartbeatMs": 1000 },
//   "hierarchy": ["rack", "host"],
//   "hosts": { "h1": { "rack": "r1" }, "h2": { "rack": "r2" } },
//   "types": { "echo": { "module": "../satellites/echo.ts", "instancesPerHost": 1, "concurrency": 8,
//                        "replicas": 3, "failureDomain": "host", "timeoutMs": 5000, "next": "store" } }
// }
//
// This file is the model: a topology as loaded (load-topology.ts reads and checks a file into one),
// its satellite processes' shape, and the error every check throws.
import type { RuleSpec, RuleStepSpec } from "../crush/index.ts";
import type {
  DiskSpillConfig,
  JobTypeConfig,
  JournalConfig,
  LocalityConfig,
  ScoresConfig,
} from "../orchestrator/index.ts";
import type { Limits } from "../protocol/index.ts";
import type { TrackerConfig } from "../tracker/index.ts";
import type { TopologyOrchestratorNode } from "./orchestrators.ts";

export interface TopologyType extends JobTypeConfig {
  /** Satellite program (a module whose default export is defineSatellite(...)), relative to the file. */
  module?: string;
  /** Satellites on each of the type's hosts (default 1). */
  instancesPerHost?: number;
  /** Satellites in all, spread over the type's hosts round-robin across failure domains. */
  instances?: number;
  /** Hosts this type runs on (default: every host). */
  hosts?: string[];
  concurrency?: number;
  weight?: number;
  env?: Record<string, string>;
  /** The rule as written, when it was crushtool text (`rule` holds it parsed). */
  ruleText?: string;
}

export interface Topology {
  /** Absolute path of the file it came from. */
  file: string;
  orchestrator: {
    frontend: string;
    intake?: string;
    events?: string;
    control?: string;
    /** Let control bind beyond this host without CURVE (docs/security.md, "Control roles"). */
    insecureControl?: boolean;
    /** Prometheus metrics, "host:port" (docs/observability.md); not part of OrchestratorConfig. */
    metrics?: string;
    /** Let metrics listen beyond this host. */
    insecureMetrics?: boolean;
    /** Accept satellites for undeclared job types (default false). */
    dynamicTypes?: boolean;
    heartbeatMs?: number;
    limits?: Partial<Limits>;
    /** Tracker settings (docs/tracker.md): ackTimeoutMs, stallTimeoutMs, breaker..., backoff... */
    tracker?: Partial<TrackerConfig>;
    /** CURVE + ZAP (docs/security.md); paths made absolute (relative to the file) on load. */
    security?: TopologySecurity;
    /** Durable jobs (docs/journal.md); `dir` made absolute (relative to the file) on load. */
    journal?: JournalConfig;
    /** Disk spill of queued jobs (docs/journal.md); `dir` made absolute (relative to the file) on load. */
    diskSpill?: DiskSpillConfig | false;
    /** Satellites' scores from their load (docs/operations.md, "Scores"). */
    scores?: ScoresConfig;
  };
  /**
   * Replicated orchestrators (orchestrators.ts), with absolute dirs; `orchestrator`'s endpoints are
   * then every node's, comma-separated.
   */
  orchestrators?: TopologyOrchestratorNode[];
  /** Failure-domain levels, outermost first, ending with "host". */
  hierarchy: string[];
  /** Host -> its bucket at each level above host. */
  hosts: Record<string, Record<string, string>>;
  types: Record<string, TopologyType>;
  /** Placement near the data (docs/locality.md); `hostnamesFile` made absolute on load. */
  locality?: LocalityConfig;
}

export interface TopologySecurity {
  /** The orchestrator's NAME.key; its NAME.pub (next to it) is what clients and satellites need. */
  serverKey: string;
  /** Directory of the admins' NAME.pub files (control commands jobs, retry, reload-keys, memory). */
  admins?: string;
  /** Directory of the allowed clients' NAME.pub files. */
  clients?: string;
  /** Directory of the allowed satellites' NAME.pub files. */
  satellites?: string;
  /** Satellite key name (NAME or NAME.pub) -> job types it may serve. */
  satelliteTypes?: Record<string, string[]>;
}

/** The orchestrator's public key file of a secured topology: serverKey with .key -> .pub. */
export function serverPublicKeyFile(security: TopologySecurity): string {
  return `${security.serverKey.replace(/\.key$/, "")}.pub`;
}

export interface SatelliteInstance {
  id: string;
  type: string;
  host: string;
  /** Absolute module path. */
  module: string;
  location: Array<[string, string]>;
  concurrency: number;
  weight: number;
  env: Record<string, string>;
}

export class TopologyError extends Error {
  override name = "TopologyError";
  constructor(
    readonly file: string,
    readonly path: string,
    message: string,
  ) {
    super(`${file}: ${path}: ${message}`);
  }
}

/** A type's replicas when it names none (the orchestrator's default). */
export const DEFAULT_REPLICAS = 3;

/** A type as the file writes it (its rule in any form), before the checks. */
export interface RawType extends Omit<TopologyType, "rule" | "ruleText"> {
  rule?: string | RuleStepSpec[] | RuleSpec;
}

/** A topology file as the schema admits it: before the checks, paths as written. */
export interface RawTopology {
  orchestrator: Topology["orchestrator"];
  orchestrators?: TopologyOrchestratorNode[];
  hierarchy?: string[];
  hosts: Record<string, Record<string, string>>;
  types: Record<string, RawType>;
  locality?: LocalityConfig;
}
