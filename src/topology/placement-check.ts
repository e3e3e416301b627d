// `dsat check` (OpenIO's check_replicas): for each job type, whether its rule still finds its number
// of candidates, each in a distinct failure domain, with the satellites that exist: those the
// topology declares, or (--live) those a running orchestrator has registered now. A placement is
// degraded when some jobs get fewer candidates than replicas (or two in one failure domain), and
// impossible when some get none.
import { TypePlacement } from "../orchestrator/index.ts";
import { satelliteInstances } from "./satellite-instances.ts";
import { DEFAULT_REPLICAS, type Topology } from "./topology.ts";

/** A satellite as `dsat status` / the control command `satellites` reports it. */
export interface LiveSatellite {
  id: string;
  types: readonly string[];
  /** "rack=r1,host=h1" */
  location: string;
  weight: number;
  draining?: boolean;
}

export type PlacementVerdict = "ok" | "degraded" | "impossible";

export interface TypePlacementCheck {
  type: string;
  replicas: number;
  /** The level candidates must differ at (the type's failure domain). */
  domainLevel: string;
  satellites: number;
  /** Distinct failure domains among them. */
  domains: number;
  candidatesMin: number;
  candidatesMax: number;
  /** Samples whose candidates share a failure domain. */
  sharedDomain: number;
  verdict: PlacementVerdict;
  why: string;
}

/** The satellites the topology declares, as a running orchestrator would list them. */
export function declaredSatellites(topology: Topology): LiveSatellite[] {
  return satelliteInstances(topology).map((instance) => ({
    id: instance.id,
    types: [instance.type],
    location: instance.location.map(([level, name]) => `${level}=${name}`).join(","),
    weight: instance.weight,
  }));
}

/** Checks every type of the topology (and any other type the satellites serve) with `samples` keys. */
export function checkPlacements(
  topology: Topology,
  satellites: readonly LiveSatellite[],
  samples = 10_000,
): TypePlacementCheck[] {
  const types = new Set(Object.keys(topology.types));
  for (const satellite of satellites) for (const type of satellite.types) types.add(type);
  return [...types].sort().map((type) => checkType(topology, type, satellites, samples));
}

function checkType(
  topology: Topology,
  type: string,
  satellites: readonly LiveSatellite[],
  samples: number,
): TypePlacementCheck {
  const config = topology.types[type] ?? {};
  const replicas = config.replicas ?? DEFAULT_REPLICAS;
  const domainLevel = config.failureDomain ?? topology.hierarchy.at(-1) ?? "host";
  const members = satellites.filter(
    (satellite) => satellite.types.includes(type) && satellite.draining !== true,
  );
  const locations = new Map(members.map((member) => [member.id, parseLocation(member.location)]));
  const domainOf = (id: string) =>
    domainLevel === "satellite"
      ? id
      : (locations.get(id)?.find(([level]) => level === domainLevel)?.[1] ?? id);
  const domains = new Set(members.map((member) => domainOf(member.id))).size;
  const base = { type, replicas, domainLevel, satellites: members.length, domains };
  if (members.length === 0)
    return {
      ...base,
      candidatesMin: 0,
      candidatesMax: 0,
      sharedDomain: 0,
      verdict: "impossible",
      why: "no satellite serves it",
    };
  const placement = new TypePlacement(
    type,
    topology.hierarchy,
    { replicas, failureDomain: domainLevel, rule: config.rule },
    members.map((member, device) => ({
      device,
      satelliteId: member.id,
      location: locations.get(member.id) ?? [],
      weight: member.weight,
      placeable: true,
    })),
    1,
  );
  let candidatesMin = Number.POSITIVE_INFINITY;
  let candidatesMax = 0;
  let sharedDomain = 0;
  for (let x = 0; x < samples; x++) {
    const candidates = placement.candidates(x);
    candidatesMin = Math.min(candidatesMin, candidates.length);
    candidatesMax = Math.max(candidatesMax, candidates.length);
    if (new Set(candidates.map(domainOf)).size < candidates.length) sharedDomain++;
  }
  const verdict: PlacementVerdict =
    candidatesMin === 0 ? "impossible" : candidatesMin < replicas || sharedDomain > 0 ? "degraded" : "ok";
  const why =
    verdict === "ok"
      ? replicas === 1
        ? "1 candidate per job"
        : `${replicas} candidates per job, each in a different ${domainLevel}`
      : candidatesMin === 0
        ? `some jobs get no candidate (${members.length} satellites in ${domains} ${domainLevel}s)`
        : candidatesMin < replicas
          ? `some jobs get ${candidatesMin} candidates of ${replicas} (${domains} ${domainLevel}s with a satellite)`
          : `${sharedDomain} of ${samples} jobs get two candidates in one ${domainLevel}`;
  return { ...base, candidatesMin, candidatesMax, sharedDomain, verdict, why };
}

/** "rack=r1,host=h1" -> [["rack","r1"],["host","h1"]] */
function parseLocation(location: string): Array<[string, string]> {
  if (location === "") return [];
  return location.split(",").map((part) => {
    const at = part.indexOf("=");
    return [part.slice(0, at), part.slice(at + 1)] as [string, string];
  });
}
