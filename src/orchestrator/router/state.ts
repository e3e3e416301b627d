// The router's state: every job, satellite and table in one place, with the few helpers every
// part uses (effects, the journal's numbering, the finished book, the tracker's clock). The parts
// of the router are functions over it (router.ts lists them).
import {
  type CompletedRecord,
  type JournalRecord,
  type OperatorRecord,
  trimFinished,
} from "../../journal/core.ts";
import { ErrorCode, type ErrorCodeName } from "../../protocol/index.ts";
import { RefusalLimiter } from "../../security/core.ts";
import { Tracker, type TrackerEvent } from "../../tracker/index.ts";
import { RecencyMap } from "../../util/index.ts";
import { type AdmissionContext, ChallengeBook } from "../admission.ts";
import type { ResolvedConfig } from "../config.ts";
import { type Job, type PendingReply, SessionOwners } from "../job.ts";
import type { JobSpill } from "../job-spill.ts";
import { PeerGuard } from "../peer-guard.ts";
import type { TypePlacement } from "../placement.ts";
import { SatelliteRegistry } from "../registry.ts";
import { FrontendOutbox } from "../replies.ts";
import { pipelineOf, type ResolvedTypeConfig } from "../type-config.ts";
import type { EventFields, EventTopic, ResultFields } from "./events.ts";
import { ScoreBook } from "./scores.ts";
import { NO_STEPS, tickPeriodMs } from "./shared.ts";
import type { RouterCounters, RouterEffect, RouterPorts } from "./types.ts";

export class RouterState {
  readonly config: ResolvedConfig;

  /** config.fencingEpoch: the leadership term of a replicated orchestrator, 0 otherwise (shared.ts). */
  get fencingEpoch(): number {
    return this.config.fencingEpoch;
  }

  readonly registry: SatelliteRegistry;

  /** Types the topology declares; satellites may bring others only with dynamicTypes. */
  readonly declaredTypes: ReadonlySet<string>;

  /** Types learnt from satellites (dynamicTypes), evicted once nothing serves or waits for them. */
  readonly dynamicTypes = new Set<string>();

  /** What admission.ts needs to judge a READY. */
  readonly admissionContext: AdmissionContext;

  readonly jobs = new Map<string, Job>();

  /**
   * The job the tracker follows under `trackerId` (its id at step 0, "<id>/<step>" after), found in
   * the job book itself: the book is the one table keyed by job (a second map cost ~60 bytes a job).
   */
  trackedJob(trackerId: string): Job | undefined {
    let job = this.jobs.get(trackerId);
    if (job === undefined || job.trackerId !== trackerId) {
      const slash = trackerId.lastIndexOf("/");
      job = slash < 0 ? undefined : this.jobs.get(trackerId.slice(0, slash));
    }
    return job?.tracked && job.trackerId === trackerId ? job : undefined;
  }

  readonly placements = new Map<string, TypePlacement>();

  /** The job state machine: attempts, timeouts, retries, breakers, stats (src/tracker). */
  readonly tracker: Tracker;

  /** Replies to clients and job batches to satellites, gathered until takeEffects(). */
  readonly outbox: FrontendOutbox;

  effects: RouterEffect[] = [];

  nextJobNumber = 1;

  /** The time of the event being stepped (the only clock the router has). */
  now = 0;

  readonly counters: RouterCounters = {
    malformed: { frontend: 0, intake: 0, control: 0, events: 0 },
    tooLarge: 0,
    lateResults: 0,
    dropped: 0,
    satellitesLost: 0,
    satellitesRefused: 0,
    satellitesResumed: 0,
    security: {
      refused: 0,
      satelliteKeyRefused: 0,
      peersBlocked: 0,
      droppedWhileBlocked: 0,
      clientInFlightRefused: 0,
      foreignJobRefused: 0,
      clientBytesRefused: 0,
      slowReaderRefused: 0,
      controlRefused: 0,
      eventSubscribersDropped: 0,
    },
    resubmissions: { attached: 0, answered: 0 },
    recovered: 0,
    ownStalls: 0,
    waitingRoomFull: 0,
    bytesRefused: 0,
    finishedExpired: 0,
    tracesDropped: 0,
    badLoads: 0,
    locality: { local: 0, rack: 0, remote: 0, inputsLocal: 0, inputsRack: 0, inputsRemote: 0 },
  };

  /** A journal is configured: acceptances and replies wait for their records' group commit. */
  readonly durable: boolean;

  /**
   * Finished jobs kept for resubmissions, titanic.reply, `dsat jobs` and `dsat retry`, in the
   * order they ended: every one with a journal (within retention), Titanic's only without.
   */
  readonly finished = new RecencyMap<string, CompletedRecord>();
  /** Operators' decisions in force, by what they decide on (operator.ts): journaled, replayed. */
  readonly operatorDecisions = new Map<string, OperatorRecord>();

  /** The seq of the last record this router asked to append, and of the last one on disk. */
  appendedSeq = 0;

  committedSeq = 0;

  /** A commit was asked for and has not landed yet. */
  commitRequested = false;

  /**
   * Jobs whose candidates are all full wait here, per type: on disk (docs/journal.md "Disk spill")
   * or, without a disk spill, in memory up to limits.waitingBytesMax (waiting-room.ts).
   */
  readonly spill: JobSpill;

  diskSpillError: string | null = null;

  /** Accepted jobs waiting for their journal record to reach the disk, in journal order. */
  awaitingCommit: Job[] = [];

  /** Replies waiting for their job's completed record to reach the disk, in journal order. */
  repliesAwaitingCommit: PendingReply[] = [];

  /**
   * While the recovery window is open (after a restart on a journal, at most recoveryMs): the jobs
   * held until their type's satellites are back, replayed ones and new ones alike (recovery.ts).
   */
  recovering: Job[] | null = null;

  /** Replayed jobs not placed yet; journal.recovered is published once there are none. */
  replayedWaiting = new Set<Job>();

  recoveryStartedAt = 0;

  readonly refusalEvents: RefusalLimiter;

  readonly guard: PeerGuard;

  /** Nonces sent to connections whose READY must prove a satellite key (CURVE topologies). */
  readonly challenges: ChallengeBook;

  /** Client session tokens -> job owners. */
  readonly owners = new SessionOwners();
  /** Targets an operator drained (`dsat drain`), until undrained (fleet.ts). */
  readonly drainedTargets = new Set<string>();
  /** Satellites' scores: loads, locks (scores.ts). */
  readonly scores = new ScoreBook();

  constructor(
    config: ResolvedConfig,
    readonly ports: RouterPorts,
  ) {
    this.config = config;
    const limits = this.config.limits;
    this.durable = config.journal !== null;
    this.spill = ports.spill;
    this.registry = new SatelliteRegistry({
      satellitesMax: limits.satellitesMax,
      graceMs: limits.heartbeatMs * limits.heartbeatLiveness,
    });
    this.declaredTypes = new Set(this.config.types.keys());
    this.tickMs = tickPeriodMs(limits.heartbeatMs);
    this.refusalEvents = new RefusalLimiter(1000, () => this.now);
    this.challenges = new ChallengeBook(4096, 30_000, ports.randomBytes);
    const router = this;
    this.admissionContext = {
      limits,
      hierarchy: this.config.hierarchy,
      declaresType: (type) => this.declaredTypes.has(type),
      dynamicTypes: this.config.dynamicTypes,
      dynamicTypesKnown: () => this.dynamicTypes.size,
      knowsType: (type) => this.config.types.has(type),
      liveSatellite: (id) => this.registry.byId(id),
      registryRefusal: (id) => this.registry.refusal({ id }),
      get curve() {
        return router.ports.curve();
      },
    };
    this.outbox = new FrontendOutbox(
      (frames) => this.effects.push({ kind: "send", frames }),
      // The outbox publishes only results of published jobs: `result.<type>`.
      (topic, fields) => this.publishEvent(topic as `result.${string}`, fields as unknown as ResultFields),
      this.config.limits.payloadDepthMax,
    );
    const runTimeoutMsByType: Record<string, number> = {};
    const attemptsMaxByType: Record<string, number> = {};
    for (const [name, type] of this.config.types) {
      if (type.runTimeoutMs !== undefined) runTimeoutMsByType[name] = type.runTimeoutMs;
      if (type.attemptsMax !== undefined) attemptsMaxByType[name] = type.attemptsMax;
    }
    const tracker = config.tracker;
    this.tracker = new Tracker(
      {
        placeTimeoutMs: this.config.limits.noSatelliteWaitMs,
        jobsMax: Math.max(this.config.limits.jobsMax * 2, 1024),
        // Its tables are bounded by the orchestrator's: declared and learnt types; satellites live
        // or remembered for an open breaker.
        typesMax: Math.min(65_535, this.config.types.size + this.config.limits.dynamicTypesMax),
        satellitesMax: this.config.limits.satellitesMax * 2,
        ...tracker,
        runTimeoutMsByType: { ...runTimeoutMsByType, ...tracker?.runTimeoutMsByType },
        attemptsMaxByType: { ...attemptsMaxByType, ...tracker?.attemptsMaxByType },
      },
      ports.random,
    );
    this.guard = new PeerGuard({
      malformedMax: limits.malformedPerPeerMax,
      windowMs: limits.malformedWindowMs,
      blockMs: limits.peerBlockMs,
    });
  }

  /** Frames to the frontend: [routing id, ...message]. */
  sendFrames(frames: Buffer[]): void {
    this.effects.push({ kind: "send", frames });
  }

  log(line: string): void {
    this.effects.push({ kind: "log", line });
  }

  /** Asks the shell to append a record; returns the seq the journal gives it (they count alike). */
  append(record: JournalRecord): number {
    const seq = ++this.appendedSeq;
    if (record.k === "completed") this.keepFinished(record);
    this.effects.push({ kind: "journal-append", seq, record });
    // Every record gets to the disk soon, also those nothing waits for (dispatched, forgotten,
    // a pipeline's next step): without a commit they would wait for unrelated traffic.
    this.requestCommit();
    return seq;
  }

  /** Asks the shell for a group commit unless one is under way; what waits on it proceeds then. */
  requestCommit(): void {
    if (!this.durable || this.commitRequested || this.journalError !== null) return;
    this.commitRequested = true;
    this.effects.push({ kind: "journal-commit" });
  }

  /** A finished job kept, newest last; past finishedMax the oldest is forgotten. */
  keepFinished(record: CompletedRecord): void {
    this.finished.set(record.id, record);
    // Without a journal only Titanic's results are kept: as many as jobs may be in flight.
    const max = this.config.journal?.finishedMax ?? this.config.limits.jobsMax;
    this.counters.finishedExpired += trimFinished(this.finished, max);
  }

  /** A finished job's result dropped for good (titanic.close, `dsat retry`). */
  forget(id: string): void {
    if (!this.finished.delete(id)) return;
    if (this.durable) this.append({ k: "forgotten", id });
  }

  journalError: string | null = null;
  /** What a job refused while the journal is failed is told: OVERLOADED, or NOT_LEADER (replicated). */
  journalRefusal: ErrorCodeName = ErrorCode.overloaded;

  journalFailedAt = 0;

  /** Payload bytes of the jobs held (as accepted). */
  heldBytes = 0;

  /** Per type: its name as first seen (jobs share that string) and the pipeline steps after it. */
  readonly pipelines = new Map<string, { readonly name: string; readonly steps: readonly string[] }>();

  private pipeline(type: string): { readonly name: string; readonly steps: readonly string[] } {
    let entry = this.pipelines.get(type);
    if (entry === undefined)
      this.pipelines.set(type, (entry = { name: type, steps: pipelineOf(this.config.types, type) }));
    return entry;
  }

  /** The pipeline steps after `type`: a fresh array only when there are steps. */
  pipelineFor(type: string): string[] {
    const { steps } = this.pipeline(type);
    return steps.length === 0 ? NO_STEPS : [...steps];
  }

  /** The type's name as one shared string: a job keeps it, not its own decoded copy. */
  typeName(type: string): string {
    return this.pipeline(type).name;
  }

  typeConfig(type: string): ResolvedTypeConfig | undefined {
    return this.config.types.get(type);
  }

  /** Who asked for a titanic job, until its acceptance is on disk. */
  readonly titanicRequesters = new Map<string, Buffer>();

  /** Steps the tracker on its own clock (trackerNow). */
  trackerStep(event: TrackerEvent, now: number): void {
    this.tracker.step(event, now - this.stalledMs);
  }

  /** The tracker's clock: wall time less this process's own stalls (noticeOwnStall). */
  trackerNow(now: number): number {
    return now - this.stalledMs;
  }

  /** When the router last ran (any event; ticks come at least every tickMs): a gap is our own stall. */
  lastStepAt = 0;
  /** The next Job.arrival (hold()). */
  nextArrival = 0;

  stalledMs = 0;

  blamelessUntil = 0;

  /** The period of tick(): heartbeats, liveness, timers. */
  readonly tickMs: number;

  lastHeartbeatAt = 0;

  lastMaintainAt = 0;

  lastStatsAt = 0;

  /** An event on the events socket; its fields are the catalogue's for its topic (events.ts). */
  publishEvent<T extends EventTopic>(topic: T, fields: EventFields<T>): void {
    this.effects.push({ kind: "publish", topic, fields: { ...fields, at: this.now } });
  }
}
