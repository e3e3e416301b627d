// A map that keeps its entries in the order they were last set and drops the oldest in O(1).
//
// Why not a Map with delete + set and `keys().next()` for the oldest: V8's Map leaves a deleted
// entry's slot in place until its table is rebuilt, and an iterator starts at the first slot, so
// finding the oldest walks every slot deleted since the last rebuild. Kept at 100,000 entries with
// one in and one out per job, that is ~50 µs per call (bench: the orchestrator's finished jobs).
// Here each entry has a slot in two arrays and the index maps a key to its slot; a slot left
// behind by delete or by setting the key again is dead, skipped, and dropped once at least half
// of the slots are dead (amortised O(1) an operation).

/** Below this many dead slots the arrays are never rebuilt. */
const DEAD_SLOTS_MIN = 1024;

export class RecencyMap<K, V> {
  /** Key -> absolute position of its slot (its index in the arrays plus `base`). */
  private readonly index = new Map<K, number>();
  private keySlots: K[] = [];
  private valueSlots: (V | undefined)[] = [];
  /** Absolute position of slot 0: positions stay valid while the front is dropped. */
  private base = 0;
  /** Every slot before it is dead. */
  private head = 0;

  constructor(entries?: Iterable<readonly [K, V]>) {
    if (entries !== undefined) for (const [key, value] of entries) this.set(key, value);
  }

  get size(): number {
    return this.index.size;
  }

  /** Slots held, live and dead: at most 2 x size + DEAD_SLOTS_MIN (the memory bound). */
  get slots(): number {
    return this.keySlots.length;
  }

  has(key: K): boolean {
    return this.index.has(key);
  }

  get(key: K): V | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : this.valueSlots[at - this.base];
  }

  /** Sets `key` as the newest entry (moved there if it was present). */
  set(key: K, value: V): this {
    const at = this.index.get(key);
    if (at !== undefined) this.valueSlots[at - this.base] = undefined; // dead: let the value go
    this.index.set(key, this.base + this.keySlots.length);
    this.keySlots.push(key);
    this.valueSlots.push(value);
    if (at !== undefined) this.compactIfSparse();
    return this;
  }

  delete(key: K): boolean {
    const at = this.index.get(key);
    if (at === undefined) return false;
    this.index.delete(key);
    this.valueSlots[at - this.base] = undefined;
    this.compactIfSparse();
    return true;
  }

  /** The oldest entry's key, or undefined when empty. */
  oldestKey(): K | undefined {
    const slot = this.oldestSlot();
    return slot < 0 ? undefined : this.keySlots[slot];
  }

  /** The oldest entry's value, or undefined when empty. */
  oldestValue(): V | undefined {
    const slot = this.oldestSlot();
    return slot < 0 ? undefined : this.valueSlots[slot];
  }

  /** Removes the oldest entry; false when empty. */
  deleteOldest(): boolean {
    const slot = this.oldestSlot();
    if (slot < 0) return false;
    this.index.delete(this.keySlots[slot]);
    this.valueSlots[slot] = undefined;
    this.head = slot + 1;
    this.compactIfSparse();
    return true;
  }

  /** The values, oldest first: a copy, so the map may change while the caller walks it. */
  values(): V[] {
    const values: V[] = [];
    for (let slot = this.head; slot < this.keySlots.length; slot++)
      if (this.isLive(slot)) values.push(this.valueSlots[slot] as V);
    return values;
  }

  /** The keys, oldest first (a copy). */
  keys(): K[] {
    const keys: K[] = [];
    for (let slot = this.head; slot < this.keySlots.length; slot++)
      if (this.isLive(slot)) keys.push(this.keySlots[slot]);
    return keys;
  }

  /** The entries, oldest first (a copy). */
  entries(): Array<[K, V]> {
    const entries: Array<[K, V]> = [];
    for (let slot = this.head; slot < this.keySlots.length; slot++)
      if (this.isLive(slot)) entries.push([this.keySlots[slot], this.valueSlots[slot] as V]);
    return entries;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()[Symbol.iterator]();
  }

  private isLive(slot: number): boolean {
    return this.index.get(this.keySlots[slot]) === this.base + slot;
  }

  /** The oldest live slot (moving `head` past dead ones), or -1. */
  private oldestSlot(): number {
    while (this.head < this.keySlots.length && !this.isLive(this.head)) this.head++;
    return this.head < this.keySlots.length ? this.head : -1;
  }

  /** Rebuilds the arrays with the live slots only once at least half of them are dead. */
  private compactIfSparse(): void {
    const dead = this.keySlots.length - this.index.size;
    if (dead < DEAD_SLOTS_MIN || dead < this.index.size) return;
    const keys: K[] = [];
    const values: V[] = [];
    for (let slot = this.head; slot < this.keySlots.length; slot++) {
      if (!this.isLive(slot)) continue;
      keys.push(this.keySlots[slot]);
      values.push(this.valueSlots[slot] as V);
    }
    this.keySlots = keys;
    this.valueSlots = values;
    this.base = 0;
    this.head = 0;
    // Existing keys: Map.set updates in place, in the new order's positions.
    for (let slot = 0; slot < keys.length; slot++) this.index.set(keys[slot], slot);
  }
}
