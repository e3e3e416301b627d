// Key/value clients for the simulator: each client runs one operation at a time (put, append or get,
// each a log entry proposed on the current leader) and records its call and response in virtual time,
// for the linearizability checker. A proposal refused or overwritten (its index committed with another
// entry) never took effect and is left out; one whose outcome the client stops waiting for (the leader
// crashed or lost its term, a timeout) is recorded as pending: it may still take effect later, or never.
//
// What a get returns is the state machine at the entry's index, computed from the committed log (which
// the simulator's invariants already check every node applies identically). With `reads: "local"` a
// get is answered at once from the leader's applied state instead, without the log: the shortcut a
// store takes without ReadIndex, which the checker must catch.

import type { NodeId } from "../../src/raft/index.ts";
import { randomInt } from "../../src/raft/index.ts";
import type { Cluster } from "./cluster.ts";
import type { KvInput, KvOperation } from "./linearizability.ts";

export interface KvClientOptions {
  clients: number;
  keys: number;
  /** Virtual ms a client waits for the outcome before giving up (the operation stays pending). */
  timeoutMs: number;
  reads?: "log" | "local";
}

interface InFlight {
  id: number;
  op: number;
  node: NodeId;
  index: number;
  term: number;
  since: number;
}

const PREFIX = "kv ";

export class KvClients {
  readonly history: Array<{ -readonly [K in keyof KvOperation]: KvOperation[K] }> = [];
  private readonly inFlight = new Map<number, InFlight>();
  private sequence = 0;
  /** Replay of the committed log: per key, (index, value after it) in index order. */
  private readonly versions = new Map<string, Array<{ index: number; value: string }>>();
  private readonly readAt = new Map<number, string | null>();
  private replayed = 1;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: KvClientOptions,
  ) {}

  /** Idle clients invoke their next operation; called between stretches of virtual time. */
  invoke(): void {
    for (let client = 0; client < this.options.clients; client += 1) {
      if (this.inFlight.has(client)) continue;
      if (this.cluster.random() < 0.3) continue;
      const leader = this.cluster.leader();
      if (leader === null) continue;
      const input = this.nextInput();
      if (input.kind === "get" && this.options.reads === "local") {
        const node = this.cluster.node(leader);
        const now = this.cluster.now;
        this.history.push({
          client,
          input,
          call: now,
          ret: now,
          output: this.valueAt(input.key, node.applied),
        });
        continue;
      }
      const id = this.sequence++;
      const result = this.cluster.propose(leader, `${PREFIX}${id} ${JSON.stringify(input)}`);
      if (!result.ok) continue; // refused: never appended
      const op = this.history.length;
      this.history.push({ client, input, call: this.cluster.now, ret: undefined });
      this.inFlight.set(client, {
        id,
        op,
        node: leader,
        index: result.index,
        term: result.term,
        since: this.cluster.now,
      });
    }
  }

  /** Called after every simulator event: answers the operations whose entry the leader has applied. */
  observe(): void {
    const committed = this.cluster.invariants.committed;
    for (const [client, flight] of this.inFlight) {
      const node = this.cluster.node(flight.node);
      const raft = node.raft;
      if (committed.has(flight.index)) {
        this.replayTo(flight.index);
        const payload = this.cluster.invariants.committedPayloads.get(flight.index) ?? "";
        const ours = payload.startsWith(`${PREFIX}${flight.id} `);
        if (!ours) {
          // Another entry took the index: ours can never commit.
          this.history[flight.op].ret = -1;
          this.inFlight.delete(client);
          continue;
        }
        // The client hears back once the leader it asked applied the entry in the same term.
        if (raft !== null && raft.term === flight.term && node.applied >= flight.index) {
          const op = this.history[flight.op];
          op.ret = this.cluster.now;
          if (op.input.kind === "get") op.output = this.readAt.get(flight.index) ?? null;
          this.inFlight.delete(client);
          continue;
        }
      }
      if (
        raft === null ||
        raft.term !== flight.term ||
        this.cluster.now - flight.since > this.options.timeoutMs
      ) {
        this.inFlight.delete(client); // gave up: pending
      }
    }
  }

  /** The operations as the checker takes them (those that certainly never took effect left out). */
  operations(): KvOperation[] {
    return this.history.filter((op) => op.ret !== -1);
  }

  private nextInput(): KvInput {
    const random = this.cluster.random;
    const key = `k${randomInt(random, 0, this.options.keys)}`;
    const roll = random();
    const value = `${this.sequence}.`;
    if (roll < 0.4) return { kind: "get", key };
    if (roll < 0.7) return { kind: "put", key, value };
    return { kind: "append", key, value };
  }

  private valueAt(key: string, index: number): string | null {
    this.replayTo(index);
    const versions = this.versions.get(key) ?? [];
    let found: string | null = null;
    for (const version of versions) {
      if (version.index > index) break;
      found = version.value;
    }
    return found;
  }

  /** Replays the committed log up to `index` (every index below a committed one is committed). */
  private replayTo(index: number): void {
    const payloads = this.cluster.invariants.committedPayloads;
    while (this.replayed < index) {
      const at = this.replayed + 1;
      const payload = payloads.get(at);
      if (payload === undefined) {
        if (!this.cluster.invariants.committed.has(at)) return;
        throw new Error(`committed entry ${at} has no payload`);
      }
      this.replayed = at;
      if (!payload.startsWith(PREFIX)) continue;
      const input = JSON.parse(payload.slice(payload.indexOf(" ", PREFIX.length) + 1)) as KvInput;
      const versions = this.versions.get(input.key) ?? [];
      this.versions.set(input.key, versions);
      const current = versions.at(-1)?.value ?? null;
      if (input.kind === "get") this.readAt.set(at, current);
      else
        versions.push({
          index: at,
          value: input.kind === "put" ? input.value : (current ?? "") + input.value,
        });
    }
  }
}
