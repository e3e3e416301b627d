// A type's placement as the orchestrator builds it from a topology's satellites: its CRUSH map,
// and the TypePlacement (map, rule, candidates) jobs are placed with.
import type { CrushMap } from "../crush/index.ts";
import { buildMap, type PlacementMember, TypePlacement } from "../orchestrator/index.ts";
import { DEFAULT_REPLICAS, type SatelliteInstance, type Topology } from "./topology.ts";

/** The CRUSH map the orchestrator builds for a type whose satellites are `members` (devices 0..n-1). */
export function typeMap(topology: Topology, members: readonly SatelliteInstance[]): CrushMap {
  return buildMap(topology.hierarchy, placementMembers(members));
}

/** Satellite instances as CRUSH devices 0..n-1, all placeable. */
function placementMembers(members: readonly SatelliteInstance[]): PlacementMember[] {
  return members.map((member, device) => ({
    device,
    satelliteId: member.id,
    location: member.location,
    weight: member.weight,
    placeable: true,
  }));
}

/**
 * The placement the orchestrator builds for a type whose satellites are `members` (devices 0..n-1,
 * all placeable): its CRUSH map and rule, and `candidates(x)`.
 */
export function typePlacement(
  topology: Topology,
  name: string,
  members: readonly SatelliteInstance[],
): TypePlacement {
  const type = topology.types[name];
  return new TypePlacement(
    name,
    topology.hierarchy,
    {
      replicas: type.replicas ?? DEFAULT_REPLICAS,
      failureDomain: type.failureDomain ?? topology.hierarchy.at(-1) ?? "host",
      rule: type.rule,
    },
    placementMembers(members),
    1,
  );
}
