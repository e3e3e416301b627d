// Placement near the data (docs/locality.md): the hostname map that ties the host names in
// replica addresses (storage nodes, volumes) to the topology's host names. Disco's hostname_map:
// given in the topology (`locality.hostnames`), or in a file of `storage-name node-name` lines
// (`locality.hostnamesFile`, or the file DSAT_HOSTNAME_MAP names). A name not in the map is taken
// as a topology host name. A wrong map costs locality only, never a job.
import { readFileSync } from "node:fs";
import { parseHostnameMap } from "../protocol/index.ts";
import { ConfigError } from "./type-config.ts";

export interface LocalityConfig {
  /** Storage host name -> topology host name. */
  hostnames?: Record<string, string>;
  /** A file in Disco's format: one `storage-name host-name` pair a line, `#` comments. */
  hostnamesFile?: string;
}

export interface ResolvedLocality {
  /** Lower-case storage host name -> lower-case topology host name. */
  hostnames: Map<string, string>;
}

/** Hostnames one map may hold: a map is operator input read at start, bounded like the rest. */
export const HOSTNAMES_MAX = 100_000;

/**
 * The map from the config, then the file it names (or `envFile`, DSAT_HOSTNAME_MAP, when it names
 * none): the file's pairs win over the config's for the same name.
 */
export function resolveLocality(config: LocalityConfig | undefined, envFile?: string): ResolvedLocality {
  const hostnames = new Map<string, string>();
  for (const [storage, host] of Object.entries(config?.hostnames ?? {})) {
    if (typeof host !== "string" || host === "" || storage === "")
      throw new ConfigError(`locality.hostnames.${storage}: expected a host name`);
    hostnames.set(storage.toLowerCase(), host.toLowerCase());
  }
  const file = config?.hostnamesFile ?? (envFile === "" ? undefined : envFile);
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`locality: cannot read the hostname map ${file}: ${(error as Error).message}`);
    }
    let pairs: Array<[string, string]>;
    try {
      pairs = parseHostnameMap(text, file);
    } catch (error) {
      throw new ConfigError(`locality: ${(error as Error).message}`);
    }
    for (const [storage, host] of pairs) hostnames.set(storage, host);
  }
  if (hostnames.size > HOSTNAMES_MAX)
    throw new ConfigError(`locality: a hostname map holds at most ${HOSTNAMES_MAX} names`);
  return { hostnames };
}
