// Membership, one server at a time, through the log.
//
// The rule (Raft thesis §4.1): a configuration entry takes effect on each node as soon as it is in that
// node's log (appended), not when it commits or is applied. We chose this over etcd's "when applied"
// because a node's configuration then always agrees with its log: elections compare logs, so a node whose
// log lacks a committed change also loses the vote of the majority that holds it. With "when applied", a
// node that holds a change but has not applied it yet still counts votes with the older configuration,
// which is unsafe once two changes have committed that it has not applied. The price is that truncating
// an uncommitted configuration entry undoes it, hence the history kept here.
//
// Two guards make single-server changes safe (enforced by the leader, in raft.ts):
// - one change at a time: no new change while the last one in the log is uncommitted;
// - a new leader proposes a change only after an entry of its own term has committed (the fix for the
//   single-server change bug Ongaro described on raft-dev in 2015).

import { assert } from "./assert.ts";
import type { ConfigChange, ConfigState, Entry, NodeId, Snapshot } from "./types.ts";

export type ChangeRefusal =
  | "already-voter"
  | "already-learner"
  | "not-a-learner"
  | "unknown-node"
  | "last-voter"
  | "malformed-change";

export type ChangeResult = { ok: true; config: ConfigState } | { ok: false; reason: ChangeRefusal };

export function isVoter(config: ConfigState, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isLearner(config: ConfigState, id: NodeId): boolean {
  return config.learners.includes(id);
}

export function isMember(config: ConfigState, id: NodeId): boolean {
  return isVoter(config, id) || isLearner(config, id);
}

/** Voters and learners, each list sorted so configurations compare and iterate deterministically. */
export function makeConfig(voters: readonly NodeId[], learners: readonly NodeId[]): ConfigState {
  return { voters: [...new Set(voters)].sort(), learners: [...new Set(learners)].sort() };
}

const without = (ids: readonly NodeId[], id: NodeId) => ids.filter((other) => other !== id);

/** The configuration after `change`, or why the change is not a single-server change of `config`. */
export function applyChange(config: ConfigState, change: ConfigChange): ChangeResult {
  const { node } = change;
  if (typeof node !== "string" || node.length === 0) return { ok: false, reason: "malformed-change" };
  const voter = isVoter(config, node);
  const learner = isLearner(config, node);
  switch (change.type) {
    case "add-learner":
      if (learner) return { ok: false, reason: "already-learner" };
      if (voter && config.voters.length === 1) return { ok: false, reason: "last-voter" };
      return { ok: true, config: makeConfig(without(config.voters, node), [...config.learners, node]) };
    case "add-voter":
      if (voter) return { ok: false, reason: "already-voter" };
      if (!learner) return { ok: false, reason: "not-a-learner" };
      return { ok: true, config: makeConfig([...config.voters, node], without(config.learners, node)) };
    case "remove":
      if (learner) return { ok: true, config: makeConfig(config.voters, without(config.learners, node)) };
      if (!voter) return { ok: false, reason: "unknown-node" };
      if (config.voters.length === 1) return { ok: false, reason: "last-voter" };
      return { ok: true, config: makeConfig(without(config.voters, node), config.learners) };
    default:
      return { ok: false, reason: "malformed-change" };
  }
}

export function sameConfig(a: ConfigState, b: ConfigState): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]) =>
    x.length === y.length && x.every((id, i) => id === y[i]);
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}

interface ConfigAt {
  readonly index: number;
  readonly config: ConfigState;
}

/**
 * The configurations a node's log holds: the snapshot's, then one per configuration entry after it.
 * The current configuration is the last one, committed or not.
 */
export class ConfigHistory {
  private history: ConfigAt[];

  constructor(base: ConfigAt) {
    this.history = [{ index: base.index, config: makeConfig(base.config.voters, base.config.learners) }];
  }

  current(): ConfigState {
    return this.history[this.history.length - 1].config;
  }

  /** Index of the entry that made the current configuration (the snapshot's index if none since). */
  currentIndex(): number {
    return this.history[this.history.length - 1].index;
  }

  /** Records the configuration entries among newly appended `entries`. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.kind !== "config") continue;
      assert(entry.index > this.currentIndex(), "configuration entries are appended in index order");
      this.history.push({ index: entry.index, config: entry.config });
    }
  }

  /** Entries from `index` on were replaced: their configurations no longer hold. */
  truncateFrom(index: number): void {
    while (this.history.length > 1 && this.history[this.history.length - 1].index >= index)
      this.history.pop();
    assert(this.history[0].index < index, "the snapshot's configuration is never truncated");
  }

  restore(snapshot: Snapshot): void {
    this.history = [{ index: snapshot.index, config: snapshot.config }];
  }

  /** The configuration in force at `index` (which must not be older than what was forgotten). */
  configAt(index: number): ConfigState {
    for (let i = this.history.length - 1; i >= 0; i -= 1) {
      if (this.history[i].index <= index) return this.history[i].config;
    }
    throw new Error(`the configuration at ${index} was forgotten (oldest kept: ${this.history[0].index})`);
  }

  /** Drops configurations superseded at or before `index` (applied: no snapshot will be taken earlier). */
  forgetUpTo(index: number): void {
    let keepFrom = 0;
    for (let i = 1; i < this.history.length; i += 1) if (this.history[i].index <= index) keepFrom = i;
    if (keepFrom > 0) this.history = this.history.slice(keepFrom);
  }
}
