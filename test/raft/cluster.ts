// A deterministic cluster simulator: N Raft cores in one process, a seeded network that can drop, delay,
// reorder, duplicate and partition messages, nodes that crash (losing what they had not synced) and
// restart from their storage, and virtual time. Everything random comes from one seed, so a run replays
// exactly. The invariants (invariants.ts) are checked after every persisted batch, applied entry and
// delivered message; a violation throws with the seed and the last actions.
//
// Two ways to drive it:
// - by hand (scripted scenarios): `tick`, `deliverAll`, `partition`, `crash`, `restart`, `dropIf`;
// - in virtual time (`runFor`, `runUntil`): every node ticks every tickMs, messages arrive after a
//   random delay.

import type {
  Entry,
  Message,
  Mode,
  NodeId,
  ProposeResult,
  RaftConfig,
  Random,
} from "../../src/raft/index.ts";
import { MemoryStorage, makeConfig, Raft, randomInt, seededRandom } from "../../src/raft/index.ts";
import { chainDigest, entryPayload, GENESIS_DIGEST, Invariants, InvariantViolation } from "./invariants.ts";

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay range, virtual ms (a wide range reorders messages). */
  delayMsMin: number;
  delayMsMax: number;
  /** Probability, per processed Ready, that the node crashes in the middle of it. */
  crashInReadyRate: number;
}

export const NO_FAULTS: NetworkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  delayMsMin: 1,
  delayMsMax: 1,
  crashInReadyRate: 0,
};

export interface ClusterOptions {
  seed: number;
  /** Founding voters. */
  voters: NodeId[];
  /** Founding learners. */
  learners?: NodeId[];
  /** Nodes that start empty, outside the configuration (to be added through the log). */
  joiners?: NodeId[];
  modes?: Partial<Record<NodeId, Mode>>;
  raft?: Partial<Omit<RaftConfig, "id" | "mode">>;
  /** Virtual ms per tick. */
  tickMs?: number;
  /** Take a snapshot after this many applied entries (0: never). */
  snapshotEvery?: number;
  /** Entries kept behind a snapshot when compacting. */
  keepAfterSnapshot?: number;
  faults?: Partial<NetworkFaults>;
}

interface InFlight {
  at: number;
  seq: number;
  message: Message;
}

/** Min-heap of in-flight messages by (delivery time, send order). */
class MessageQueue {
  private readonly heap: InFlight[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): InFlight | undefined {
    return this.heap[0];
  }

  push(item: InFlight): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  pop(): InFlight | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

const before = (a: InFlight, b: InFlight) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One simulated server: its disk (storage), its state machine (a digest chain) and, while up, its core. */
export class SimNode {
  raft: Raft | null = null;
  /** The state machine: index applied and the digest of everything applied. */
  applied = 0;
  digest = 0;
  /** Values of normal entries applied in this life, by index (scenario assertions). */
  readonly appliedValues = new Map<number, string>();
  /** Digests of the persisted log: digests[i] is the digest at index digestBase + i. */
  digestBase = 0;
  digests: number[] = [];
  /** Commit index whose entries were reported to the invariants. */
  commitChecked = 0;
  /** What a crash leaves on disk: the last hard state written with mustSync. */
  syncedCommit = 0;
  nextTickAt = 0;
  lives = 0;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    public mode: Mode,
  ) {}

  get up(): boolean {
    return this.raft !== null;
  }

  digestAt(index: number): number | undefined {
    if (index < this.digestBase) return undefined;
    return this.digests[index - this.digestBase];
  }
}

export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly invariants = new Invariants();
  readonly random: Random;
  readonly faults: NetworkFaults;
  readonly tickMs: number;
  now = 0;
  /** Scripted drops: a message for which this returns true is lost. */
  dropIf: ((message: Message) => boolean) | null = null;
  /** Called after every event in virtual time (and every delivery by hand). */
  onEvent: (() => void) | null = null;
  /** Actions taken, for the failure report of a seed. */
  readonly history: string[] = [];
  delivered = 0;
  /** Messages delivered, by type. */
  readonly deliveredByType = new Map<Message["type"], number>();
  private readonly queue = new MessageQueue();
  private sequence = 0;
  private readonly blocked = new Set<string>();
  private readonly raftConfig: Partial<Omit<RaftConfig, "id" | "mode">>;
  private readonly snapshotEvery: number;
  private readonly keepAfterSnapshot: number;

  constructor(readonly options: ClusterOptions) {
    this.random = seededRandom(options.seed);
    this.faults = { ...NO_FAULTS, ...options.faults };
    this.tickMs = options.tickMs ?? 10;
    this.raftConfig = options.raft ?? {};
    this.snapshotEvery = options.snapshotEvery ?? 0;
    this.keepAfterSnapshot = options.keepAfterSnapshot ?? 0;
    const config = makeConfig(options.voters, options.learners ?? []);
    const founders = [...options.voters, ...(options.learners ?? [])];
    for (const id of founders) {
      this.addNode(id, MemoryStorage.bootstrap(config, encodeDigest(GENESIS_DIGEST)));
    }
    for (const id of options.joiners ?? []) this.addNode(id, new MemoryStorage());
  }

  // ---- queries ------------------------------------------------------------------------------------

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  raft(id: NodeId): Raft {
    const raft = this.node(id).raft;
    if (raft === null) throw new Error(`${id} is down`);
    return raft;
  }

  /** The live leader of the highest term, if any. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      if (node.raft?.role === "leader" && node.raft.term > bestTerm) {
        best = node.id;
        bestTerm = node.raft.term;
      }
    }
    return best;
  }

  liveIds(): NodeId[] {
    return [...this.nodes.values()].filter((node) => node.up).map((node) => node.id);
  }

  inFlight(): number {
    return this.queue.size;
  }

  // ---- control ------------------------------------------------------------------------------------

  /** Adds a server with the given disk (a fresh one: not a member until the log says so). */
  addNode(id: NodeId, storage: MemoryStorage = new MemoryStorage()): SimNode {
    if (this.nodes.has(id)) throw new Error(`node ${id} exists`);
    const node = new SimNode(id, storage, this.options.modes?.[id] ?? "active");
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  /** Cuts every link between nodes of different groups (nodes in no group keep all their links). */
  partition(...groups: NodeId[][]): void {
    this.history.push(`${this.now}ms partition ${groups.map((group) => group.join(",")).join(" | ")}`);
    this.blocked.clear();
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.blocked.add(`${from}>${to}`);
      }
    }
  }

  /** Cuts one direction of one link. */
  cut(from: NodeId, to: NodeId): void {
    this.history.push(`${this.now}ms cut ${from}>${to}`);
    this.blocked.add(`${from}>${to}`);
  }

  isolate(id: NodeId): void {
    const others = [...this.nodes.keys()].filter((other) => other !== id);
    this.partition([id], others);
  }

  heal(): void {
    this.history.push(`${this.now}ms heal`);
    this.blocked.clear();
  }

  crash(id: NodeId): void {
    const node = this.node(id);
    if (!node.up) return;
    this.history.push(`${this.now}ms crash ${id}`);
    node.raft = null;
    // The disk keeps what was synced; a commit index written without fsync may be lost.
    const hardState = node.storage.hardState();
    node.storage.setHardState({
      ...hardState,
      commit: Math.max(node.syncedCommit, node.storage.firstIndex() - 1),
    });
  }

  restart(id: NodeId, mode?: Mode): void {
    const node = this.node(id);
    if (node.up) return;
    if (mode !== undefined) node.mode = mode;
    this.history.push(`${this.now}ms restart ${id}`);
    this.start(node);
  }

  setMode(id: NodeId, mode: Mode): void {
    const node = this.node(id);
    this.history.push(`${this.now}ms mode ${id} ${mode}`);
    node.mode = mode;
    node.raft?.setMode(mode);
    if (node.raft !== null) this.processReady(node);
  }

  /** Proposes `value` on `id` (which must be up); returns the core's answer. */
  propose(id: NodeId, value: string): ProposeResult {
    const node = this.node(id);
    const result = this.raft(id).propose(encoder.encode(value));
    this.processReady(node);
    return result;
  }

  /** Calls `act` on `id`'s core, then processes what it produced. */
  act<T>(id: NodeId, act: (raft: Raft) => T): T {
    const node = this.node(id);
    const result = act(this.raft(id));
    this.processReady(node);
    return result;
  }

  campaign(id: NodeId): void {
    this.history.push(`${this.now}ms campaign ${id}`);
    this.act(id, (raft) => raft.campaign());
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i += 1) {
      const node = this.node(id);
      if (node.raft === null) return;
      node.raft.tick();
      this.processReady(node);
    }
  }

  /** Ticks every live node `times` times, delivering everything in flight after each round. */
  tickAll(times = 1, deliver = true): void {
    for (let i = 0; i < times; i += 1) {
      for (const id of this.liveIds()) this.tick(id);
      if (deliver) this.deliverAll();
    }
  }

  /** Delivers in-flight messages (in delivery-time order, ignoring time) until none are left. */
  deliverAll(messagesMax = 1_000_000): number {
    let count = 0;
    for (let item = this.queue.pop(); item !== undefined; item = this.queue.pop()) {
      this.deliver(item.message);
      this.afterEvent();
      count += 1;
      if (count >= messagesMax) break;
    }
    return count;
  }

  /** Drops everything in flight. */
  dropInFlight(): void {
    this.queue.clear();
  }

  /** Runs virtual time for `ms`: ticks every tickMs per node, messages arrive when due. */
  runFor(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const tickNode = this.nextTickNode();
      const message = this.queue.peek();
      const tickAt = tickNode?.nextTickAt ?? Number.POSITIVE_INFINITY;
      const messageAt = message?.at ?? Number.POSITIVE_INFINITY;
      const at = Math.min(tickAt, messageAt);
      if (at > end) break;
      this.now = at;
      if (messageAt <= tickAt) {
        this.queue.pop();
        if (message !== undefined) this.deliver(message.message);
      } else if (tickNode !== undefined) {
        tickNode.nextTickAt += this.tickMs;
        if (tickNode.raft !== null) {
          tickNode.raft.tick();
          this.processReady(tickNode);
        }
      }
      this.afterEvent();
    }
    this.now = end;
  }

  /** Runs virtual time until `done()` holds (checked every tickMs); false if `msMax` passed first. */
  runUntil(done: () => boolean, msMax: number): boolean {
    const end = this.now + msMax;
    while (this.now < end) {
      if (done()) return true;
      this.runFor(Math.min(this.tickMs, end - this.now));
    }
    return done();
  }

  /** Report for a failing seed: how to replay it and what happened last. */
  report(): string {
    const tail = this.history.slice(-40).join("\n  ");
    return `seed ${this.options.seed} at ${this.now}ms (replay: same seed and options)\n  ${tail}`;
  }

  // ---- internals ----------------------------------------------------------------------------------

  private start(node: SimNode): void {
    const snapshot = node.storage.snapshot();
    // The state machine restarts from the snapshot and replays the committed entries after it.
    node.applied = snapshot.index;
    node.digest = snapshot.index === 0 ? 0 : decodeDigest(snapshot.data);
    node.appliedValues.clear();
    if (node.lives === 0) {
      // A new disk holds a snapshot and no entries; later, `digests` follows the disk (entries are
      // always synced), so it survives crashes as the disk does.
      if (node.storage.lastIndex() !== snapshot.index) throw new Error("a new node's disk holds no entries");
      node.digestBase = snapshot.index;
      node.digests = [node.digest];
    }
    node.lives += 1;
    const hardState = node.storage.hardState();
    node.syncedCommit = hardState.commit;
    node.commitChecked = Math.max(snapshot.index, 0);
    const seed = randomInt(this.random, 0, 2 ** 31);
    node.raft = new Raft(
      { ...this.raftConfig, id: node.id, mode: node.mode },
      node.storage,
      seededRandom(seed),
    );
    node.nextTickAt = this.now + randomInt(this.random, 1, this.tickMs + 1);
    this.invariants.termObserved(node.id, node.raft.term);
    this.checkCommitted(node, hardState.commit);
    this.processReady(node);
  }

  private nextTickNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes.values()) {
      if (node.raft !== null && (best === undefined || node.nextTickAt < best.nextTickAt)) best = node;
    }
    return best;
  }

  private send(message: Message): void {
    if (this.dropIf?.(message)) return;
    const faults = this.faults;
    if (faults.dropRate > 0 && this.random() < faults.dropRate) return;
    const copies = faults.duplicateRate > 0 && this.random() < faults.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i += 1) {
      const delay = randomInt(this.random, faults.delayMsMin, faults.delayMsMax + 1);
      this.queue.push({ at: this.now + delay, seq: this.sequence++, message });
    }
  }

  private deliver(message: Message): void {
    if (this.blocked.has(`${message.from}>${message.to}`)) return;
    const node = this.nodes.get(message.to);
    if (node?.raft == null) return;
    this.delivered += 1;
    this.deliveredByType.set(message.type, (this.deliveredByType.get(message.type) ?? 0) + 1);
    node.raft.step(message);
    this.processReady(node);
  }

  private afterEvent(): void {
    for (const node of this.nodes.values()) {
      const raft = node.raft;
      if (raft === null) continue;
      this.invariants.termObserved(node.id, raft.term);
      if (raft.role === "leader") this.invariants.leaderSeen(node.id, raft.term);
    }
    this.onEvent?.();
  }

  /** Performs every Ready the node has, in the documented order, checking the invariants on the way. */
  processReady(node: SimNode): void {
    try {
      this.processReadyUnchecked(node);
    } catch (error) {
      if (error instanceof InvariantViolation) error.message += `\n${this.report()}`;
      throw error;
    }
  }

  private processReadyUnchecked(node: SimNode): void {
    for (let round = 0; node.raft?.hasReady(); round += 1) {
      if (round > 10_000) throw new Error(`${node.id} keeps producing Readies`);
      const raft = node.raft;
      const ready = raft.ready();
      if (this.crashMidReady()) {
        // Crashed before anything of this batch reached the disk.
        this.crash(node.id);
        return;
      }
      if (ready.snapshot !== undefined) this.installSnapshot(node, ready.snapshot.index, ready.snapshot.data);
      if (ready.entries.length > 0) this.persistEntries(node, ready.entries);
      if (ready.hardState !== undefined) {
        node.storage.setHardState(ready.hardState);
        if (ready.mustSync) node.syncedCommit = ready.hardState.commit;
        this.invariants.hardStatePersisted(node.id, ready.hardState);
        this.checkCommitted(node, ready.hardState.commit);
      }
      if (this.crashMidReady()) {
        // Crashed after the fsync, before sending or applying.
        this.crash(node.id);
        return;
      }
      for (const message of ready.messages) this.send(message);
      for (const entry of ready.committedEntries) this.apply(node, entry);
      raft.advance(ready);
      if (ready.softState?.role === "leader") {
        this.invariants.leaderElected(node.id, raft.term, node.storage.lastIndex(), (index) =>
          node.digestAt(index),
        );
      }
      this.maybeSnapshot(node, raft);
    }
  }

  private crashMidReady(): boolean {
    return this.faults.crashInReadyRate > 0 && this.random() < this.faults.crashInReadyRate;
  }

  private installSnapshot(node: SimNode, index: number, data: Uint8Array): void {
    const snapshot = node.raft?.log.unstable.snapshot;
    if (snapshot === undefined) throw new Error("a Ready snapshot must be the unstable one");
    node.storage.applySnapshot(snapshot);
    node.applied = index;
    node.digest = decodeDigest(data);
    node.digestBase = index;
    node.digests = [node.digest];
    node.commitChecked = index;
    this.invariants.entryApplied(node.id, index, node.digest);
  }

  private persistEntries(node: SimNode, entries: readonly Entry[]): void {
    node.storage.append(entries);
    const first = entries[0].index;
    if (first <= node.digestBase) throw new Error(`${node.id} rewrote entries its snapshot covers`);
    node.digests.length = first - node.digestBase;
    for (const entry of entries) {
      const digest = chainDigest(node.digests[node.digests.length - 1], entry);
      node.digests.push(digest);
      this.invariants.entryPersisted(node.id, entry.index, entry.term, digest);
    }
  }

  private checkCommitted(node: SimNode, commit: number): void {
    for (let index = node.commitChecked + 1; index <= commit; index += 1) {
      const digest = node.digestAt(index);
      if (digest === undefined) throw new Error(`${node.id} committed ${index} it does not hold`);
      const [entry] = node.storage.entries(index, index + 1, Number.POSITIVE_INFINITY);
      this.invariants.entryCommitted(node.id, index, digest, entryPayload(entry));
    }
    node.commitChecked = Math.max(node.commitChecked, commit);
  }

  private apply(node: SimNode, entry: Entry): void {
    if (entry.index !== node.applied + 1)
      throw new Error(`${node.id} applied ${entry.index} after ${node.applied}`);
    node.digest = chainDigest(node.digest, entry);
    node.applied = entry.index;
    if (entry.kind === "normal") node.appliedValues.set(entry.index, decoder.decode(entry.data));
    this.invariants.entryApplied(node.id, entry.index, node.digest);
  }

  private maybeSnapshot(node: SimNode, raft: Raft): void {
    if (this.snapshotEvery === 0) return;
    const held = node.storage.snapshot().index;
    if (node.applied - held < this.snapshotEvery) return;
    node.storage.createSnapshot(node.applied, raft.configAt(node.applied), encodeDigest(node.digest));
    const compactTo = node.applied - this.keepAfterSnapshot;
    if (compactTo > node.storage.firstIndex() - 1) {
      node.storage.compact(compactTo);
      node.digests = node.digests.slice(compactTo - node.digestBase);
      node.digestBase = compactTo;
    }
  }
}

function encodeDigest(digest: number): Uint8Array {
  return encoder.encode(String(digest));
}

function decodeDigest(data: Uint8Array): number {
  return Number(decoder.decode(data));
}
