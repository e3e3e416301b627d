// Where a topology's satellites run: each host's place in the hierarchy, and every satellite
// process the types ask for (ids, hosts, modules), spread over the failure domains.
import { dirname, resolve } from "node:path";
import { escapePointer } from "./schema.ts";
import { type SatelliteInstance, type Topology, TopologyError } from "./topology.ts";

/** A host's path in the hierarchy, outermost first, ending with the host itself. */
export function hostLocation(topology: Topology, host: string): Array<[string, string]> {
  const placement = topology.hosts[host];
  if (placement === undefined)
    throw new TopologyError(topology.file, `/hosts/${escapePointer(host)}`, "no such host in the topology");
  const location: Array<[string, string]> = [];
  for (const level of topology.hierarchy) {
    if (level === "host") location.push(["host", host]);
    else if (placement[level] !== undefined) location.push([level, placement[level]]);
  }
  return location;
}

/**
 * `hosts` reordered so that consecutive hosts differ at the outermost level where they can:
 * round-robin over the datacenters, within each over its racks, and so on (declaration order).
 */
export function spreadOrder(topology: Topology, hosts: readonly string[]): string[] {
  const { hierarchy } = topology;
  const spread = (group: readonly string[], level: number): string[] => {
    if (level >= hierarchy.length - 1 || group.length <= 1) return [...group];
    const byBucket = new Map<string, string[]>();
    for (const host of group) {
      const key = topology.hosts[host]?.[hierarchy[level]] ?? "";
      const members = byBucket.get(key);
      if (members === undefined) byBucket.set(key, [host]);
      else members.push(host);
    }
    const ordered = [...byBucket.values()].map((members) => spread(members, level + 1));
    const result: string[] = [];
    for (let round = 0; result.length < group.length; round++) {
      for (const members of ordered) if (round < members.length) result.push(members[round]);
    }
    return result;
  };
  return spread(hosts, 0);
}

/**
 * Every satellite process the topology asks for. Per type: `instancesPerHost` (default 1) on each of
 * its hosts, or `instances` in all, dealt round-robin over spreadOrder(hosts) so consecutive
 * instances land in different datacenters/racks. A host with one instance of a type names it
 * `type@host`; with several, `type@host#1`, `type@host#2`, ...
 */
export function satelliteInstances(topology: Topology): SatelliteInstance[] {
  const instances: SatelliteInstance[] = [];
  const base = dirname(topology.file);
  for (const [type, config] of Object.entries(topology.types)) {
    if (config.module === undefined) continue;
    const hosts = config.hosts ?? Object.keys(topology.hosts);
    const make = (host: string, index: number, count: number): SatelliteInstance => ({
      id: count === 1 ? `${type}@${host}` : `${type}@${host}#${index}`,
      type,
      host,
      module: resolve(base, config.module as string),
      location: hostLocation(topology, host),
      concurrency: config.concurrency ?? 1,
      weight: config.weight ?? 1,
      env: config.env ?? {},
    });
    if (config.instances !== undefined) {
      const order = spreadOrder(topology, hosts);
      if (order.length === 0) continue;
      const countOn = (position: number) =>
        Math.floor(config.instances! / order.length) + (position < config.instances! % order.length ? 1 : 0);
      for (let n = 0; n < config.instances; n++) {
        const position = n % order.length;
        instances.push(make(order[position], Math.floor(n / order.length) + 1, countOn(position)));
      }
    } else {
      const count = config.instancesPerHost ?? 1;
      for (const host of hosts)
        for (let index = 1; index <= count; index++) instances.push(make(host, index, count));
    }
  }
  return instances;
}
