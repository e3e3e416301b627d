// The satellite registry: who is connected, what they serve, where they sit, how busy they are;
// and, per job type, the members its CRUSH map is built from.
//
// A member outlives its connection by one grace window (one liveness window): a satellite that
// reconnects within it keeps its CRUSH device id, so its keyed jobs stay where they were. After
// the window it leaves the type's map for good, and so do its device id and the buckets only it
// used (issue 12: dead or junk registrations must not stay in placement). Device and bucket ids
// are reused lowest-first, so the map stays small however many satellites came and went.
import type { JobEntry } from "../protocol/index.ts";
import type { Job } from "./job.ts";

export interface SatelliteInfo {
  /** ROUTER routing id of its connection (a reconnecting process moves to its new one: rebind). */
  routingId: Buffer;
  routingKey: string;
  readonly id: string;
  readonly types: readonly string[];
  readonly location: ReadonlyArray<readonly [string, string]>;
  readonly capacity: number;
  readonly weight: number;
  /** Speaks dsat's extensions (vs a plain MDP worker). */
  readonly dsat: boolean;
  /** The CURVE public key it proved in READY (null without security). */
  readonly key: string | null;
  /** The heartbeat period it keeps (its own, or limits.plainHeartbeatMs for plain workers), ms. */
  readonly heartbeatMs: number;
  /** Its process's incarnation (hello.incarnation; null for plain workers). */
  readonly incarnation: string | null;
  readonly device: number;
  readonly registeredAt: number;
  lastHeardAt: number;
  /**
   * A plain worker seen heartbeating while it had a job: its silence then means it is gone, busy
   * or not. Until then it may be one that is silent while it works (7/MDP's reference workers).
   */
  heartbeatsWhileBusy: boolean;
  /** When libzmq first refused a message to its connection as unroutable (NaN: never). */
  connectionGoneAt: number;
  inFlight: number;
  draining: boolean;
  /** Drained by an operator (`dsat drain`): no new jobs until `dsat undrain`; it stays registered. */
  drained: boolean;
  /** Its score in force, 0-100 (router/scores.ts): its CRUSH reweight; 0 takes no new job. */
  score: number;
  /** Job ids waiting for this satellite (bounded FIFO). */
  readonly queue: string[];
  queueHead: number;
  done: number;
  failed: number;
  /**
   * The jobs holding its slots (the orchestrator's job records), with how many each holds: a job
   * sent again to the same satellite while its earlier attempt has not answered holds two.
   */
  readonly running: Map<Job, number>;
  /** Takes REQUEST-BATCH messages. */
  readonly batch: boolean;
  /** Reads jobs' inputs (its READY said so): only such satellites are sent them. */
  readonly inputs: boolean;
  /** Jobs to send in the next batch. */
  outEntries: JobEntry[];
  outPayloads: Buffer[];
  /** Their payload bytes. */
  outBytes: number;
}

export type NewSatellite = Omit<
  SatelliteInfo,
  | "device"
  | "queue"
  | "queueHead"
  | "done"
  | "failed"
  | "inFlight"
  | "draining"
  | "drained"
  | "score"
  | "outEntries"
  | "outPayloads"
  | "outBytes"
  | "running"
  | "heartbeatsWhileBusy"
  | "connectionGoneAt"
>;

/** A satellite as its type's CRUSH map sees it. */
export interface Member {
  readonly satelliteId: string;
  readonly device: number;
  readonly location: ReadonlyArray<readonly [string, string]>;
  readonly weight: number;
  /** When its connection ended (NaN while connected): it leaves the map graceMs later. */
  goneAt: number;
}

/** Lowest-first reusable small integers (CRUSH device ids, bucket slots). */
class IdPool {
  private readonly free: number[] = [];
  private next = 0;

  take(): number {
    if (this.free.length === 0) return this.next++;
    // Lowest first keeps the ids (and the map's arrays) dense.
    let lowest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i] < this.free[lowest]) lowest = i;
    const [id] = this.free.splice(lowest, 1);
    return id;
  }

  give(id: number): void {
    this.free.push(id);
  }
}

export interface RegistryLimits {
  /** Satellites connected at once; more are refused. */
  satellitesMax: number;
  /** How long a gone satellite stays in its types' maps (one liveness window), ms. */
  graceMs: number;
}

export class SatelliteRegistry {
  private readonly byRoutingKey = new Map<string, SatelliteInfo>();
  private readonly bySatelliteId = new Map<string, SatelliteInfo>();
  private readonly byType = new Map<string, Set<SatelliteInfo>>();
  /** Per type, the members of its CRUSH map: live satellites and those within their grace window. */
  private readonly members = new Map<string, Map<string, Member>>();
  /** Satellite id -> its device id, while it is a member of some type. */
  private readonly devices = new Map<string, number>();
  private readonly devicePool = new IdPool();
  /** Bucket path ("rack=r1/host=h1") -> stable bucket id (-2, -3, ...; -1 is the root). */
  private readonly buckets = new Map<string, number>();
  private readonly bucketPool = new IdPool();
  /** Members are gone and waiting for their grace window to end. */
  private goneMembers = 0;

  constructor(private readonly limits: RegistryLimits) {}

  /** Why a new satellite cannot be added (null when it can). */
  refusal(info: { id: string }): string | null {
    const replacing = this.bySatelliteId.has(info.id) ? 1 : 0;
    if (this.byRoutingKey.size - replacing >= this.limits.satellitesMax)
      return `the registry is full (limits.satellitesMax ${this.limits.satellitesMax})`;
    return null;
  }

  /**
   * Registers a live satellite. Returns the types whose map changed (a new member, or one whose
   * weight or location moved): their placements must be rebuilt; a returning member only comes back in.
   */
  add(info: NewSatellite): { satellite: SatelliteInfo; changedTypes: string[] } {
    const changedTypes: string[] = [];
    const device = this.deviceFor(info.id);
    for (const type of info.types) {
      let members = this.members.get(type);
      if (members === undefined) this.members.set(type, (members = new Map()));
      const previous = members.get(info.id);
      if (previous !== undefined && !Number.isNaN(previous.goneAt)) this.goneMembers--;
      if (previous === undefined || !sameMember(previous, info)) changedTypes.push(type);
      members.set(info.id, {
        satelliteId: info.id,
        device,
        location: info.location,
        weight: info.weight,
        goneAt: Number.NaN,
      });
    }
    const satellite: SatelliteInfo = {
      ...info,
      device,
      heartbeatsWhileBusy: false,
      connectionGoneAt: Number.NaN,
      inFlight: 0,
      draining: false,
      drained: false,
      score: 100,
      queue: [],
      queueHead: 0,
      done: 0,
      failed: 0,
      outEntries: [],
      outPayloads: [],
      outBytes: 0,
      running: new Map(),
    };
    this.byRoutingKey.set(satellite.routingKey, satellite);
    this.bySatelliteId.set(satellite.id, satellite);
    for (const type of satellite.types) {
      let set = this.byType.get(type);
      if (set === undefined) this.byType.set(type, (set = new Set()));
      set.add(satellite);
    }
    return { satellite, changedTypes };
  }

  /** The same satellite process on a new connection: it keeps its state, jobs and slots. */
  rebind(satellite: SatelliteInfo, routingId: Buffer, routingKey: string): void {
    if (this.byRoutingKey.get(satellite.routingKey) === satellite)
      this.byRoutingKey.delete(satellite.routingKey);
    satellite.routingId = routingId;
    satellite.routingKey = routingKey;
    satellite.connectionGoneAt = Number.NaN;
    this.byRoutingKey.set(routingKey, satellite);
  }

  /** The connection ended: the satellite stays in its types' maps for one grace window. */
  remove(satellite: SatelliteInfo, nowMs: number): void {
    if (this.byRoutingKey.get(satellite.routingKey) === satellite)
      this.byRoutingKey.delete(satellite.routingKey);
    for (const type of satellite.types) {
      const set = this.byType.get(type);
      set?.delete(satellite);
      if (set?.size === 0) this.byType.delete(type);
    }
    if (this.bySatelliteId.get(satellite.id) !== satellite) return; // replaced by a newer connection
    this.bySatelliteId.delete(satellite.id);
    for (const type of satellite.types) {
      const member = this.members.get(type)?.get(satellite.id);
      if (member !== undefined && Number.isNaN(member.goneAt)) {
        member.goneAt = nowMs;
        this.goneMembers++;
      }
    }
  }

  /**
   * Members whose grace window is over leave their maps; their device and bucket ids are freed.
   * Returns the types whose map changed (to rebuild); empty when nothing was due.
   */
  sweep(nowMs: number): string[] {
    if (this.goneMembers === 0) return [];
    const changed: string[] = [];
    for (const [type, members] of this.members) {
      let removed = false;
      for (const [id, member] of members) {
        if (Number.isNaN(member.goneAt) || nowMs - member.goneAt < this.limits.graceMs) continue;
        members.delete(id);
        this.goneMembers--;
        removed = true;
      }
      if (!removed) continue;
      changed.push(type);
      if (members.size === 0) this.members.delete(type);
    }
    if (changed.length > 0) this.freeUnusedIds();
    return changed;
  }

  private freeUnusedIds(): void {
    const used = new Set<string>();
    const paths = new Set<string>();
    for (const members of this.members.values())
      for (const member of members.values()) {
        used.add(member.satelliteId);
        let path = "";
        for (const [level, name] of member.location) {
          path = path === "" ? `${level}=${name}` : `${path}/${level}=${name}`;
          paths.add(path);
        }
      }
    for (const [id, device] of this.devices)
      if (!used.has(id)) {
        this.devices.delete(id);
        this.devicePool.give(device);
      }
    for (const [path, bucket] of this.buckets)
      if (!paths.has(path)) {
        this.buckets.delete(path);
        this.bucketPool.give(-2 - bucket);
      }
  }

  private deviceFor(satelliteId: string): number {
    let device = this.devices.get(satelliteId);
    if (device === undefined) {
      device = this.devicePool.take();
      this.devices.set(satelliteId, device);
    }
    return device;
  }

  /** The stable bucket id of a location path (for buildMap): -2, -3, ... */
  readonly bucketIdOf = (path: string): number => {
    let id = this.buckets.get(path);
    if (id === undefined) {
      id = -2 - this.bucketPool.take();
      this.buckets.set(path, id);
    }
    return id;
  };

  byRouting(routingKey: string): SatelliteInfo | undefined {
    return this.byRoutingKey.get(routingKey);
  }

  byId(satelliteId: string): SatelliteInfo | undefined {
    return this.bySatelliteId.get(satelliteId);
  }

  /** Live satellites serving `type`. */
  serving(type: string): ReadonlySet<SatelliteInfo> {
    return this.byType.get(type) ?? NO_SATELLITES;
  }

  /** The members of `type`'s CRUSH map: live satellites and those gone less than graceMs ago. */
  membersOf(type: string): Member[] {
    return [...(this.members.get(type)?.values() ?? [])];
  }

  /** A live satellite or a member within its grace window serves `type`. */
  knowsType(type: string): boolean {
    return this.members.has(type);
  }

  /** Types with members. */
  types(): IterableIterator<string> {
    return this.members.keys();
  }

  all(): IterableIterator<SatelliteInfo> {
    return this.byRoutingKey.values();
  }

  get size(): number {
    return this.byRoutingKey.size;
  }

  /** Device ids in use (live members and those within their grace window). */
  get devicesInUse(): number {
    return this.devices.size;
  }
}

const NO_SATELLITES: ReadonlySet<SatelliteInfo> = new Set();

function sameMember(member: Member, info: NewSatellite): boolean {
  if (member.weight !== info.weight || member.location.length !== info.location.length) return false;
  return member.location.every(
    ([level, name], index) => info.location[index][0] === level && info.location[index][1] === name,
  );
}
