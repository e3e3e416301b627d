// The satellite registry: who is connected, what they serve, where they sit, how busy they are.
// Keyed by ZeroMQ routing id; each satellite id keeps one stable CRUSH device id for life.
import type { JobEntry } from "../protocol/index.ts";

export interface SatelliteInfo {
  /** ROUTER routing id of its connection. */
  readonly routingId: Buffer;
  readonly routingKey: string;
  readonly id: string;
  readonly types: readonly string[];
  readonly location: ReadonlyArray<readonly [string, string]>;
  readonly capacity: number;
  readonly weight: number;
  /** Speaks dsat's extensions (vs a plain MDP worker). */
  readonly dsat: boolean;
  readonly device: number;
  readonly registeredAt: number;
  lastHeardAt: number;
  inFlight: number;
  draining: boolean;
  /** Job ids waiting for this satellite (bounded FIFO). */
  readonly queue: string[];
  queueHead: number;
  done: number;
  failed: number;
  /**
   * The jobs holding its slots (the orchestrator's job records), with how many each holds: a job
   * sent again to the same satellite while its earlier attempt has not answered holds two.
   */
  readonly running: Map<object, number>;
  /** Takes REQUEST-BATCH messages. */
  readonly batch: boolean;
  /** Jobs to send in the next batch. */
  outEntries: JobEntry[];
  outPayloads: Buffer[];
}

export class SatelliteRegistry {
  private readonly byRoutingKey = new Map<string, SatelliteInfo>();
  private readonly bySatelliteId = new Map<string, SatelliteInfo>();
  private readonly devices = new Map<string, number>();
  private readonly byType = new Map<string, Set<SatelliteInfo>>();
  /** Satellites that ever served a type (dead ones stay as CRUSH "out" devices). */
  private readonly everByType = new Map<
    string,
    Map<string, { device: number; location: ReadonlyArray<readonly [string, string]>; weight: number }>
  >();

  deviceFor(satelliteId: string): number {
    let device = this.devices.get(satelliteId);
    if (device === undefined) {
      device = this.devices.size;
      this.devices.set(satelliteId, device);
    }
    return device;
  }

  add(
    info: Omit<
      SatelliteInfo,
      | "device"
      | "queue"
      | "queueHead"
      | "done"
      | "failed"
      | "inFlight"
      | "draining"
      | "outEntries"
      | "outPayloads"
      | "running"
    >,
  ): SatelliteInfo {
    const satellite: SatelliteInfo = {
      ...info,
      device: this.deviceFor(info.id),
      inFlight: 0,
      draining: false,
      queue: [],
      queueHead: 0,
      done: 0,
      failed: 0,
      outEntries: [],
      outPayloads: [],
      running: new Map(),
    };
    this.byRoutingKey.set(satellite.routingKey, satellite);
    this.bySatelliteId.set(satellite.id, satellite);
    for (const type of satellite.types) {
      let set = this.byType.get(type);
      if (set === undefined) this.byType.set(type, (set = new Set()));
      set.add(satellite);
      let ever = this.everByType.get(type);
      if (ever === undefined) this.everByType.set(type, (ever = new Map()));
      ever.set(satellite.id, {
        device: satellite.device,
        location: satellite.location,
        weight: satellite.weight,
      });
    }
    return satellite;
  }

  remove(satellite: SatelliteInfo): void {
    if (this.byRoutingKey.get(satellite.routingKey) === satellite)
      this.byRoutingKey.delete(satellite.routingKey);
    if (this.bySatelliteId.get(satellite.id) === satellite) this.bySatelliteId.delete(satellite.id);
    for (const type of satellite.types) this.byType.get(type)?.delete(satellite);
  }

  byRouting(routingKey: string): SatelliteInfo | undefined {
    return this.byRoutingKey.get(routingKey);
  }

  byId(satelliteId: string): SatelliteInfo | undefined {
    return this.bySatelliteId.get(satelliteId);
  }

  /** Live satellites serving `type`. */
  serving(type: string): ReadonlySet<SatelliteInfo> {
    return this.byType.get(type) ?? new Set();
  }

  /** Every satellite that ever served `type`, live or not: the type's CRUSH devices. */
  members(type: string): Array<{
    satelliteId: string;
    device: number;
    location: ReadonlyArray<readonly [string, string]>;
    weight: number;
  }> {
    return [...(this.everByType.get(type) ?? new Map()).entries()].map(([satelliteId, member]) => ({
      satelliteId,
      ...member,
    }));
  }

  knowsType(type: string): boolean {
    return this.everByType.has(type);
  }

  all(): IterableIterator<SatelliteInfo> {
    return this.byRoutingKey.values();
  }

  get size(): number {
    return this.byRoutingKey.size;
  }
}
