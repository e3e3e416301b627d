// Job records as a struct of typed arrays indexed by slot: about 80 bytes a job plus its id in a
// Map, against ~250 for an object with boxed timestamps. Slots are recycled through a free list.
import { assert } from "./assert.ts";
import type { JobStateName, Outcome } from "./types.ts";

/** Job states as stored (a byte). `free` marks an unused slot. */
export const State = {
  free: 0,
  received: 1,
  placed: 2,
  sent: 3,
  acked: 4,
  running: 5,
  retryWait: 6,
  done: 7,
  failed: 8,
  cancelled: 9,
  expired: 10,
} as const;
export type StateCode = (typeof State)[keyof typeof State];

export const STATE_NAMES: readonly (JobStateName | "free")[] = [
  "free",
  "received",
  "placed",
  "sent",
  "acked",
  "running",
  "retry-wait",
  "done",
  "failed",
  "cancelled",
  "expired",
];

export const OUTCOME_STATES: Readonly<Record<Outcome, StateCode>> = {
  done: State.done,
  failed: State.failed,
  cancelled: State.cancelled,
  expired: State.expired,
};

export const NONE = -1;
const EMPTY: readonly string[] = Object.freeze([]);

export class JobTable {
  ids: string[] = [];
  candidates: (readonly string[])[] = [];
  state = new Uint8Array(0);
  /** Fencing token: the attempt placed, sent or about to be placed (1-based). */
  attempt = new Uint8Array(0);
  attemptsMax = new Uint8Array(0);
  /** Consecutive unplaceable answers (for the placement backoff). */
  placeRetries = new Uint8Array(0);
  type = new Uint16Array(0);
  /** Satellite index of the current attempt, or NONE; links the satellite's job list. */
  satellite = new Int32Array(0);
  satelliteNext = new Int32Array(0);
  satellitePrevious = new Int32Array(0);
  timer = new Int32Array(0);
  /** Bits of candidate indexes the next placement must avoid. */
  excludeMask = new Int32Array(0);
  /** Bits of candidate indexes this job crashed (lost, stalled, crashed). */
  crashMask = new Int32Array(0);
  runTimeoutMs = new Int32Array(0);
  /** 1: the current attempt's satellite cannot report progress, so it has no stall timer. */
  silent = new Uint8Array(0);
  /** 1: placement waits until the deadline, not placeTimeoutMs (SubmitEvent.patient). */
  patient = new Uint8Array(0);
  submittedAtMs = new Float64Array(0);
  deadlineAtMs = new Float64Array(0);
  /** sent: when dispatched; acked/running: when acked; retry-wait: when to place again. */
  phaseAtMs = new Float64Array(0);
  /** Last ack or progress of the current attempt. */
  progressAtMs = new Float64Array(0);
  /** Start of the current run of unplaceable answers, NaN when none. */
  unplaceableSinceMs = new Float64Array(0);
  private freeHead = NONE;
  private highWater = 0;
  live = 0;

  constructor(capacity: number) {
    this.resize(Math.max(16, capacity));
  }

  get capacity(): number {
    return this.state.length;
  }

  allocate(id: string, type: number, candidates: readonly string[]): number {
    let slot = this.freeHead;
    if (slot !== NONE) this.freeHead = this.satelliteNext[slot];
    else {
      if (this.highWater === this.capacity) this.resize(this.capacity * 2);
      slot = this.highWater++;
    }
    assert(this.state[slot] === State.free, "an allocated slot was free");
    this.ids[slot] = id;
    this.candidates[slot] = candidates;
    this.state[slot] = State.received;
    this.attempt[slot] = 1;
    this.placeRetries[slot] = 0;
    this.type[slot] = type;
    this.satellite[slot] = NONE;
    this.satelliteNext[slot] = NONE;
    this.satellitePrevious[slot] = NONE;
    this.timer[slot] = NONE;
    this.excludeMask[slot] = 0;
    this.crashMask[slot] = 0;
    this.unplaceableSinceMs[slot] = Number.NaN;
    this.live++;
    return slot;
  }

  release(slot: number): void {
    assert(this.state[slot] !== State.free, "release of a free slot");
    assert(
      this.satellite[slot] === NONE && this.timer[slot] === NONE,
      "a released job holds no satellite or timer",
    );
    this.state[slot] = State.free;
    this.ids[slot] = "";
    this.candidates[slot] = EMPTY;
    this.satelliteNext[slot] = this.freeHead;
    this.freeHead = slot;
    this.live--;
  }

  /** Bytes held by the typed arrays, per slot. */
  static readonly bytesPerSlot = 4 * 1 + 2 + 7 * 4 + 5 * 8;

  private resize(capacity: number): void {
    assert(capacity <= 0x7fffffff, "job capacity fits in int32");
    const grow = <T extends Uint8Array | Uint16Array | Int32Array | Float64Array>(old: T, fresh: T): T => {
      fresh.set(old);
      return fresh;
    };
    this.state = grow(this.state, new Uint8Array(capacity));
    this.attempt = grow(this.attempt, new Uint8Array(capacity));
    this.attemptsMax = grow(this.attemptsMax, new Uint8Array(capacity));
    this.placeRetries = grow(this.placeRetries, new Uint8Array(capacity));
    this.type = grow(this.type, new Uint16Array(capacity));
    this.satellite = grow(this.satellite, new Int32Array(capacity));
    this.satelliteNext = grow(this.satelliteNext, new Int32Array(capacity));
    this.satellitePrevious = grow(this.satellitePrevious, new Int32Array(capacity));
    this.timer = grow(this.timer, new Int32Array(capacity));
    this.excludeMask = grow(this.excludeMask, new Int32Array(capacity));
    this.crashMask = grow(this.crashMask, new Int32Array(capacity));
    this.runTimeoutMs = grow(this.runTimeoutMs, new Int32Array(capacity));
    this.silent = grow(this.silent, new Uint8Array(capacity));
    this.patient = grow(this.patient, new Uint8Array(capacity));
    this.submittedAtMs = grow(this.submittedAtMs, new Float64Array(capacity));
    this.deadlineAtMs = grow(this.deadlineAtMs, new Float64Array(capacity));
    this.phaseAtMs = grow(this.phaseAtMs, new Float64Array(capacity));
    this.progressAtMs = grow(this.progressAtMs, new Float64Array(capacity));
    this.unplaceableSinceMs = grow(this.unplaceableSinceMs, new Float64Array(capacity));
  }
}

/**
 * The last `capacity` ended jobs (id, type, outcome), so a late result can be told from a result
 * for a job never seen, counted against its type, and `jobState` can answer after the end.
 */
export class RecentJobs {
  private readonly ids: string[];
  private readonly types: Uint16Array;
  private readonly outcomes: Uint8Array;
  private readonly index = new Map<string, number>();
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Array<string>(capacity).fill("");
    this.types = new Uint16Array(capacity);
    this.outcomes = new Uint8Array(capacity);
  }

  remember(id: string, type: number, outcome: StateCode): void {
    const position = this.next;
    const evicted = this.ids[position];
    if (evicted !== "" && this.index.get(evicted) === position) this.index.delete(evicted);
    this.ids[position] = id;
    this.types[position] = type;
    this.outcomes[position] = outcome;
    this.index.set(id, position);
    this.next = (position + 1) % this.capacity;
  }

  /** The ended job's type and terminal state, or undefined if never seen or forgotten. */
  find(id: string): { type: number; outcome: StateCode } | undefined {
    const position = this.index.get(id);
    if (position === undefined) return undefined;
    return { type: this.types[position], outcome: this.outcomes[position] as StateCode };
  }

  forget(id: string): void {
    this.index.delete(id);
  }
}
