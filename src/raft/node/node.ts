// A running Raft node: the pure core, disk storage, the ZeroMQ transport, a tick timer and the
// application's state machine, with each Ready performed in the documented order (src/raft/ready.ts):
//
//   1. snapshot: storage.applySnapshot, then restore(snapshot) to the state machine;
//   2. entries: storage.append;
//   3. hard state: storage.setHardState; if mustSync, storage.sync() (log fdatasync, hard state file)
//      before anything below;
//   4. messages: transport.send (only now: they may promise what 1-3 wrote);
//   5. committed entries: apply(entry), in order;
//   6. raft.advance(ready).
//
// One Ready at a time; messages and ticks reaching the core meanwhile are fine (the core allows it).
// Log reduction: every snapshotEvery applied entries, a snapshot of the state machine is written and the
// log compacted behind it (keeping keepEntries, so a slightly lagging follower still gets entries).
// A storage failure stops the node (it can no longer promise anything): onFatal says why.
import type {
  ConfigChange,
  Entry,
  Message,
  Mode,
  NodeId,
  ProposeResult,
  RaftConfig,
  RaftStatus,
  Snapshot,
} from "../index.ts";
import { Raft } from "../index.ts";
import type { DiskStorage } from "./disk-storage.ts";
import { RaftTransport, type TransportCurve, type TransportStats } from "./transport.ts";

export interface RaftNodeOptions {
  /** The core's configuration (id, timeouts in ticks, mode...). */
  raft: Partial<RaftConfig> & { id: NodeId };
  storage: DiskStorage;
  /** This node's ROUTER endpoint and every peer's, by id. */
  bind: string;
  peers: Record<NodeId, string>;
  curve?: TransportCurve;
  maxMessageBytes?: number;
  /** Milliseconds per tick (default 100: with electionTicks 10, elections after 1-2 s). */
  tickMs?: number;
  /** Randomness for election timeouts (default Math.random; inject a seeded one in tests). */
  random?: () => number;
  /** Applies one committed entry (noop and config entries too: skip what is not yours). */
  apply: (entry: Entry) => void;
  /** Replaces the state machine with a snapshot's data (at start, and when the leader sends one). */
  restore: (snapshot: Snapshot) => void;
  /** The state machine's bytes, for log reduction. */
  takeSnapshot?: () => Uint8Array;
  /** Snapshot and compact every this many applied entries (0: never, the default). */
  snapshotEvery?: number;
  /** Entries kept behind a snapshot when compacting (default 100). */
  keepEntries?: number;
  /** Largest command propose() takes, in bytes (default 1 MiB; the log's records stop at 16 MiB). */
  maxEntryBytes?: number;
  onFatal?: (error: Error) => void;
  log?: (line: string) => void;
}

const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

interface Waiter {
  term: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export type Proposal =
  | { ok: true; index: number; term: number; applied: Promise<void> }
  | Extract<ProposeResult, { ok: false }>;

export class ProposalLost extends Error {
  override name = "ProposalLost";
}

export class RaftNode {
  readonly raft: Raft;
  readonly storage: DiskStorage;
  private transport: RaftTransport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private working = false;
  private again = false;
  private idle: Promise<void> = Promise.resolve();
  private fatal: Error | undefined;
  private stopped = false;
  private appliedIndex: number;
  private readonly waiters = new Map<number, Waiter>();
  private readonly snapshotWaiters: Array<{
    resolve: (value: { index: number }) => void;
    reject: (error: Error) => void;
  }> = [];
  readonly counters = { readies: 0, syncs: 0, snapshotsTaken: 0, snapshotsInstalled: 0 };

  private constructor(private readonly options: RaftNodeOptions) {
    this.storage = options.storage;
    const snapshot = this.storage.snapshot();
    if (snapshot.index > 0) options.restore(snapshot);
    this.appliedIndex = snapshot.index;
    this.raft = new Raft(options.raft, this.storage, options.random ?? Math.random);
  }

  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const node = new RaftNode(options);
    node.transport = await RaftTransport.start({
      id: options.raft.id,
      bind: options.bind,
      peers: options.peers,
      curve: options.curve,
      maxMessageBytes: options.maxMessageBytes,
      onMessage: (message) => node.receive(message),
      onDropped: (peer, message) => node.dropped(peer, message),
      log: options.log,
    });
    node.timer = setInterval(() => node.tick(), options.tickMs ?? 100);
    return node;
  }

  get id(): NodeId {
    return this.raft.id;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  get transportStats(): TransportStats | undefined {
    return this.transport?.stats;
  }

  status(): RaftStatus & { applied: number } {
    return { ...this.raft.status(), applied: this.appliedIndex };
  }

  /**
   * Proposes a command. Accepted: `applied` resolves once it is applied here (so a majority holds it),
   * or rejects with ProposalLost if another entry took its index (a leader change). Refused: the reason,
   * and the leader if known (to redirect to).
   */
  propose(data: Uint8Array): Proposal {
    this.checkRunning();
    const max = this.options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    if (data.length > max) throw new RangeError(`a command is at most ${max} bytes, not ${data.length}`);
    const result = this.raft.propose(data);
    if (!result.ok) return result;
    const applied = new Promise<void>((resolve, reject) => {
      this.waiters.set(result.index, { term: result.term, resolve, reject });
    });
    applied.catch(() => {}); // a caller that stops waiting must not make it an unhandled rejection
    this.schedule();
    return { ...result, applied };
  }

  /** Proposes a membership change (one server at a time); refused off the leader, or while one is pending. */
  proposeConfigChange(change: ConfigChange): ProposeResult {
    this.checkRunning();
    const result = this.raft.proposeConfigChange(change);
    this.schedule();
    return result;
  }

  /** Takes a snapshot at the applied index now and compacts behind it (log reduction on demand). */
  snapshotNow(): Promise<{ index: number }> {
    this.checkRunning();
    return new Promise((resolve, reject) => {
      this.snapshotWaiters.push({ resolve, reject });
      this.schedule();
    });
  }

  setMode(mode: Mode): void {
    this.checkRunning();
    this.raft.setMode(mode);
    this.schedule();
  }

  transferLeadership(target: NodeId) {
    this.checkRunning();
    const result = this.raft.transferLeadership(target);
    this.schedule();
    return result;
  }

  campaign(): void {
    this.checkRunning();
    this.raft.campaign();
    this.schedule();
  }

  private checkRunning(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.stopped) throw new Error(`raft node ${this.id} is stopped`);
  }

  private receive(message: Message): void {
    this.drive(() => this.raft.step(message));
  }

  private tick(): void {
    this.drive(() => this.raft.tick());
  }

  /** The core throws only on a broken invariant (a bug): going on could be unsafe, so the node stops. */
  private drive(input: () => void): void {
    if (this.stopped || this.fatal !== undefined) return;
    try {
      input();
    } catch (error) {
      this.die(error as Error);
      return;
    }
    this.schedule();
  }

  private dropped(peer: NodeId, message: Message): void {
    if (this.stopped || this.fatal !== undefined) return;
    if (message.type === "snapshot") this.raft.reportSnapshot(peer, false);
    else if (message.type === "append") this.raft.reportUnreachable(peer);
  }

  /** Runs the Ready loop unless it is running (then it goes round once more). */
  private schedule(): void {
    if (this.working) {
      this.again = true;
      return;
    }
    this.working = true;
    this.idle = this.work().finally(() => {
      this.working = false;
    });
  }

  private async work(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.raft.hasReady()) {
          const ready = this.raft.ready();
          // 1. snapshot
          if (ready.snapshot !== undefined) {
            await this.storage.applySnapshot(ready.snapshot);
            this.options.restore(ready.snapshot);
            this.appliedIndex = ready.snapshot.index;
            this.counters.snapshotsInstalled += 1;
            for (const [index, waiter] of this.waiters) {
              if (index > ready.snapshot.index) continue;
              this.waiters.delete(index);
              waiter.reject(new ProposalLost(`entry ${index} was replaced by a snapshot: outcome unknown`));
            }
          }
          // 2. entries, 3. hard state (+ fsync)
          this.storage.append(ready.entries);
          if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState);
          if (ready.mustSync) {
            await this.storage.sync();
            this.counters.syncs += 1;
          }
          // 4. messages
          for (const message of ready.messages) this.transport?.send(message);
          // 5. apply
          for (const entry of ready.committedEntries) this.applyEntry(entry);
          // 6. advance
          this.raft.advance(ready);
          this.counters.readies += 1;
          await this.maybeReduceLog();
        }
        if (this.snapshotWaiters.length > 0) await this.snapshotForWaiters();
      } while (this.again && !this.stopped);
    } catch (error) {
      this.die(error as Error);
      for (const waiter of this.snapshotWaiters.splice(0)) waiter.reject(error as Error);
    }
  }

  private async snapshotForWaiters(): Promise<void> {
    const waiters = this.snapshotWaiters.splice(0);
    const take = this.options.takeSnapshot;
    if (take === undefined) {
      for (const waiter of waiters) waiter.reject(new Error("this node has no takeSnapshot"));
      return;
    }
    const applied = this.appliedIndex;
    if (applied > this.storage.snapshot().index) {
      await this.storage.createSnapshot(applied, this.raft.configAt(applied), take());
      this.counters.snapshotsTaken += 1;
      const compactTo = applied - (this.options.keepEntries ?? 100);
      if (compactTo >= this.storage.firstIndex()) await this.storage.compact(compactTo);
    }
    for (const waiter of waiters) waiter.resolve({ index: this.storage.snapshot().index });
  }

  private applyEntry(entry: Entry): void {
    this.options.apply(entry);
    this.appliedIndex = entry.index;
    const waiter = this.waiters.get(entry.index);
    if (waiter === undefined) return;
    this.waiters.delete(entry.index);
    if (entry.term === waiter.term) waiter.resolve();
    else waiter.reject(new ProposalLost(`entry ${entry.index} was taken by a later leader's entry`));
  }

  private async maybeReduceLog(): Promise<void> {
    const every = this.options.snapshotEvery ?? 0;
    const take = this.options.takeSnapshot;
    if (every <= 0 || take === undefined) return;
    const applied = this.appliedIndex;
    if (applied - this.storage.snapshot().index < every) return;
    await this.storage.createSnapshot(applied, this.raft.configAt(applied), take());
    this.counters.snapshotsTaken += 1;
    const compactTo = applied - (this.options.keepEntries ?? 100);
    if (compactTo >= this.storage.firstIndex()) await this.storage.compact(compactTo);
  }

  private die(error: Error): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.options.log?.(`raft node ${this.id}: stopping: ${error.message}`);
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    void this.transport?.close();
    this.options.onFatal?.(error);
  }

  /** Stops ticking and receiving, finishes the Ready in hand, closes the transport and the storage. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.idle;
    await this.transport?.close();
    for (const waiter of this.waiters.values()) waiter.reject(new ProposalLost("the node stopped"));
    this.waiters.clear();
    await this.storage.close();
  }
}
