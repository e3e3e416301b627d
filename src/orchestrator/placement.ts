// Placement: the satellites serving a job type become a CRUSH map (straw2, optimal tunables) whose
// hierarchy comes from their locations; each type has a rule (default `chooseleaf firstn N type
// <failure domain>`), x = hashKey(key). The ordered result is the candidate list.
//
// A satellite keeps its device id for life, and a dead or draining one is only reweighted to 0
// (CRUSH's "out"), so other jobs keep their placement; only jobs that used it move.
import {
  addBucket,
  type CrushMap,
  emptyMap,
  hash2,
  Mapper,
  makeBucket,
  makeRule,
  type Rule,
  RuleOp,
  type RuleOpCode,
  type RuleSpec,
  resolveRule,
  tunableProfile,
  weightFromFloat,
} from "../crush/core.ts";

/** appendMissed: how many times CRUSH is asked again, x rehashed, before the devices in order. */
const MISSED_ROUNDS = 8;

export interface PlacementMember {
  /** Stable CRUSH device id. */
  device: number;
  satelliteId: string;
  location: ReadonlyArray<readonly [string, string]>;
  weight: number;
  /** In placement (live, not draining, breaker closed)? */
  placeable: boolean;
  /** Its score's share of placement (CRUSH's reweight, 16.16: 0x10000 fully in); default fully in. */
  reweight?: number;
}

export interface TypePlacementConfig {
  /** Candidates per job (CRUSH's num_rep). */
  replicas: number;
  /** Bucket type each candidate must come from a distinct one of ("satellite" = no constraint). */
  failureDomain: string;
  /** A crushha/JSON rule instead of the default one. */
  rule?: RuleSpec;
}

export const DEVICE_TYPE = "satellite";
export const ROOT_TYPE = "root";

/** One job type's map, rule and reweights, rebuilt when its membership changes. */
export class TypePlacement {
  private mapper: Mapper;
  private map: CrushMap;
  private rule: Rule;
  /** The in/out vector CRUSH reads: a placeable device's score reweight, 0 for the others. */
  private readonly reweights: Uint32Array;
  /** Per device: its score reweight (scores.ts), and whether it is placeable. */
  private readonly scoreWeights: Uint32Array;
  private readonly placeable: Uint8Array;
  private readonly fullWeights: Uint32Array;
  /** Times the cache was dropped for a reweight (scores' cost, measured in tests). */
  reweightFlushes = 0;
  private readonly result: Int32Array;
  private readonly cache = new Map<number, readonly string[]>();
  /**
   * Failure domain of each device (default rule only), to ask CRUSH for no more candidates than
   * there are domains with a placeable satellite: firstn gives the same leading candidates either
   * way, but asking for more makes every mapping run through all its retries (bench/core.ts: one
   * host with 3 replicas spent ~25% of the orchestrator in CRUSH).
   */
  private readonly domainOf: Map<number, string> | null;
  private resultMax: number;
  /** Device id -> satellite id. */
  readonly satelliteOf: string[] = [];

  constructor(
    readonly type: string,
    hierarchy: readonly string[],
    private readonly config: TypePlacementConfig,
    members: readonly PlacementMember[],
    private readonly cacheMax: number,
    bucketIdOf?: (path: string) => number,
  ) {
    this.map = buildMap(hierarchy, members, bucketIdOf);
    this.rule = this.makeRule();
    this.map.rules[0] = this.rule;
    this.mapper = new Mapper(this.map);
    this.reweights = new Uint32Array(this.map.maxDevices);
    this.scoreWeights = new Uint32Array(this.map.maxDevices).fill(0x10000);
    this.placeable = new Uint8Array(this.map.maxDevices);
    this.fullWeights = new Uint32Array(this.map.maxDevices);
    for (const member of members) {
      this.satelliteOf[member.device] = member.satelliteId;
      this.scoreWeights[member.device] = member.reweight ?? 0x10000;
      this.placeable[member.device] = member.placeable ? 1 : 0;
      this.reweights[member.device] = member.placeable ? this.scoreWeights[member.device] : 0;
    }
    this.result = new Int32Array(Math.max(1, config.replicas));
    this.domainOf = config.rule === undefined ? new Map() : null;
    if (this.domainOf !== null) {
      for (const member of members) this.domainOf.set(member.device, domainKey(member, config.failureDomain));
    }
    this.resultMax = this.countResultMax();
    this.scored = this.countScored();
  }

  private countResultMax(): number {
    if (this.domainOf === null) return this.config.replicas;
    const domains = new Set<string>();
    for (const [device, domain] of this.domainOf) if (this.reweights[device] !== 0) domains.add(domain);
    return Math.min(this.config.replicas, domains.size);
  }

  private makeRule(): Rule {
    if (this.config.rule !== undefined)
      return resolveRule(this.config.rule, this.map, 0, `/types/${this.type}/rule`);
    const domain = this.config.failureDomain;
    const domainType = [...this.map.typeNames].find(([, name]) => name === domain)?.[0];
    const hasDomainBuckets =
      domainType !== undefined &&
      this.map.buckets.some((bucket) => bucket !== undefined && bucket.type === domainType);
    const choose: readonly [RuleOpCode, number, number] =
      domainType === undefined || domainType === 0 || !hasDomainBuckets
        ? [RuleOp.chooseFirstn, 0, 0]
        : [RuleOp.chooseleafFirstn, 0, domainType];
    return makeRule(0, [[RuleOp.take, -1, 0], choose, [RuleOp.emit, 0, 0]]);
  }

  /** Forgets every remembered candidate list (`dsat cache flush`); returns how many there were. */
  flushCache(): number {
    const entries = this.cache.size;
    this.cache.clear();
    this.lastIds = null;
    return entries;
  }

  /** Marks a device in or out of placement (dead, draining, breaker open). */
  setPlaceable(device: number, placeable: boolean): void {
    if (device >= this.reweights.length) return;
    this.placeable[device] = placeable ? 1 : 0;
    const weight = placeable ? this.scoreWeights[device] : 0;
    if (this.reweights[device] !== weight) {
      this.reweights[device] = weight;
      this.cache.clear();
      this.lastIds = null;
      this.resultMax = this.countResultMax();
      this.scored = this.countScored();
    }
  }

  /**
   * Score reweights (scores.ts), several at once: CRUSH's in/out vector, apart from the CRUSH
   * weights, so a device at 0.6 sheds 40% of its placements to the next candidates and no other
   * placement moves. The cache is dropped once for the batch, only if a weight in force changed.
   */
  setReweights(changes: ReadonlyArray<readonly [device: number, weight: number]>): void {
    let changed = false;
    for (const [device, weight] of changes) {
      if (device >= this.reweights.length) continue;
      this.scoreWeights[device] = weight;
      const inForce = this.placeable[device] === 1 ? weight : 0;
      if (this.reweights[device] === inForce) continue;
      this.reweights[device] = inForce;
      changed = true;
    }
    if (!changed) return;
    this.reweightFlushes++;
    this.cache.clear();
    this.lastIds = null;
    this.resultMax = this.countResultMax();
    this.scored = this.countScored();
  }

  /**
   * Candidate satellite ids for x, best first. `keep`: remember them until membership changes (keyed
   * jobs share an x; an unkeyed job's x is its own, and caching it would only churn the cache).
   * The last answer is always remembered: a job asks twice in a row (submit, then place).
   */
  candidates(x: number, keep = true): readonly string[] {
    if (x === this.lastX && this.lastIds !== null) return this.lastIds;
    const cached = this.cache.get(x);
    if (cached !== undefined) return cached;
    const length =
      this.resultMax === 0 ? 0 : this.mapper.mapInto(0, x, this.resultMax, this.reweights, this.result);
    let count = 0;
    for (let i = 0; i < length; i++) {
      // Only devices are satellites: a rule may emit buckets, or leave holes (indep's NONE).
      const id = this.result[i] >= 0 ? this.satelliteOf[this.result[i]] : undefined;
      if (id !== undefined) this.scratch[count++] = id;
    }
    if (count < this.resultMax && this.scored > 0) count = this.appendShed(x, count);
    if (count < this.resultMax && this.domainOf !== null) count = this.appendMissed(x, count, this.domainOf);
    // Sized exactly: the tracker keeps this array for the job's life, and one grown by push()
    // holds 17 slots (152 bytes) for one candidate.
    const ids = this.scratch.slice(0, count);
    this.lastX = x;
    this.lastIds = ids;
    if (!keep) return ids;
    if (this.cache.size >= this.cacheMax) this.cache.clear();
    this.cache.set(x, ids);
    return ids;
  }

  /**
   * A score below 100 sheds a share of x's to the next candidates; where there is no next one (a
   * type's only satellite, a domain's only one) the shed satellites still come, last: a loaded
   * satellite takes fewer jobs, never makes a job unplaceable. Their order is CRUSH's with every
   * placeable device fully in.
   */
  private appendShed(x: number, count: number): number {
    const full = this.fullWeights;
    for (let device = 0; device < full.length; device++)
      full[device] = this.placeable[device] === 1 && this.scoreWeights[device] > 0 ? 0x10000 : 0;
    const length = this.mapper.mapInto(0, x, this.resultMax, full, this.result);
    for (let i = 0; i < length && count < this.resultMax; i++) {
      const id = this.result[i] >= 0 ? this.satelliteOf[this.result[i]] : undefined;
      if (id === undefined) continue;
      let seen = false;
      for (let j = 0; j < count; j++) if (this.scratch[j] === id) seen = true;
      if (!seen) this.scratch[count++] = id;
    }
    return count;
  }

  /**
   * CRUSH gave up before it found a candidate in every failure domain that has a placeable
   * satellite: with most devices out (a crashed host group within its liveness window, a mass
   * drain) each of its 50 tries lands on an out one with high odds (45 of 50 out: 0.5% of x's get
   * no candidate at all), and the job would be refused while satellites have room. The rest come
   * from CRUSH again with x rehashed (ROUNDS times, deterministic), still one per failure domain
   * one per failure domain; then, if a domain is still missing, from the devices in order. Only
   * under the default rule: there resultMax counts the domains that have a placeable satellite, so
   * a short list always means CRUSH gave up; a user's rule may mean to give fewer.
   */
  private appendMissed(x: number, count: number, domainOf: Map<number, string>): number {
    const domains = new Set<string>();
    // A rare path: the listed satellites' devices by a scan rather than a reverse map kept for it.
    for (let j = 0; j < count; j++)
      domains.add(domainOf.get(this.satelliteOf.indexOf(this.scratch[j])) ?? "");
    const add = (device: number) => {
      const domain = domainOf.get(device);
      const id = this.satelliteOf[device];
      if (domain === undefined || id === undefined || domains.has(domain)) return;
      domains.add(domain);
      this.scratch[count++] = id;
    };
    for (let round = 1; round <= MISSED_ROUNDS && count < this.resultMax; round++) {
      const length = this.mapper.mapInto(
        0,
        hash2(x >>> 0, round),
        this.resultMax,
        this.reweights,
        this.result,
      );
      for (let i = 0; i < length && count < this.resultMax; i++) if (this.result[i] >= 0) add(this.result[i]);
    }
    for (let device = 0; device < this.reweights.length && count < this.resultMax; device++)
      if (this.reweights[device] !== 0) add(device);
    return count;
  }

  /** Placeable devices whose score reweight is below 0x10000 (appendShed is needed only then). */
  private scored = 0;

  private countScored(): number {
    let scored = 0;
    for (let device = 0; device < this.scoreWeights.length; device++)
      if (this.placeable[device] === 1 && this.scoreWeights[device] < 0x10000) scored++;
    return scored;
  }

  private lastX = Number.NaN;
  private readonly scratch: string[] = [];
  private lastIds: readonly string[] | null = null;

  /** The map (for `topology show`, status, explain). */
  get crushMap(): CrushMap {
    return this.map;
  }
}

/** A member's failure domain: its location path down to the failure-domain level (or itself). */
function domainKey(member: PlacementMember, failureDomain: string): string {
  const path: string[] = [];
  for (const [level, name] of member.location) {
    path.push(`${level}=${name}`);
    if (level === failureDomain) return path.join("/");
  }
  return `satellite=${member.satelliteId}`;
}

/**
 * Builds a straw2 map: root -> hierarchy levels from the members' locations -> devices. Bucket ids
 * come from `bucketIdOf(path)` ("rack=r1/host=h1") when given, so a bucket keeps its id (and its
 * CRUSH draws) while others come and go; otherwise they are numbered in member order.
 */
export function buildMap(
  hierarchy: readonly string[],
  members: readonly PlacementMember[],
  bucketIdOf?: (path: string) => number,
): CrushMap {
  const map = emptyMap(tunableProfile("jewel"));
  map.typeNames.set(0, DEVICE_TYPE);
  hierarchy.forEach((name, index) => {
    map.typeNames.set(hierarchy.length - index, name);
  });
  const rootType = hierarchy.length + 1;
  map.typeNames.set(rootType, ROOT_TYPE);

  interface Node {
    id: number;
    path: string;
    type: number;
    children: Map<string, Node>;
    devices: Array<{ device: number; weight: number }>;
  }
  let nextBucketId = -2;
  const root: Node = { id: -1, path: "", type: rootType, children: new Map(), devices: [] };
  for (const member of members) {
    let node = root;
    for (const [levelType, levelName] of member.location) {
      const typeIndex = hierarchy.indexOf(levelType);
      if (typeIndex < 0) continue;
      const key = `${levelType}=${levelName}`;
      let child = node.children.get(key);
      if (child === undefined) {
        const path = node.path === "" ? key : `${node.path}/${key}`;
        const id = bucketIdOf === undefined ? nextBucketId-- : bucketIdOf(path);
        child = { id, path, type: hierarchy.length - typeIndex, children: new Map(), devices: [] };
        node.children.set(key, child);
        map.itemNames.set(child.id, levelName);
      }
      node = child;
    }
    node.devices.push({ device: member.device, weight: weightFromFloat(member.weight) });
    map.itemNames.set(member.device, member.satelliteId);
  }
  const build = (node: Node): number => {
    const items: number[] = [];
    const weights: number[] = [];
    for (const child of node.children.values()) {
      items.push(child.id);
      weights.push(build(child));
    }
    for (const { device, weight } of node.devices) {
      items.push(device);
      weights.push(weight);
    }
    const bucket = makeBucket({ id: node.id, type: node.type, alg: "straw2", items, weights });
    addBucket(map, bucket);
    return bucket.weight;
  };
  build(root);
  map.itemNames.set(-1, "default");
  for (const member of members) if (member.device >= map.maxDevices) map.maxDevices = member.device + 1;
  return map;
}
