// A hashed timing wheel: one structure holds the timers of every job and satellite, so 1M jobs in
// flight cost 1M rows in typed arrays (25 bytes each), not 1M setTimeout handles and closures.
//
// Time is cut into ticks of `tickMs`; a timer due at `dueMs` lives in slot ceil(dueMs / tickMs) mod
// slots, on a doubly linked list threaded through the arrays, so schedule and cancel are O(1). A
// timer fires on the first `advance` whose tick reaches its due tick: never early, at most one tick
// late (later only when `advance` is called late or its fire limit is hit). Timers fire in due-tick
// order, and in scheduling order within a tick. A timer scheduled in the past fires on the next tick.
//
//   const wheel = new TimerWheel({ tickMs: 10, slots: 1024 });
//   const handle = wheel.schedule(1_500, 7, 0);     // owner 7, kind 0, due at 1500 ms
//   wheel.advance(1_499, 100, fire);                 // nothing: due tick 150 not reached
//   wheel.advance(1_500, 100, fire);                 // fire(7, 0)
//   // wheel.cancel(handle) before that would have removed it; a handle is dead once fired.
import { assert } from "./assert.ts";

export type TimerHandle = number;

export interface TimerWheelOptions {
  tickMs: number;
  /** A power of two. */
  slots: number;
  /** Timers allocated up front (grows by doubling). */
  capacity?: number;
}

const NONE = -1;
const FREE = -2;

export class TimerWheel {
  readonly tickMs: number;
  private readonly slotCount: number;
  private readonly mask: number;
  /** List heads and tails: one per slot, then the list being expired, then the list being kept. */
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;
  private readonly expiring: number;
  private readonly keeping: number;
  private dueTicks: Float64Array;
  private nexts: Int32Array;
  private previouses: Int32Array;
  /** The list a timer is on, or FREE. */
  private lists: Int32Array;
  private owners: Int32Array;
  private kinds: Uint8Array;
  private freeHead = NONE;
  private highWater = 0;
  private count = 0;
  /** The last tick whose timers have all fired. */
  private currentTick = 0;

  constructor(options: TimerWheelOptions) {
    assert(Number.isInteger(options.tickMs) && options.tickMs > 0, "tickMs is a positive integer");
    assert(options.slots > 0 && (options.slots & (options.slots - 1)) === 0, "slots is a power of two");
    this.tickMs = options.tickMs;
    this.slotCount = options.slots;
    this.mask = options.slots - 1;
    this.expiring = options.slots;
    this.keeping = options.slots + 1;
    this.heads = new Int32Array(options.slots + 2).fill(NONE);
    this.tails = new Int32Array(options.slots + 2).fill(NONE);
    const capacity = Math.max(16, options.capacity ?? 1024);
    this.dueTicks = new Float64Array(capacity);
    this.nexts = new Int32Array(capacity);
    this.previouses = new Int32Array(capacity);
    this.lists = new Int32Array(capacity).fill(FREE);
    this.owners = new Int32Array(capacity);
    this.kinds = new Uint8Array(capacity);
  }

  /** Timers pending. */
  get size(): number {
    return this.count;
  }

  /** Bytes held by the per-timer arrays (not the slot heads). */
  get bytesAllocated(): number {
    return this.dueTicks.length * 25;
  }

  /** Schedules (owner, kind) at dueMs; returns a handle for `cancel`. O(1) amortized. */
  schedule(dueMs: number, owner: number, kind: number): TimerHandle {
    assert(Number.isFinite(dueMs), "a timer is due at a finite time");
    assert(Number.isInteger(owner) && owner >= 0 && owner <= 0x7fffffff, "owner is a non-negative int32");
    assert(Number.isInteger(kind) && kind >= 0 && kind <= 255, "kind is a byte");
    let dueTick = Math.ceil(dueMs / this.tickMs);
    if (dueTick <= this.currentTick) dueTick = this.currentTick + 1;
    const timer = this.allocate();
    this.dueTicks[timer] = dueTick;
    this.owners[timer] = owner;
    this.kinds[timer] = kind;
    this.append(timer, dueTick & this.mask);
    this.count++;
    return timer;
  }

  /** Cancels a pending timer. O(1). The handle must be pending (not fired, not cancelled). */
  cancel(timer: TimerHandle): void {
    assert(
      timer >= 0 && timer < this.highWater && this.lists[timer] !== FREE,
      "cancel of a timer not pending",
    );
    this.unlink(timer);
    this.release(timer);
    this.count--;
  }

  /** When a pending timer fires at the earliest, ms (its due tick's start). */
  dueMsOf(timer: TimerHandle): number {
    assert(timer >= 0 && timer < this.highWater && this.lists[timer] !== FREE, "dueMsOf a timer not pending");
    return this.dueTicks[timer] * this.tickMs;
  }

  /**
   * Fires, in due order, every timer due at or before nowMs's tick, at most `limit` of them; returns
   * how many fired (`limit` means more may be due). `fire` may schedule and cancel timers.
   */
  advance(nowMs: number, limit: number, fire: (owner: number, kind: number) => void): number {
    assert(limit > 0, "advance fires at least one timer");
    const nowTick = Math.floor(nowMs / this.tickMs);
    let fired = 0;
    let rotationEndTick = Number.NEGATIVE_INFINITY;
    while (this.currentTick < nowTick) {
      if (this.count === 0) {
        this.currentTick = nowTick;
        break;
      }
      if (nowTick - this.currentTick > this.slotCount && this.currentTick >= rotationEndTick) {
        // A gap longer than one rotation: skip to the earliest timer, then visit one rotation's
        // slots (each once, so in due order) before looking again.
        const earliest = this.earliestDueTick();
        if (earliest - 1 > this.currentTick) this.currentTick = Math.min(earliest - 1, nowTick);
        rotationEndTick = this.currentTick + this.slotCount;
        continue;
      }
      const tick = this.currentTick + 1;
      this.currentTick = tick; // timers scheduled while firing land on the next tick or later
      fired += this.expireSlot(tick, limit - fired, fire);
      if (fired >= limit) {
        if (this.hasDue(tick)) this.currentTick = tick - 1;
        break;
      }
    }
    return fired;
  }

  private expireSlot(tick: number, budget: number, fire: (owner: number, kind: number) => void): number {
    const slot = tick & this.mask;
    this.moveList(slot, this.expiring, false);
    let fired = 0;
    for (let timer = this.heads[this.expiring]; timer !== NONE; timer = this.heads[this.expiring]) {
      if (fired >= budget) break;
      this.unlink(timer);
      if (this.dueTicks[timer] <= tick) {
        const owner = this.owners[timer];
        const kind = this.kinds[timer];
        this.release(timer);
        this.count--;
        fired++;
        fire(owner, kind);
      } else {
        this.append(timer, this.keeping);
      }
    }
    // Slot order afterwards: kept timers, unvisited ones, then those scheduled while firing.
    this.moveList(this.expiring, slot, true);
    this.moveList(this.keeping, slot, true);
    return fired;
  }

  private hasDue(tick: number): boolean {
    const slot = tick & this.mask;
    for (let timer = this.heads[slot]; timer !== NONE; timer = this.nexts[timer]) {
      if (this.dueTicks[timer] <= tick) return true;
    }
    return false;
  }

  private earliestDueTick(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (let timer = 0; timer < this.highWater; timer++) {
      if (this.lists[timer] !== FREE && this.dueTicks[timer] < earliest) earliest = this.dueTicks[timer];
    }
    return earliest;
  }

  /** Moves every timer of list `source` to the front (or back) of list `target`. */
  private moveList(source: number, target: number, front: boolean): void {
    const first = this.heads[source];
    if (first === NONE) return;
    const last = this.tails[source];
    for (let timer = first; timer !== NONE; timer = this.nexts[timer]) this.lists[timer] = target;
    this.heads[source] = NONE;
    this.tails[source] = NONE;
    if (this.heads[target] === NONE) {
      this.heads[target] = first;
      this.tails[target] = last;
    } else if (front) {
      this.nexts[last] = this.heads[target];
      this.previouses[this.heads[target]] = last;
      this.heads[target] = first;
    } else {
      this.previouses[first] = this.tails[target];
      this.nexts[this.tails[target]] = first;
      this.tails[target] = last;
    }
  }

  private append(timer: number, list: number): void {
    const tail = this.tails[list];
    this.lists[timer] = list;
    this.nexts[timer] = NONE;
    this.previouses[timer] = tail;
    if (tail === NONE) this.heads[list] = timer;
    else this.nexts[tail] = timer;
    this.tails[list] = timer;
  }

  private unlink(timer: number): void {
    const list = this.lists[timer];
    const next = this.nexts[timer];
    const previous = this.previouses[timer];
    if (previous === NONE) this.heads[list] = next;
    else this.nexts[previous] = next;
    if (next === NONE) this.tails[list] = previous;
    else this.previouses[next] = previous;
  }

  private allocate(): number {
    if (this.freeHead !== NONE) {
      const timer = this.freeHead;
      this.freeHead = this.nexts[timer];
      return timer;
    }
    if (this.highWater === this.dueTicks.length) this.grow();
    return this.highWater++;
  }

  private release(timer: number): void {
    this.lists[timer] = FREE;
    this.nexts[timer] = this.freeHead;
    this.freeHead = timer;
  }

  private grow(): void {
    const capacity = this.dueTicks.length * 2;
    assert(capacity <= 0x7fffffff, "timer capacity fits in int32");
    const grown = <T extends Float64Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const array = make(capacity);
      array.set(old);
      return array;
    };
    this.dueTicks = grown(this.dueTicks, (n) => new Float64Array(n));
    this.nexts = grown(this.nexts, (n) => new Int32Array(n));
    this.previouses = grown(this.previouses, (n) => new Int32Array(n));
    this.lists = grown(this.lists, (n) => new Int32Array(n).fill(FREE));
    this.owners = grown(this.owners, (n) => new Int32Array(n));
    this.kinds = grown(this.kinds, (n) => new Uint8Array(n));
  }
}
