// The effect contract between the core and the application (etcd-raft's Ready/Advance). The core never
// does I/O: it hands out one batch, the application performs it in this order, then calls `advance`:
//
//   1. snapshot:  install it (storage.applySnapshot) and restore the state machine from its data;
//   2. entries:   append them to stable storage (an entry at an index already held replaces that suffix);
//   3. hardState: persist it; if mustSync, fsync (1-3) before going on;
//   4. messages:  send them (only now: they may promise what 1-3 wrote, e.g. a vote or an append ack);
//   5. committedEntries: apply them to the state machine, in order;
//   6. advance(ready).
//
// Call `ready()` again only after `advance`. Steps and ticks may happen in between.

import type { Entry, HardState, Message, NodeId, Role, Snapshot } from "./types.ts";

export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

export interface Ready {
  /** Present when the leader or the role changed (volatile: nothing to persist). */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed: persist it. */
  readonly hardState?: HardState;
  /** A snapshot from the leader to install, replacing the log and the state machine. */
  readonly snapshot?: Snapshot;
  /** Entries to append to stable storage. */
  readonly entries: readonly Entry[];
  /** Committed entries to apply (config and noop entries included: the core has already acted on them). */
  readonly committedEntries: readonly Entry[];
  /** Messages to send once the above is persisted. */
  readonly messages: readonly Message[];
  /** True when entries, a snapshot, a new term or a new vote must reach the disk before messages go out. */
  readonly mustSync: boolean;
}

export function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

/** A commit index alone may be lost in a crash (it is learnt again); entries, terms and votes may not. */
export function mustSync(
  previous: HardState,
  next: HardState,
  entryCount: number,
  snapshot: boolean,
): boolean {
  return entryCount > 0 || snapshot || previous.term !== next.term || previous.vote !== next.vote;
}
