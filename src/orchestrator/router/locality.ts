// Placement near the data (docs/locality.md), Disco's model: a job that names its inputs (each a
// list of replica addresses) runs on a satellite whose host holds replicas of the most inputs,
// else one in the same rack, else where CRUSH puts it. The candidate list keeps the type's rule:
// as many candidates as CRUSH gives, one per failure domain, so a retry still goes to another
// domain; locality only decides which satellite stands for a domain, and in what order. A replica
// whose host is down (not placeable) is skipped, so the job runs near the next replica: it runs
// near its data while any one of its K replicas' hosts is up, and runs anyway when none is.
import { hashKey } from "../../crush/core.ts";
import { hash2 } from "../../crush/hash.ts";
import { decodeInputs, encode, replicaHost } from "../../protocol/index.ts";
import type { HeldInputs, Job } from "../job.ts";
import type { TypePlacement } from "../placement.ts";
import type { SatelliteInfo } from "../registry.ts";
import { isPlaceable, placementFor } from "./dispatch.ts";
import { NO_CANDIDATES } from "./shared.ts";
import type { RouterState } from "./state.ts";

/** How near its data a job ran: its host holds a replica, its rack does, or neither. */
export type Nearness = "local" | "rack" | "remote";

/**
 * A request's inputs (bytes as sent) checked and mapped to hosts, or why they are refused; null
 * when it carries none (absent or null).
 */
export function heldInputs(r: RouterState, bytes: unknown): HeldInputs | string | null {
  if (bytes === undefined || bytes === null) return null;
  const inputs = decodeInputs(bytes, r.config.limits);
  if (typeof inputs === "string") return inputs;
  const map = r.config.locality.hostnames;
  const hosts = inputs.map((replicas) => {
    const distinct: string[] = [];
    for (const address of replicas) {
      const name = replicaHost(address);
      if (name === null) continue;
      const host = map.get(name) ?? name;
      if (!distinct.includes(host)) distinct.push(host);
    }
    return distinct;
  });
  return { bytes: Buffer.from(bytes as Uint8Array), hosts };
}

/**
 * The job's candidates, best first: CRUSH's for its key, reordered (and, per failure domain,
 * chosen) near its inputs when it has some. Every placement decision asks here.
 */
export function jobCandidates(r: RouterState, job: Job, keep = job.key !== undefined): readonly string[] {
  const placement = placementFor(r, job.type);
  if (placement === undefined) return NO_CANDIDATES;
  const crush = placement.candidates(job.x, keep);
  if (job.inputs === null || job.step !== 0 || crush.length === 0) return crush;
  return nearData(r, placement, job.type, job.x, job.inputs.hosts, crush);
}

/** One satellite of a type as locality sees it. */
interface Site {
  readonly id: string;
  readonly device: number;
  /** Lower-case host name. */
  readonly host: string;
  /** Its path down to the level above host ("rack=r1"), or null for a one-level hierarchy. */
  readonly rack: string | null;
  /** Its path down to the type's failure-domain level (placement.ts' domainKey). */
  readonly domain: string;
}

interface SiteIndex {
  readonly byHost: Map<string, Site[]>;
  readonly byRack: Map<string, Site[]>;
  /** Every registered satellite's host -> rack, so a replica on a host without this type still has a rack. */
  readonly rackOfHost: Map<string, string>;
  /** Satellite id -> its failure domain. */
  readonly domainOf: Map<string, string>;
}

/** Built once per placement (a new one is built when the type's membership changes). */
const indexes = new WeakMap<TypePlacement, SiteIndex>();

function indexOf(r: RouterState, placement: TypePlacement, type: string): SiteIndex {
  let index = indexes.get(placement);
  if (index !== undefined) return index;
  const failureDomain = r.typeConfig(type)?.failureDomain ?? "satellite";
  index = { byHost: new Map(), byRack: new Map(), rackOfHost: new Map(), domainOf: new Map() };
  for (const satellite of r.registry.all()) {
    const { host, rack } = whereIs(r, satellite.location);
    if (rack !== null) index.rackOfHost.set(host, rack);
  }
  for (const member of r.registry.membersOf(type)) {
    const { host, rack } = whereIs(r, member.location);
    const site: Site = {
      id: member.satelliteId,
      device: member.device,
      host,
      rack,
      domain: domainOf(member.location, failureDomain, member.satelliteId),
    };
    push(index.byHost, host, site);
    index.domainOf.set(site.id, site.domain);
    if (rack !== null) {
      push(index.byRack, rack, site);
      index.rackOfHost.set(host, rack);
    }
  }
  indexes.set(placement, index);
  return index;
}

function push(map: Map<string, Site[]>, key: string, site: Site): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [site]);
  else list.push(site);
}

/** Host: the hierarchy's innermost level; rack: the level above it. */
function whereIs(
  r: RouterState,
  location: ReadonlyArray<readonly [string, string]>,
): { host: string; rack: string | null } {
  const hierarchy = r.config.hierarchy;
  const hostLevel = hierarchy[hierarchy.length - 1];
  const rackLevel = hierarchy.length >= 2 ? hierarchy[hierarchy.length - 2] : undefined;
  let host = "";
  let rack: string | null = null;
  const path: string[] = [];
  for (const [level, name] of location) {
    path.push(`${level}=${name}`);
    if (level === rackLevel) rack = path.join("/");
    if (level === hostLevel) host = name.toLowerCase();
  }
  if (host === "" && location.length > 0) host = location[location.length - 1][1].toLowerCase();
  return { host, rack };
}

function domainOf(location: ReadonlyArray<readonly [string, string]>, level: string, id: string): string {
  const path: string[] = [];
  for (const [name, value] of location) {
    path.push(`${name}=${value}`);
    if (name === level) return path.join("/");
  }
  return `satellite=${id}`;
}

/** Per site: inputs with a replica on its host, and inputs with one in its rack. */
interface Nearby {
  site: Site;
  local: number;
  rack: number;
  rank: number;
}

/**
 * The placeable satellites near the inputs, best first: most inputs local, then most in the rack,
 * then CRUSH's order (its candidates first, the others by a hash of the key: stable per key).
 */
export function nearbySites(
  r: RouterState,
  placement: TypePlacement,
  type: string,
  x: number,
  hosts: ReadonlyArray<readonly string[]>,
  crush: readonly string[],
): Nearby[] {
  const index = indexOf(r, placement, type);
  const near = new Map<Site, Nearby>();
  const entry = (site: Site): Nearby => {
    let found = near.get(site);
    if (found === undefined) {
      const at = crush.indexOf(site.id);
      const rank = at >= 0 ? at : crush.length + hash2(x >>> 0, site.device) / 0x1_0000_0000;
      found = { site, local: 0, rack: 0, rank };
      near.set(site, found);
    }
    return found;
  };
  const racks = new Set<string>();
  for (const inputHosts of hosts) {
    racks.clear();
    for (const host of inputHosts) {
      for (const site of index.byHost.get(host) ?? NO_SITES) entry(site).local++;
      const rack = index.rackOfHost.get(host);
      if (rack !== undefined) racks.add(rack);
    }
    for (const rack of racks) for (const site of index.byRack.get(rack) ?? NO_SITES) entry(site).rack++;
  }
  const placeable: Nearby[] = [];
  for (const nearby of near.values())
    if (isPlaceable(r, r.registry.byId(nearby.site.id))) placeable.push(nearby);
  placeable.sort((a, b) => b.local - a.local || b.rack - a.rack || a.rank - b.rank);
  return placeable;
}

const NO_SITES: Site[] = [];

function nearData(
  r: RouterState,
  placement: TypePlacement,
  type: string,
  x: number,
  hosts: ReadonlyArray<readonly string[]>,
  crush: readonly string[],
): readonly string[] {
  const near = nearbySites(r, placement, type, x, hosts, crush);
  if (near.length === 0) return crush;
  // A custom rule's domains are its own: only its candidates are reordered.
  if (r.typeConfig(type)?.rule !== undefined) {
    const first = near.filter((nearby) => crush.includes(nearby.site.id)).map((nearby) => nearby.site.id);
    return [...first, ...crush.filter((id) => !first.includes(id))];
  }
  const domainOfId = indexOf(r, placement, type).domainOf;
  const chosen: string[] = [];
  const domains = new Set<string>();
  const take = (id: string): void => {
    const domain = domainOfId.get(id) ?? `satellite=${id}`;
    if (chosen.length >= crush.length || domains.has(domain)) return;
    domains.add(domain);
    chosen.push(id);
  };
  for (const nearby of near) take(nearby.site.id);
  for (const id of crush) take(id);
  return chosen;
}

/** How near its inputs a job runs on `satellite`: per input, and the best of them for the job. */
export function nearness(
  r: RouterState,
  satellite: SatelliteInfo,
  type: string,
  hosts: ReadonlyArray<readonly string[]>,
): { job: Nearness; inputs: Record<Nearness, number> } {
  const { host, rack } = whereIs(r, satellite.location);
  const rackOfHost = rackOfHostIn(r, type);
  const inputs = { local: 0, rack: 0, remote: 0 };
  for (const inputHosts of hosts) {
    if (inputHosts.includes(host)) inputs.local++;
    else if (rack !== null && inputHosts.some((h) => rackOfHost?.get(h) === rack)) inputs.rack++;
    else inputs.remote++;
  }
  const job: Nearness = inputs.local > 0 ? "local" : inputs.rack > 0 ? "rack" : "remote";
  return { job, inputs };
}

function rackOfHostIn(r: RouterState, type: string): Map<string, string> | undefined {
  const placement = placementFor(r, type);
  return placement === undefined ? undefined : indexOf(r, placement, type).rackOfHost;
}

/** Counts where a job with inputs ran (status().counters.locality), when it is sent. */
export function countNearness(r: RouterState, job: Job, satellite: SatelliteInfo): void {
  if (job.inputs === null || job.step !== 0) return;
  const { job: near, inputs } = nearness(r, satellite, job.type, job.inputs.hosts);
  const counters = r.counters.locality;
  counters[near]++;
  counters.inputsLocal += inputs.local;
  counters.inputsRack += inputs.rack;
  counters.inputsRemote += inputs.remote;
}

/** One candidate of `explainNear`: a satellite and how near the inputs it is. */
export interface NearCandidate {
  satellite: string;
  nearness: Nearness;
  /** Inputs with a replica on its host, and in its rack (not on its host). */
  localInputs: number;
  rackInputs: number;
}

/**
 * Where a job of `type` keyed `key` with `inputs` would go now, best first (what jobCandidates
 * gives such a job), with each candidate's nearness: `dsat locality`, tests.
 */
export function explainNear(
  r: RouterState,
  type: string,
  key: string,
  inputs: unknown,
): { candidates: NearCandidate[]; crush: readonly string[] } | string {
  const name = r.typeName(type);
  const placement = placementFor(r, name);
  if (placement === undefined) return `no satellite serves ${type}`;
  const held = heldInputs(r, encode(inputs)); // bytes, so never null
  if (held === null || typeof held === "string") return held ?? "no inputs";
  const x = hashKey(key) | 0;
  const crush = placement.candidates(x, false);
  const ids = crush.length === 0 ? crush : nearData(r, placement, name, x, held.hosts, crush);
  const candidates = ids.map((id) => {
    const satellite = r.registry.byId(id);
    if (satellite === undefined)
      return { satellite: id, nearness: "remote" as Nearness, localInputs: 0, rackInputs: 0 };
    const near = nearness(r, satellite, name, held.hosts);
    return {
      satellite: id,
      nearness: near.job,
      localInputs: near.inputs.local,
      rackInputs: near.inputs.rack,
    };
  });
  return { candidates, crush };
}
