// Majority arithmetic over one set of voters (no joint consensus: membership changes one server at a
// time, and any two majorities of configurations that differ by one voter intersect).

import { assert } from "./assert.ts";
import type { NodeId } from "./types.ts";

export type VoteResult = "won" | "lost" | "pending";

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest index that a majority of `voters` has matched. */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  assert(voters.length > 0, "a configuration without voters commits nothing");
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1];
}

/** Won once a majority granted, lost once a majority can no longer grant, pending otherwise. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted += 1;
    else if (vote === false) rejected += 1;
  }
  const quorum = quorumSize(voters.length);
  if (granted >= quorum) return "won";
  if (rejected > voters.length - quorum) return "lost";
  return "pending";
}

/** True when `isActive` holds for a majority of `voters`. */
export function quorumActive(voters: readonly NodeId[], isActive: (id: NodeId) => boolean): boolean {
  let active = 0;
  for (const id of voters) if (isActive(id)) active += 1;
  return active >= quorumSize(voters.length);
}
