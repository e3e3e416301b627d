// Raft's safety properties, checked by the simulator as it goes (after every persisted batch, every
// applied entry and every delivered message). Entries are identified by a chain digest: the digest at
// index i covers every entry up to i, so two equal digests mean two equal prefixes.
//
// - election safety: at most one leader per term;
// - log matching: two logs holding an entry with the same (index, term) hold the same prefix up to it
//   (checked over all time: every (index, term) ever persisted anywhere maps to one digest);
// - leader completeness: a new leader's log holds every entry committed so far;
// - state-machine safety: every node applies, at each index, the entry committed there;
// - committed entries are never lost: what any node ever committed stays committed (same digest at the
//   same index) on every node that commits that index later, across crashes and restarts;
// - terms never go back on a node (across restarts too); votes never change within a term.

import type { Entry, HardState } from "../../src/raft/index.ts";

export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

/** cyrb53: a fast 53-bit string hash (tests only). */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const decoder = new TextDecoder();

export function entryPayload(entry: Entry): string {
  switch (entry.kind) {
    case "normal":
      return decoder.decode(entry.data);
    case "noop":
      return "";
    case "config":
      return `${entry.change.type} ${entry.change.node}`;
  }
}

/** The digest after `entry`, given the digest of everything before it. */
export function chainDigest(previous: number, entry: Entry): number {
  return hash53(`${previous}|${entry.index}|${entry.term}|${entry.kind}|${entryPayload(entry)}`);
}

/** Digest of the founding snapshot (index 1) every bootstrapped node starts from. */
export const GENESIS_DIGEST = hash53("genesis");

export class Invariants {
  private readonly leaders = new Map<number, string>();
  /** "index:term" -> digest, for every entry ever persisted by any node. */
  private readonly digestByEntry = new Map<string, number>();
  /** index -> digest of the entry committed there (as first seen). */
  readonly committed = new Map<number, number>();
  /** index -> payload of the committed entry, for scenario assertions. */
  readonly committedPayloads = new Map<number, string>();
  maxCommitted = 1;
  private readonly termSeen = new Map<string, number>();
  private readonly votes = new Map<string, { term: number; vote: string | null }>();
  checks = 0;

  constructor() {
    this.committed.set(1, GENESIS_DIGEST);
    this.digestByEntry.set("1:1", GENESIS_DIGEST);
  }

  fail(what: string): never {
    throw new InvariantViolation(what);
  }

  /** Election safety. */
  leaderSeen(id: string, term: number): void {
    this.checks += 1;
    const known = this.leaders.get(term);
    if (known === undefined) this.leaders.set(term, id);
    else if (known !== id) this.fail(`election safety: ${known} and ${id} both lead term ${term}`);
  }

  /** Log matching: (index, term) identifies one prefix, forever. */
  entryPersisted(id: string, index: number, term: number, digest: number): void {
    this.checks += 1;
    const key = `${index}:${term}`;
    const known = this.digestByEntry.get(key);
    if (known === undefined) this.digestByEntry.set(key, digest);
    else if (known !== digest)
      this.fail(`log matching: ${id} holds another prefix at ${index} (term ${term})`);
  }

  /** A node's commit index covers `index`, where its log's digest is `digest` (payload for reports). */
  entryCommitted(id: string, index: number, digest: number, payload: string | undefined): void {
    this.checks += 1;
    const known = this.committed.get(index);
    if (known === undefined) {
      this.committed.set(index, digest);
      if (payload !== undefined) this.committedPayloads.set(index, payload);
      if (index > this.maxCommitted) this.maxCommitted = index;
    } else if (known !== digest) {
      this.fail(`committed entry lost or changed: ${id} committed another entry at ${index}`);
    }
  }

  /** State-machine safety: what is applied at `index` is what was committed there. */
  entryApplied(id: string, index: number, digest: number): void {
    this.checks += 1;
    const known = this.committed.get(index);
    if (known === undefined) this.fail(`${id} applied ${index}, which nobody committed`);
    if (known !== digest) this.fail(`state-machine safety: ${id} applied another entry at ${index}`);
  }

  /** Leader completeness: `digestAt(maxCommitted)` of a new leader's log must be the committed one. */
  leaderElected(
    id: string,
    term: number,
    lastIndex: number,
    digestAt: (index: number) => number | undefined,
  ): void {
    this.leaderSeen(id, term);
    const index = this.maxCommitted;
    if (lastIndex < index)
      this.fail(`leader completeness: ${id} (term ${term}) lacks committed entry ${index}`);
    const digest = digestAt(index);
    if (digest !== this.committed.get(index)) {
      this.fail(`leader completeness: ${id} (term ${term}) holds another entry at committed index ${index}`);
    }
  }

  /** Terms only grow; a vote, once cast in a term, stays. */
  hardStatePersisted(id: string, hardState: HardState): void {
    this.checks += 1;
    const term = this.termSeen.get(id) ?? 0;
    if (hardState.term < term)
      this.fail(`${id}'s persisted term went back from ${term} to ${hardState.term}`);
    this.termSeen.set(id, hardState.term);
    const previous = this.votes.get(id);
    if (previous !== undefined && previous.term === hardState.term && previous.vote !== null) {
      if (hardState.vote !== previous.vote) {
        this.fail(
          `${id} changed its vote in term ${hardState.term} from ${previous.vote} to ${hardState.vote}`,
        );
      }
    }
    this.votes.set(id, { term: hardState.term, vote: hardState.vote });
  }

  /** A live node's term (in memory) never goes below what it persisted. */
  termObserved(id: string, term: number): void {
    const seen = this.termSeen.get(id) ?? 0;
    if (term < seen) this.fail(`${id}'s term went back from ${seen} to ${term}`);
  }
}
