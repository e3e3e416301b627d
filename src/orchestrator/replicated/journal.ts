// A replicated orchestrator's journal, for one leadership: the router's records are proposed to
// Raft, one group commit at a time, and a record is committed once its entry is applied here, that
// is once a majority holds it (docs/raft.md, "Replicated orchestrators"). Lost leadership fails
// the journal for good: this router stops taking jobs, and the node stops it.
import type { JournalRecord, SegmentDamage } from "../../journal/index.ts";
import { encodeRecord } from "../../journal/index.ts";
import type { RaftNode } from "../../raft/node/index.ts";
import { type JournalCounters, newJournalCounters } from "../durable.ts";
import type { ShellJournal } from "../journal-driver.ts";
import { encodeBatch } from "./book.ts";

/** A group commit is split into entries of at most this many bytes of records. */
const ENTRY_BYTES_MAX = 1024 * 1024;

export class ReplicatedJournal implements ShellJournal {
  appendedSeq = 0;
  committedSeq = 0;
  failure: string | null = null;
  failedSince: number | null = null;
  /** Every failure of this journal is a lost leadership (or the node stopping it). */
  readonly notLeader = true;
  readonly damage: readonly SegmentDamage[] = [];
  readonly counters: JournalCounters = newJournalCounters();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  /** Proposals not applied yet, oldest first: the seq they cover and when they land. */
  private readonly inFlight: Array<{ upTo: number; applied: Promise<void> }> = [];
  private closed = false;

  constructor(
    private readonly node: RaftNode,
    /** The term this journal's leadership began in: a proposal in another term is not ours. */
    private readonly term: number,
  ) {}

  get sizeBytes(): number {
    return 0;
  }

  append(record: JournalRecord): number {
    this.counters.records++;
    const bytes = encodeRecord(record);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    // Pipelined: what is appended while a commit replicates is proposed at the end of this turn,
    // not when that commit lands and the router asks again (one round trip and fsync saved).
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.inFlight.length > 0) this.flush();
      });
    }
    return ++this.appendedSeq;
  }

  /** Proposes what was appended since the last proposal; resolves once a majority has applied it. */
  async commit(): Promise<void> {
    if (this.failure !== null) throw new Error(this.failure);
    this.counters.commits++;
    this.flush();
    const upTo = this.appendedSeq;
    try {
      for (const proposal of [...this.inFlight]) if (proposal.upTo <= upTo) await proposal.applied;
    } catch (error) {
      this.fail((error as Error).message);
      throw error;
    }
    if (this.failure !== null) throw new Error(this.failure);
  }

  /** One group of records proposed (split into entries of at most 1 MiB). */
  private flush(): void {
    if (this.pending.length === 0 || this.failure !== null) return;
    const records = this.pending;
    const upTo = this.appendedSeq;
    this.pending = [];
    this.pendingBytes = 0;
    const applied: Promise<void>[] = [];
    try {
      for (const batch of chunks(records)) {
        const proposal = this.node.propose(encodeBatch(batch));
        if (!proposal.ok) throw new Error(`not the leader any more (${proposal.reason})`);
        if (proposal.term !== this.term) throw new Error(`leadership moved on to term ${proposal.term}`);
        applied.push(proposal.applied);
      }
    } catch (error) {
      this.fail((error as Error).message);
      return;
    }
    const entry = {
      upTo,
      applied: Promise.all(applied).then(
        () => {
          // Raft applies in log order: proposals land in the order they were made.
          if (upTo > this.committedSeq) this.committedSeq = upTo;
          this.inFlight.splice(this.inFlight.indexOf(entry), 1);
        },
        (error: unknown) => {
          this.fail((error as Error).message);
          throw error;
        },
      ),
    };
    entry.applied.catch(() => {}); // awaited by commit(); a failure is kept in `failure` too
    this.inFlight.push(entry);
  }

  private fail(message: string): void {
    if (this.failure !== null) return;
    this.failure = this.closed ? "the journal is closed" : message;
    this.failedSince = Date.now();
    this.counters.failures++;
  }

  /** Log reduction is the Raft node's (snapshots of the book): nothing to do per leadership. */
  async maintain(): Promise<void> {}

  /** A lost leadership does not come back to this router: the node starts a new one. */
  async probe(): Promise<boolean> {
    this.counters.probes++;
    return this.failure === null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail("the journal is closed");
  }
}

function* chunks(records: readonly Buffer[]): Iterable<Buffer[]> {
  let batch: Buffer[] = [];
  let bytes = 0;
  for (const record of records) {
    if (batch.length > 0 && bytes + record.length > ENTRY_BYTES_MAX) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += record.length;
  }
  if (batch.length > 0) yield batch;
}
