// A satellite's side of placement near the data (docs/locality.md): which of a job's replicas sit
// on its own host, so a handler reads the local copy. Its host is its location's `host` (else the
// innermost level); replica hosts go through the same hostname map as the orchestrator's: the
// satellite option `hostnames`, then the file DSAT_HOSTNAME_MAP names.
import { readFileSync } from "node:fs";
import { parseHostnameMap, replicaHost } from "../protocol/index.ts";

export class LocalReplicas {
  private readonly host: string;

  constructor(
    location: ReadonlyArray<readonly [string, string]>,
    private readonly hostnames: ReadonlyMap<string, string>,
  ) {
    const named = location.find(([level]) => level === "host") ?? location[location.length - 1];
    this.host = (named?.[1] ?? "").toLowerCase();
  }

  /** The address names a replica on this satellite's host. */
  isLocal(address: string): boolean {
    const name = replicaHost(address);
    if (name === null || this.host === "") return false;
    return (this.hostnames.get(name) ?? name) === this.host;
  }
}

/**
 * The satellite's hostname map: `given` (lower-cased), then the pairs of the DSAT_HOSTNAME_MAP
 * file. A file it cannot read costs locality only: it is logged and skipped.
 */
export function satelliteHostnames(
  given: Record<string, string> | undefined,
  envFile: string | undefined,
  log: (line: string) => void,
): Map<string, string> {
  const map = new Map<string, string>();
  for (const [storage, host] of Object.entries(given ?? {}))
    if (typeof host === "string") map.set(storage.toLowerCase(), host.toLowerCase());
  if (envFile !== undefined && envFile !== "") {
    try {
      for (const [storage, host] of parseHostnameMap(readFileSync(envFile, "utf8"), envFile))
        map.set(storage, host);
    } catch (error) {
      log(`satellite: hostname map ${envFile} not used: ${(error as Error).message}`);
    }
  }
  return map;
}
