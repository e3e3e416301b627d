// Every knob of the Raft core, with its unit and default, in one table. `validateRaftConfig` fills
// defaults and rejects bad combinations in sentences (etcd-raft's Config.validate).

import type { Mode, NodeId } from "./types.ts";

export interface RaftConfig {
  /** This node's id; must be unique and never reused. */
  id: NodeId;
  /**
   * Ticks without hearing from a leader before a follower campaigns. The actual timeout is drawn from
   * [electionTicks, 2 * electionTicks) at each reset (a reluctant node adds electionTicks more), so
   * candidates rarely split the vote. Also the leader's CheckQuorum period and its lease.
   */
  electionTicks: number;
  /** Ticks between a leader's heartbeats; much smaller than electionTicks. */
  heartbeatTicks: number;
  /** Run a PreVote round before raising the term, so a node coming back from a partition cannot depose a healthy leader. */
  preVote: boolean;
  /** A leader that has not heard from a quorum for electionTicks steps down; followers then ignore votes while they hear a leader. */
  checkQuorum: boolean;
  /** The local candidacy policy at start; switch with `setMode`. */
  mode: Mode;
  /** Bytes of entries per append message at most (a single larger entry still goes, alone). */
  maxAppendBytes: number;
  /** Append messages in flight per follower at most, in the pipelined (replicate) state. */
  maxInflightAppends: number;
  /** Bytes of entries in flight per follower at most; 0 means only maxInflightAppends bounds it. */
  maxInflightBytes: number;
  /** Bytes of proposed but uncommitted entries a leader accepts at most; further proposals are refused. */
  maxUncommittedBytes: number;
  /** Bytes of committed entries handed out per Ready at most (a single larger entry still goes). */
  maxApplyBytes: number;
  /** A snapshot sent to a follower and not acknowledged within this many ticks is offered again. */
  snapshotRetryTicks: number;
  /** Index the application had already applied when this node (re)started; defaults to the snapshot's index. */
  applied?: number;
}

export const defaultRaftConfig: Readonly<Omit<RaftConfig, "id">> = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  mode: "active",
  maxAppendBytes: 1024 * 1024,
  maxInflightAppends: 256,
  maxInflightBytes: 0,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxApplyBytes: 64 * 1024 * 1024,
  snapshotRetryTicks: 50,
});

export class RaftConfigError extends Error {
  override name = "RaftConfigError";
}

const POSITIVE_INTEGERS = [
  "electionTicks",
  "heartbeatTicks",
  "maxAppendBytes",
  "maxInflightAppends",
  "maxUncommittedBytes",
  "maxApplyBytes",
  "snapshotRetryTicks",
] as const;

const MODES: readonly Mode[] = ["active", "reluctant", "passive"];

/** Fills defaults and checks every field; throws a RaftConfigError that says what is wrong. */
export function validateRaftConfig(input: Partial<RaftConfig> & { id: NodeId }): RaftConfig {
  const config: RaftConfig = { ...defaultRaftConfig, ...input };
  if (typeof config.id !== "string" || config.id.length === 0) {
    throw new RaftConfigError("id must be a non-empty string.");
  }
  for (const field of POSITIVE_INTEGERS) {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RaftConfigError(`${field} must be a positive integer, not ${String(value)}.`);
    }
  }
  if (!Number.isSafeInteger(config.maxInflightBytes) || config.maxInflightBytes < 0) {
    throw new RaftConfigError(
      `maxInflightBytes must be 0 or a positive integer, not ${config.maxInflightBytes}.`,
    );
  }
  if (config.heartbeatTicks >= config.electionTicks) {
    throw new RaftConfigError(
      `heartbeatTicks (${config.heartbeatTicks}) must be smaller than electionTicks (${config.electionTicks}), ` +
        "or followers would time out between heartbeats.",
    );
  }
  if (!MODES.includes(config.mode)) {
    throw new RaftConfigError(`mode must be one of ${MODES.join(", ")}, not ${String(config.mode)}.`);
  }
  if (config.applied !== undefined && (!Number.isSafeInteger(config.applied) || config.applied < 0)) {
    throw new RaftConfigError(`applied must be a non-negative integer, not ${config.applied}.`);
  }
  return config;
}
