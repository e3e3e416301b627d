// The journal's I/O beside the router: appends in the router's numbering, one group commit at a
// time, maintenance (compaction) once a second and, while the disk is failed, a probe about once a
// second. Every outcome goes back to the router as an event; nothing here decides.
import type { JournalRecord, SegmentDamage } from "../journal/index.ts";
import { LATENCY_BUCKETS_MS, LatencyHistogram } from "../tracker/index.ts";
import type { ResolvedConfig } from "./config.ts";
import { JobJournal, type JournalCounters, type Recovery } from "./durable.ts";
import type { RouterEvent } from "./router/types.ts";

/**
 * What the shell needs of a journal: the local one (JobJournal, durable.ts), or a replicated
 * orchestrator's, whose commits go through Raft (replicated/journal.ts).
 */
export interface ShellJournal {
  readonly appendedSeq: number;
  readonly committedSeq: number;
  readonly failure: string | null;
  readonly failedSince: number | null;
  readonly sizeBytes: number;
  readonly damage: readonly SegmentDamage[];
  readonly counters: Readonly<JournalCounters>;
  /** A replicated journal failed because its node no longer leads (refusals say NOT_LEADER). */
  readonly notLeader?: boolean;
  append(record: JournalRecord): number;
  commit(): Promise<void>;
  maintain(live: () => Iterable<JournalRecord>): Promise<void>;
  probe(): Promise<boolean>;
  close(): Promise<void>;
}

/** A journal opened elsewhere, with the replay the router starts from. */
export interface JournalSource {
  journal: ShellJournal;
  recovery: Recovery;
}

/** While the journal is failed, how often probe() tries the disk (each try writes the kept records). */
const PROBE_EVERY_MS = 1000;
/** How often maintain() may compact. */
const MAINTAIN_EVERY_MS = 1000;

export interface JournalDriverPorts {
  /** Steps the router now (from a callback: a commit landed, a probe succeeded). */
  step(event: RouterEvent): void;
  /** Steps the router once the effects being performed are done (from inside perform). */
  raise(event: RouterEvent): void;
  /** False once the orchestrator stops: late callbacks are dropped. */
  running(): boolean;
}

export class JournalDriver {
  /** How long group commits take, from the call to the records on disk (or on a majority). */
  readonly commitLatency = new LatencyHistogram();
  private commitRunning = false;
  private probing = false;
  private lastProbeAt = 0;
  private lastMaintainAt = 0;

  private constructor(
    readonly journal: ShellJournal,
    private readonly ports: JournalDriverPorts,
  ) {}

  /** Opens the journal (repairing what a crash left) and hands its replay to the router. */
  static open(
    config: NonNullable<ResolvedConfig["journal"]>,
    log: (line: string) => void,
    ports: JournalDriverPorts,
  ): JournalDriver {
    const [journal, recovery] = JobJournal.open(config, log, Date.now());
    return JournalDriver.attach({ journal, recovery }, ports);
  }

  /** Drives a journal opened elsewhere (a replicated orchestrator's), starting from its replay. */
  static attach({ journal, recovery }: JournalSource, ports: JournalDriverPorts): JournalDriver {
    ports.step({
      kind: "recovered",
      unfinished: recovery.unfinished,
      finished: recovery.finished,
      appendedSeq: journal.appendedSeq,
      records: recovery.records,
      badRecords: recovery.badRecords,
      operator: recovery.operator,
    });
    return new JournalDriver(journal, ports);
  }

  /** status().journal: the journal's own figures with the router's (retention, recovery). */
  status<RouterFigures extends object>(dir: string | undefined, router: RouterFigures, expired: number) {
    const { journal, commitLatency } = this;
    return {
      dir,
      committedSeq: journal.committedSeq,
      appendedSeq: journal.appendedSeq,
      // Cumulative counts at LATENCY_BUCKETS_MS, count and sum (dsat_journal_commit_seconds).
      commitLatency: {
        count: commitLatency.count,
        sumMs: commitLatency.sumMs,
        buckets: commitLatency.cumulativeAtMs(LATENCY_BUCKETS_MS),
      },
      sizeBytes: journal.sizeBytes,
      ...router,
      ...journal.counters,
      expired,
      damage: journal.damage,
    };
  }

  /** The router numbers records as the journal does; a record the journal cannot take breaks that. */
  append(record: JournalRecord, seq: number): void {
    if (this.journal.append(record) !== seq)
      this.ports.raise({ kind: "journal-failed", error: this.journal.failure ?? "journal record refused" });
  }

  /** A group commit; the router hears when it lands or fails. */
  commit(): void {
    const { journal, ports } = this;
    if (this.commitRunning || !ports.running()) return;
    if (journal.failure !== null) {
      ports.raise({ kind: "journal-failed", error: journal.failure, notLeader: journal.notLeader === true });
      return;
    }
    this.commitRunning = true;
    const startedAt = performance.now();
    journal.commit().then(
      () => {
        this.commitRunning = false;
        this.commitLatency.record(performance.now() - startedAt);
        if (ports.running()) ports.step({ kind: "journal-committed", committedSeq: journal.committedSeq });
      },
      (error: unknown) => {
        this.commitRunning = false;
        if (ports.running())
          ports.step({
            kind: "journal-failed",
            error: (error as Error).message,
            notLeader: journal.notLeader === true,
          });
      },
    );
  }

  /** Each tick: compaction when due; while `failure` is set, a probe when due. */
  tick(now: number, failure: string | null, liveRecords: () => Iterable<JournalRecord>): void {
    const { journal, ports } = this;
    if (now - this.lastMaintainAt >= MAINTAIN_EVERY_MS) {
      this.lastMaintainAt = now;
      // A compaction starts at once and numbers the records it rewrites after the last one.
      const appendedBefore = journal.appendedSeq;
      journal
        .maintain(liveRecords)
        .catch((error: unknown) => ports.step({ kind: "journal-failed", error: (error as Error).message }));
      const rewritten = journal.appendedSeq - appendedBefore;
      if (rewritten > 0) ports.step({ kind: "journal-compacted", records: rewritten });
    }
    if (failure === null || this.probing || now - this.lastProbeAt < PROBE_EVERY_MS) return;
    this.lastProbeAt = now;
    this.probing = true;
    const failedSince = journal.failedSince ?? now;
    void journal.probe().then((resumed) => {
      this.probing = false;
      if (!ports.running() || !resumed) return;
      ports.step({
        kind: "journal-resumed",
        committedSeq: journal.committedSeq,
        downMs: Date.now() - failedSince,
      });
    });
  }
}
