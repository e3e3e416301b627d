// `dsat rebalance` (docs/operations.md, "Rebalance"): for keyed (sticky) placement, which keys move
// from which satellite to which when the fleet changes (a drain, a weight, a score, a topology
// edit). Both sides are the orchestrator's own placement (TypePlacement over the satellites, with
// drains and scores as CRUSH reweights), so the plan is what the orchestrator will do; the share of
// all keys that move comes from CRUSH's compare (crush/compare.ts) over a range of inputs.
import { type CompareResult, compareMappings, hashKey } from "../crush/index.ts";
import { type PlacementMember, TypePlacement } from "../orchestrator/index.ts";
import type { LiveSatellite } from "./placement-check.ts";
import { DEFAULT_REPLICAS, type Topology } from "./topology.ts";

/** A satellite as rebalance sees it: the control command `satellites`' fields it uses. */
export interface FleetSatellite extends LiveSatellite {
  /** 0..100 (100 when absent); 0 takes no new job. */
  score?: number;
}

/** What changes between the fleet now and the fleet after. */
export interface FleetChange {
  /** Targets (id, a location name, level=name) to drain, and to undrain. */
  drain: string[];
  undrain: string[];
  /** Satellite id (or target) -> new CRUSH weight. */
  weights: Array<[string, number]>;
  /** Satellite id (or target) -> score (a lock). */
  scores: Array<[string, number]>;
}

export const NO_CHANGE: FleetChange = { drain: [], undrain: [], weights: [], scores: [] };

/** Whether `target` names the satellite: its id, one of its location names, or "level=name". */
export function targets(target: string, satellite: LiveSatellite): boolean {
  if (target === satellite.id) return true;
  for (const pair of satellite.location.split(",")) {
    if (pair === target) return true;
    if (pair.slice(pair.indexOf("=") + 1) === target) return true;
  }
  return false;
}

/** The fleet after `change`; throws RangeError for a target that names no satellite. */
export function changedFleet(satellites: readonly FleetSatellite[], change: FleetChange): FleetSatellite[] {
  const named = (target: string) => {
    const found = satellites.filter((satellite) => targets(target, satellite));
    if (found.length === 0) throw new RangeError(`"${target}" names no satellite`);
    return new Set(found.map((satellite) => satellite.id));
  };
  const after = satellites.map((satellite) => ({ ...satellite }));
  const each = (target: string, apply: (satellite: FleetSatellite) => void) => {
    const ids = named(target);
    for (const satellite of after) if (ids.has(satellite.id)) apply(satellite);
  };
  for (const target of change.drain) each(target, (s) => (s.draining = true));
  for (const target of change.undrain) each(target, (s) => (s.draining = false));
  for (const [target, weight] of change.weights) each(target, (s) => (s.weight = weight));
  for (const [target, score] of change.scores) each(target, (s) => (s.score = score));
  return after;
}

export interface KeyMove {
  key: string;
  /** First candidate before and after (null: none). */
  from: string | null;
  to: string | null;
}

export interface TypeRebalance {
  type: string;
  /** Keys looked at, and those whose first candidate changes. */
  keys: number;
  moves: KeyMove[];
  /** Moves grouped by (from, to), most first. */
  flows: Array<{ from: string | null; to: string | null; keys: number }>;
  /** CRUSH compare over x = 0..samples-1: inputs whose list changed, replicas (candidates) moved. */
  sample: Pick<CompareResult, "inputs" | "inputsChanged" | "replicas" | "replicasMoved">;
  /** Inputs of the sample whose first candidate changed. */
  sampleFirstMoved: number;
}

/** One plan per type the topology declares or the satellites serve. */
export function planRebalance(
  topology: Topology,
  before: readonly FleetSatellite[],
  after: readonly FleetSatellite[],
  keys: readonly string[],
  samples: number,
): TypeRebalance[] {
  const types = new Set(Object.keys(topology.types));
  for (const satellite of [...before, ...after]) for (const type of satellite.types) types.add(type);
  return [...types].sort().map((type) => planType(topology, type, before, after, keys, samples));
}

function planType(
  topology: Topology,
  type: string,
  before: readonly FleetSatellite[],
  after: readonly FleetSatellite[],
  keys: readonly string[],
  samples: number,
): TypeRebalance {
  // Device ids over both sides, so a satellite is the same device before and after.
  const ids = [
    ...new Set([...before, ...after].filter((s) => s.types.includes(type)).map((s) => s.id)),
  ].sort();
  const device = new Map(ids.map((id, index) => [id, index]));
  const a = placementOf(topology, type, before, device);
  const b = placementOf(topology, type, after, device);
  const moves: KeyMove[] = [];
  for (const key of keys) {
    const x = hashKey(key) | 0;
    const from = a?.placement.candidates(x, false)[0] ?? null;
    const to = b?.placement.candidates(x, false)[0] ?? null;
    if (from !== to) moves.push({ key, from, to });
  }
  const flowOf = new Map<string, { from: string | null; to: string | null; keys: number }>();
  for (const move of moves) {
    const name = `${move.from}\u0000${move.to}`;
    const flow = flowOf.get(name) ?? { from: move.from, to: move.to, keys: 0 };
    flow.keys++;
    flowOf.set(name, flow);
  }
  const flows = [...flowOf.values()].sort((p, q) => q.keys - p.keys);
  let sample = { inputs: samples, inputsChanged: 0, replicas: 0, replicasMoved: 0 };
  let sampleFirstMoved = 0;
  if (a !== null && b !== null && samples > 0) {
    const replicas = topology.types[type]?.replicas ?? DEFAULT_REPLICAS;
    const result = compareMappings(a.placement.crushMap, b.placement.crushMap, {
      ruleA: 0,
      ruleB: 0,
      numRep: replicas,
      minX: 0,
      maxX: samples - 1,
      reweightsA: a.reweights,
      reweightsB: b.reweights,
    });
    sample = {
      inputs: result.inputs,
      inputsChanged: result.inputsChanged,
      replicas: result.replicas,
      replicasMoved: result.replicasMoved,
    };
    for (let x = 0; x < samples; x++)
      if (a.placement.candidates(x, false)[0] !== b.placement.candidates(x, false)[0]) sampleFirstMoved++;
  }
  return { type, keys: keys.length, moves, flows, sample, sampleFirstMoved };
}

/** The orchestrator's placement for `type` over `satellites` (null when none serves it). */
function placementOf(
  topology: Topology,
  type: string,
  satellites: readonly FleetSatellite[],
  device: ReadonlyMap<string, number>,
): { placement: TypePlacement; reweights: Uint32Array } | null {
  const members: PlacementMember[] = [];
  for (const satellite of satellites) {
    if (!satellite.types.includes(type)) continue;
    const score = satellite.score ?? 100;
    members.push({
      device: device.get(satellite.id) as number,
      satelliteId: satellite.id,
      location: satellite.location.split(",").map((pair) => {
        const cut = pair.indexOf("=");
        return [pair.slice(0, cut), pair.slice(cut + 1)] as [string, string];
      }),
      weight: satellite.weight,
      placeable: satellite.draining !== true && score > 0,
      reweight: Math.round((score * 0x10000) / 100), // router/scores.ts scoreReweight
    });
  }
  if (members.length === 0) return null;
  const config = topology.types[type];
  const placement = new TypePlacement(
    type,
    topology.hierarchy,
    {
      replicas: config?.replicas ?? DEFAULT_REPLICAS,
      failureDomain: config?.failureDomain ?? topology.hierarchy.at(-1) ?? "host",
      rule: config?.rule,
    },
    members,
    1,
  );
  const reweights = new Uint32Array(placement.crushMap.maxDevices);
  for (const member of members)
    reweights[member.device] = member.placeable ? (member.reweight ?? 0x10000) : 0;
  return { placement, reweights };
}
