// The Raft core's data: log entries, membership, hard state, snapshots and the messages peers exchange.
// Everything here is plain data (no classes), so a transport or a disk format can encode it as it likes.

/** A member's id. Never reuse the id of a removed member: its old votes and log may still be around. */
export type NodeId = string;

/** The role a node plays in the current term. */
export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/**
 * A local candidacy policy, switchable at run time (`Raft.setMode`). It never decides who votes or who
 * counts toward a quorum: that is membership, and membership goes through the log.
 * - `active`: campaigns when the election timeout passes without a leader.
 * - `reluctant`: campaigns only when no active voter at least as up to date is around to do it; as
 *   leader, hands over by leadership transfer as soon as an active voter is caught up.
 * - `passive`: votes and stores the log, never campaigns; as leader (it was not passive when elected),
 *   hands over like a reluctant one.
 */
export type Mode = "active" | "reluctant" | "passive";

/** Who votes and who only listens. Learners receive the log but neither vote in elections nor count for commit. */
export interface ConfigState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * One membership change: a single server at a time.
 * - `add-learner`: a new member that receives the log without voting, or a voter demoted to learner.
 * - `add-voter`: promote a learner that has caught up (new servers join as learners first).
 * - `remove`: drop a voter or a learner.
 */
export interface ConfigChange {
  readonly type: "add-learner" | "add-voter" | "remove";
  readonly node: NodeId;
}

interface EntryBase {
  readonly index: number;
  readonly term: number;
}

/** A command for the application's state machine. */
export interface NormalEntry extends EntryBase {
  readonly kind: "normal";
  readonly data: Uint8Array;
}

/** Appended by every new leader so that entries of earlier terms can commit (Figure 8); nothing to apply. */
export interface NoopEntry extends EntryBase {
  readonly kind: "noop";
}

/**
 * A membership change. It carries the whole resulting configuration, so a node's configuration is simply
 * that of the last configuration entry in its log (or its snapshot's), and undoing a truncated change
 * needs no replay.
 */
export interface ConfigEntry extends EntryBase {
  readonly kind: "config";
  readonly change: ConfigChange;
  readonly config: ConfigState;
}

export type Entry = NormalEntry | NoopEntry | ConfigEntry;

/** What must be on disk before a node answers anything: its term, its vote in that term and its commit index. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** The state machine as of `index` (term `term`), with the membership in force at that index. */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  readonly config: ConfigState;
  readonly data: Uint8Array;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; for a pre-vote, the term the sender would campaign in. */
  readonly term: number;
}

/** AppendEntries: `entries` follow (prevIndex, prevTerm); `commit` is the leader's commit index. */
export interface AppendMessage extends MessageBase {
  readonly type: "append";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * The answer to an append or a snapshot. Accepted: `index` is the last index now known to match the leader.
 * Rejected: `index` is the rejected prevIndex, and (rejectHint, rejectTerm) the follower's best guess of
 * where their logs may still match. `mode` tells the leader the follower's candidacy policy.
 */
export interface AppendResponseMessage extends MessageBase {
  readonly type: "append-response";
  readonly index: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly rejectTerm: number;
  readonly mode: Mode;
}

/** The leader is alive; `commit` is at most what this follower is known to hold. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: "heartbeat";
  readonly commit: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: "heartbeat-response";
  readonly mode: Mode;
}

/**
 * RequestVote (and its dry run, PreVote): the candidate's last log position, whether a leadership transfer
 * asked for it (voters then ignore their leader lease and reluctance rules) and its mode.
 */
export interface VoteMessage extends MessageBase {
  readonly type: "vote" | "pre-vote";
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly transfer: boolean;
  readonly mode: Mode;
}

export interface VoteResponseMessage extends MessageBase {
  readonly type: "vote-response" | "pre-vote-response";
  readonly reject: boolean;
}

/** InstallSnapshot: the whole state machine, for a follower whose next entry was compacted away. */
export interface SnapshotMessage extends MessageBase {
  readonly type: "snapshot";
  readonly snapshot: Snapshot;
}

/** Leadership transfer: "campaign now" (skips PreVote, overrides voters' leader lease). */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: "timeout-now";
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage;

export type MessageType = Message["type"];

export const MESSAGE_TYPES: readonly MessageType[] = [
  "append",
  "append-response",
  "heartbeat",
  "heartbeat-response",
  "vote",
  "pre-vote",
  "vote-response",
  "pre-vote-response",
  "snapshot",
  "timeout-now",
];

/** Distributes `Omit` over a union, so each message variant keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A message before the sender fills in `from` (and, for most types, `term`). */
export type OutgoingMessage = DistributiveOmit<Message, "from" | "term"> & { term?: number };

export const EMPTY_CONFIG: ConfigState = Object.freeze({ voters: [], learners: [] });

/** Bytes an entry costs in a message or on disk, roughly: its payload plus a fixed header. */
export function entryBytes(entry: Entry): number {
  const header = 24;
  switch (entry.kind) {
    case "normal":
      return header + entry.data.byteLength;
    case "noop":
      return header;
    case "config":
      return header + 16 * (entry.config.voters.length + entry.config.learners.length + 1);
  }
}

export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entryBytes(entry);
  return total;
}
