// Helpers for driving single cores by hand: build one on a bootstrapped in-memory storage, perform its
// Readies (persist, collect the messages, apply), and build messages tersely.

import type {
  AppendMessage,
  Entry,
  Message,
  Mode,
  NodeId,
  RaftConfig,
  Ready,
  VoteMessage,
} from "../../src/raft/index.ts";
import { MemoryStorage, makeConfig, Raft, seededRandom } from "../../src/raft/index.ts";

export interface Harness {
  raft: Raft;
  storage: MemoryStorage;
  /** Entries applied so far. */
  applied: Entry[];
  readies: Ready[];
}

export function newRaft(
  id: NodeId,
  voters: NodeId[],
  options: Partial<RaftConfig> & { learners?: NodeId[]; seed?: number; storage?: MemoryStorage } = {},
): Harness {
  const { learners = [], seed = 1, storage: given, ...config } = options;
  const storage = given ?? MemoryStorage.bootstrap(makeConfig(voters, learners));
  const raft = new Raft({ electionTicks: 10, heartbeatTicks: 1, ...config, id }, storage, seededRandom(seed));
  return { raft, storage, applied: [], readies: [] };
}

/** Performs every pending Ready in the documented order; returns the messages to send. */
export function drain(harness: Harness): Message[] {
  const { raft, storage } = harness;
  const messages: Message[] = [];
  while (raft.hasReady()) {
    const ready = raft.ready();
    harness.readies.push(ready);
    if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
    storage.append(ready.entries);
    if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
    messages.push(...ready.messages);
    harness.applied.push(...ready.committedEntries);
    raft.advance(ready);
  }
  return messages;
}

/** Ticks until the node has started an election (or `ticksMax` passed). */
export function tickUntilCampaign(harness: Harness, ticksMax = 100): Message[] {
  for (let i = 0; i < ticksMax; i += 1) {
    harness.raft.tick();
    const messages = drain(harness);
    if (harness.raft.role !== "follower") return messages;
  }
  throw new Error(`${harness.raft.id} did not campaign within ${ticksMax} ticks`);
}

const encoder = new TextEncoder();

export function normal(index: number, term: number, value = `v${index}`): Entry {
  return { index, term, kind: "normal", data: encoder.encode(value) };
}

export function append(
  from: NodeId,
  to: NodeId,
  term: number,
  prevIndex: number,
  prevTerm: number,
  entries: Entry[],
  commit: number,
): AppendMessage {
  return { type: "append", from, to, term, prevIndex, prevTerm, entries, commit };
}

export function voteRequest(
  from: NodeId,
  to: NodeId,
  term: number,
  lastIndex: number,
  lastTerm: number,
  options: { type?: "vote" | "pre-vote"; transfer?: boolean; mode?: Mode } = {},
): VoteMessage {
  return {
    type: options.type ?? "vote",
    from,
    to,
    term,
    lastIndex,
    lastTerm,
    transfer: options.transfer ?? false,
    mode: options.mode ?? "active",
  };
}

export function voteResponse(from: NodeId, to: NodeId, term: number, reject = false, pre = false): Message {
  return { type: pre ? "pre-vote-response" : "vote-response", from, to, term, reject };
}

/** Makes `harness` the leader of its configuration by answering its (pre-)votes with grants. */
export function electLeader(harness: Harness): Message[] {
  const { raft } = harness;
  let messages = tickUntilCampaign(harness);
  for (let round = 0; round < 3 && raft.role !== "leader"; round += 1) {
    const requests = messages.filter((m): m is VoteMessage => m.type === "vote" || m.type === "pre-vote");
    for (const request of requests) {
      raft.step(voteResponse(request.to, raft.id, request.term, false, request.type === "pre-vote"));
    }
    messages = drain(harness);
  }
  if (raft.role !== "leader") throw new Error(`${raft.id} did not become leader`);
  return messages;
}

export function ofType<T extends Message["type"]>(messages: Message[], type: T): (Message & { type: T })[] {
  return messages.filter((m): m is Message & { type: T } => m.type === type);
}
