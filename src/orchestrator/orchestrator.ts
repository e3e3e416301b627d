// The orchestrator: binds the frontend ROUTER (clients and satellites, 7/MDP + dsat extensions),
// the intake XSUB, the events XPUB and the control ROUTER; places each job with CRUSH and follows
// it to a result. Single-threaded: frames in -> state change -> sends out through one writer per
// socket. Time is handled by one periodic tick (heartbeats, liveness, deadlines); no timer per job.
import { randomUUID } from "node:crypto";
import { chmodSync } from "node:fs";
import { Router, XPublisher, XSubscriber } from "zeromq";
import { hashKey } from "../crush/index.ts";
import type { CompletedRecord, JournalRecord, UnfinishedJob } from "../journal/index.ts";
import {
  DSAT_MARK,
  decode,
  decodeShaped,
  EMPTY,
  ErrorCode,
  type ErrorCodeName,
  encode,
  type FrontendMessage,
  inputShapes,
  isJobEntry,
  type JobEntry,
  jobAddress,
  jobRequestFrames,
  MDP_WORKER,
  parseFrontend,
  parseIntakeHeader,
  parseJobAddress,
  plainClientReplyFrames,
  plainJobRequestFrames,
  type RequestEntry,
  type SatelliteHello,
  WorkerCommand,
  workerCommandFrames,
} from "../protocol/index.ts";
import { ControlProofVerifier, RefusalLimiter, ZAP_DOMAIN, ZapHandler } from "../security/index.ts";
import {
  type Outcome,
  type SubmitEvent,
  Tracker,
  type TrackerEffect,
  type TrackerEvent,
} from "../tracker/index.ts";
import { SocketWriter } from "../transport/index.ts";
import { type AdmissionContext, admit, ChallengeBook, isReservedService } from "./admission.ts";
import {
  type OrchestratorConfig,
  pipelineOf,
  type ResolvedConfig,
  type ResolvedTypeConfig,
  resolveConfig,
  resolveType,
} from "./config.ts";
import { answerControl, type ControlHandlers, controlReplyFrames, parseControlRequest } from "./control.ts";
import { authorizeControl, type ControlKeys, forbiddenReply } from "./control-auth.ts";
import { JobJournal } from "./durable.ts";
import { EVENTS_UPSTREAM_BYTES_MAX, EVENTS_UPSTREAM_HWM, EventSubscriptions } from "./event-subscriptions.ts";
import {
  bytesOf,
  finishedState,
  type Job,
  type JobSummary,
  NULL_PAYLOAD,
  type Origin,
  originFromJournal,
  originToJournal,
  ownerFromJournal,
  type PendingReply,
  PUBLISH_OWNER,
  routeOwner,
  SessionOwners,
  sameOrigin,
  singleFrame,
  TITANIC_OWNER,
} from "./job.ts";
import { JOBS_PAGE_DEFAULT, type JobsPage, jobsPage, parseJobsPage } from "./jobs-page.ts";
import { PeerGuard } from "./peer-guard.ts";
import { TypePlacement } from "./placement.ts";
import { RECOVERY_POLL_MS, satellitesBack } from "./recovery.ts";
import { type SatelliteInfo, SatelliteRegistry } from "./registry.ts";
import { FrontendOutbox } from "./replies.ts";
import { DiskSpill, DiskSpillReadError } from "./spill.ts";
import { type JobSpill, WaitingRoom, WaitingRoomFullError } from "./waiting-room.ts";

interface OrchestratorCounters {
  malformed: { frontend: number; intake: number; control: number; events: number };
  tooLarge: number;
  lateResults: number;
  dropped: number;
  satellitesLost: number;
  /** READYs refused (reserved or undeclared types, bounds, keys); security ones are also counted below. */
  satellitesRefused: number;
  /** Satellite processes that reconnected and carried on with their jobs (same id and incarnation). */
  satellitesResumed: number;
  security: {
    /** Handshakes refused (ZAP: unknown key or mechanism; plain peers on a CURVE socket). */
    refused: number;
    /** Satellites refused at READY for their key (missing, unproven, not allowed for a type). */
    satelliteKeyRefused: number;
    /** Peers blocked for sending too many malformed messages, and messages dropped from them. */
    peersBlocked: number;
    droppedWhileBlocked: number;
    /** Requests refused with OVERLOADED for a client's in-flight limit. */
    clientInFlightRefused: number;
    /** Requests naming another client's job id (answered DSAT_ERR_NOT_FOUND). */
    foreignJobRefused: number;
    /** Requests refused OVERLOADED for the client's bytes in flight (limits.clientBytesMax). */
    clientBytesRefused: number;
    /** Requests refused OVERLOADED because the client was not reading its replies. */
    slowReaderRefused: number;
    /** Control requests refused for their sender's role or signature (DSAT_ERR_FORBIDDEN). */
    controlRefused: number;
    /** Times every events subscriber was dropped for the subscription caps (event-subscriptions.ts). */
    eventSubscribersDropped: number;
  };
  /** Requests naming a job id already live (attached to it) or finished (answered from the journal). */
  resubmissions: { attached: number; answered: number };
  /** Jobs replayed from the journal at start. */
  recovered: number;
  /** Times this process's own event loop stalled past a heartbeat (noticeOwnStall). */
  ownStalls: number;
  /** Jobs refused a place in the waiting room for its byte budget (limits.waitingBytesMax). */
  waitingRoomFull: number;
  /** Jobs refused OVERLOADED for the bytes all jobs hold (limits.jobsBytesMax). */
  bytesRefused: number;
}

export class Orchestrator {
  readonly config: ResolvedConfig;
  private frontend: Router | null = null;
  private intake: XSubscriber | null = null;
  private events: XPublisher | null = null;
  private control: Router | null = null;
  private frontendWriter: SocketWriter | null = null;
  private eventsWriter: SocketWriter | null = null;
  private controlWriter: SocketWriter | null = null;
  readonly registry: SatelliteRegistry;
  /** Types the topology declares; satellites may bring others only with dynamicTypes. */
  private readonly declaredTypes: ReadonlySet<string>;
  /** Types learnt from satellites (dynamicTypes), evicted once nothing serves or waits for them. */
  private readonly dynamicTypes = new Set<string>();
  /** What admission.ts needs to judge a READY. */
  private readonly admissionContext: AdmissionContext;
  private readonly jobs = new Map<string, Job>();
  /** Tracker job id -> job (the same object as in `jobs`; pipeline steps have ids of their own). */
  private readonly trackerJobs = new Map<string, Job>();
  private readonly placements = new Map<string, TypePlacement>();
  /** The job state machine: attempts, timeouts, retries, breakers, stats (src/tracker). */
  readonly tracker: Tracker;
  /** Satellites whose breaker is open. */
  private readonly breakerOpen = new Set<string>();
  /** Half-open satellites: true while their one probe is out (docs/tracker.md, "Circuit breaker"). */
  private readonly halfOpen = new Map<string, boolean>();
  /** Replies to clients and job batches to satellites, sent once per event-loop turn. */
  private readonly outbox: FrontendOutbox;
  private tickTimer: NodeJS.Timeout | null = null;
  private nextJobNumber = 1;
  private readonly instance = Date.now().toString(36);
  private running = false;
  readonly counters: OrchestratorCounters = {
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
  };
  /** The durable journal (null when the topology has none): docs/journal.md. */
  journal: JobJournal | null = null;
  /**
   * Jobs whose candidates are all full wait here, per type: on disk (docs/journal.md "Disk spill")
   * or, without a disk spill, in memory up to limits.waitingBytesMax (waiting-room.ts).
   */
  private spill: JobSpill;
  private diskSpillError: string | null = null;
  /** Finished jobs kept without a journal: titanic's results only. */
  private readonly finishedInMemory = new Map<string, CompletedRecord>();
  /** Accepted jobs waiting for their journal record to reach the disk, in journal order. */
  private awaitingCommit: Job[] = [];
  /** Replies waiting for their job's completed record to reach the disk, in journal order. */
  private repliesAwaitingCommit: PendingReply[] = [];
  private commitRunning = false;
  /**
   * While the recovery window is open (after a restart on a journal, at most recoveryMs): the jobs
   * held until their type's satellites are back, replayed ones and new ones alike (recovery.ts).
   */
  private recovering: Job[] | null = null;
  /** Replayed jobs not placed yet; journal.recovered is published once there are none. */
  private replayedWaiting = new Set<Job>();
  private recoveryTimer: NodeJS.Timeout | null = null;
  private recoveryStartedAt = 0;
  /** ZAP handler and allow-lists (null without security). */
  zap: ZapHandler | null = null;
  /** Allow-lists and proof checker for control requests (null without security: all are admins). */
  private controlKeys: ControlKeys | null = null;
  private readonly refusalEvents = new RefusalLimiter();
  private readonly guard: PeerGuard;

  constructor(config: OrchestratorConfig) {
    this.config = resolveConfig(config);
    const limits = this.config.limits;
    this.registry = new SatelliteRegistry({
      satellitesMax: limits.satellitesMax,
      graceMs: limits.heartbeatMs * limits.heartbeatLiveness,
    });
    this.declaredTypes = new Set(this.config.types.keys());
    this.tickMs = Math.max(10, Math.min(limits.heartbeatMs, 100));
    this.spill = new WaitingRoom(limits.waitingBytesMax);
    const orchestrator = this;
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
        return orchestrator.curveAdmission();
      },
    };
    this.outbox = new FrontendOutbox(
      (topic, fields) => this.publishEvent(topic, fields),
      this.config.limits.payloadDepthMax,
    );
    const runTimeoutMsByType: Record<string, number> = {};
    const attemptsMaxByType: Record<string, number> = {};
    for (const [name, type] of this.config.types) {
      if (type.runTimeoutMs !== undefined) runTimeoutMsByType[name] = type.runTimeoutMs;
      if (type.attemptsMax !== undefined) attemptsMaxByType[name] = type.attemptsMax;
    }
    this.tracker = new Tracker(
      {
        placeTimeoutMs: this.config.limits.noSatelliteWaitMs,
        jobsMax: Math.max(this.config.limits.jobsMax * 2, 1024),
        // Its tables are bounded by the orchestrator's: declared and learnt types; satellites live
        // or remembered for an open breaker.
        typesMax: Math.min(65_535, this.config.types.size + this.config.limits.dynamicTypesMax),
        satellitesMax: this.config.limits.satellitesMax * 2,
        ...config.tracker,
        runTimeoutMsByType: { ...runTimeoutMsByType, ...config.tracker?.runTimeoutMsByType },
        attemptsMaxByType: { ...attemptsMaxByType, ...config.tracker?.attemptsMaxByType },
      },
      Math.random,
    );
    this.guard = new PeerGuard({
      malformedMax: limits.malformedPerPeerMax,
      windowMs: limits.malformedWindowMs,
      blockMs: limits.peerBlockMs,
    });
  }

  /** CURVE server options for every bound socket when security is on. */
  private serverOptions(): { curveServer?: boolean; curveSecretKey?: string; zapDomain?: string } {
    const security = this.config.security;
    if (security === null) return {};
    return { curveServer: true, curveSecretKey: security.serverKey.secretKey, zapDomain: ZAP_DOMAIN };
  }

  private async bindAll(socket: Router | XSubscriber | XPublisher, endpoints: string[]): Promise<void> {
    for (const endpoint of endpoints) {
      await bindRetrying(socket, endpoint);
      // ipc: only this user may connect (the socket file's mode; abstract sockets have none).
      if (endpoint.startsWith("ipc://") && !endpoint.startsWith("ipc://@"))
        chmodSync(endpoint.slice("ipc://".length), 0o600);
    }
    if (this.config.security !== null) {
      // A peer without CURVE never reaches ZAP: count it from the socket's handshake errors.
      socket.events.on("handshake:error:protocol", (event) =>
        this.onRefused({
          mechanism: "NULL?",
          address: event.address,
          reason: "handshake failed (no CURVE?)",
        }),
      );
    }
  }

  private onRefused(refusal: { mechanism: string; address: string; reason: string }): void {
    this.counters.security.refused++;
    // At most one event per address per second; `muted` says how many were left out since.
    const muted = this.refusalEvents.allow(refusal.address);
    if (muted !== null) this.publishEvent("security.refused", { ...refusal, muted });
  }

  /** Re-reads the allow-lists (control command "reload-keys"). */
  reloadKeys(): { admins: number; clients: number; satellites: number; problems: string[] } {
    if (this.zap === null) return { admins: 0, clients: 0, satellites: 0, problems: ["security is off"] };
    const problems = this.zap.reload();
    const { admins, clients, satellites } = this.zap;
    return { admins: admins.size, clients: clients.size, satellites: satellites.size, problems };
  }

  async start(): Promise<void> {
    const limits = this.config.limits;
    if (this.config.diskSpill !== null) this.spill = new DiskSpill(this.config.diskSpill.dir);
    if (this.config.journal !== null) this.recover(this.config.journal);
    // libzmq drops (and disconnects) beyond twice our limit; between the two we answer TOO_LARGE.
    const maxMessageSize = limits.messageBytesMax * 2 + 4096;
    const security = this.config.security;
    if (security !== null) {
      this.zap = new ZapHandler({
        adminKeysDir: security.adminKeysDir,
        clientKeysDir: security.clientKeysDir,
        satelliteKeysDir: security.satelliteKeysDir,
        onRefused: (refusal) => this.onRefused(refusal),
        log: this.config.log,
      });
      await this.zap.start();
    }
    const curve = this.serverOptions();
    this.frontend = new Router({
      ...curve,
      mandatory: true,
      sendTimeout: 0,
      linger: 0,
      maxMessageSize,
      // Per peer pipe, in messages: what a peer that stops reading can make libzmq hold. Batches
      // are bounded in entries and bytes, so this bounds its bytes (docs/security.md "Threats").
      sendHighWaterMark: FRONTEND_SEND_HWM,
      receiveHighWaterMark: 100_000,
    });
    await this.bindAll(this.frontend, this.config.frontend);
    this.frontendWriter = new SocketWriter(this.frontend, {
      // Per peer: a client or satellite that stops reading loses its own messages, nobody else's.
      backlogMax: 50_000,
      backlogBytesMax: PEER_BACKLOG_BYTES_MAX,
      backlogBytesTotalMax: BACKLOG_BYTES_TOTAL_MAX,
      perPeer: true,
      retryMs: 1,
      onDrop: (frames, reason) => {
        this.counters.dropped++;
        if (reason === "unroutable" && frames[0] !== undefined) {
          this.onPeerGone(frames[0]);
          this.onUndelivered(frames);
        }
      },
    });
    this.outbox.writer = this.frontendWriter;
    if (this.config.intake.length > 0) {
      this.intake = new XSubscriber({ ...curve, linger: 0, maxMessageSize, receiveHighWaterMark: 100_000 });
      await this.bindAll(this.intake, this.config.intake);
      // Subscribe to every topic on every connected publisher.
      await this.intake.send(Buffer.from([1]));
    }
    let subscriptions: EventSubscriptions | null = null;
    if (this.config.events.length > 0) {
      // Subscribers only send (un)subscriptions, a topic each: maxMessageSize refuses any longer than
      // the longest topic, and EventSubscriptions caps them all together (event-subscriptions.ts).
      const events = new XPublisher({
        ...curve,
        linger: 0,
        sendTimeout: 0,
        sendHighWaterMark: 100_000,
        maxMessageSize: EVENTS_UPSTREAM_BYTES_MAX,
        // Few subscriptions at a time reach libzmq's trie between two of our reads (the caps' lag).
        receiveHighWaterMark: EVENTS_UPSTREAM_HWM,
      });
      this.events = events;
      await this.bindAll(events, this.config.events);
      this.eventsWriter = new SocketWriter(events, { backlogMax: 10_000, retryMs: 5, onDrop: () => {} });
      subscriptions = new EventSubscriptions({
        socket: events,
        endpoints: this.config.events,
        rebind: async (endpoint) => {
          await bindRetrying(events, endpoint);
          if (endpoint.startsWith("ipc://") && !endpoint.startsWith("ipc://@"))
            chmodSync(endpoint.slice("ipc://".length), 0o600);
        },
        subscriptionsMax: limits.eventSubscriptionsMax,
        subscriptionBytesMax: limits.eventSubscriptionBytesMax,
        onDrop: (reason, muted) => {
          this.counters.security.eventSubscribersDropped++;
          if (muted !== null) this.publishEvent("security.subscriptions-capped", { reason, muted });
        },
        log: this.config.log,
      });
    }
    if (this.config.control.length > 0) {
      this.control = new Router({ ...curve, linger: 0, sendTimeout: 0, maxMessageSize: 65536 });
      await this.bindAll(this.control, this.config.control);
      this.controlWriter = new SocketWriter(this.control, {
        backlogMax: 100,
        perPeer: true,
        retryMs: 5,
        onDrop: () => {},
      });
      if (this.config.controlWarning !== null) this.config.log(`warning: ${this.config.controlWarning}`);
      if (security !== null && this.zap !== null) {
        this.controlKeys = { zap: this.zap, verifier: new ControlProofVerifier(security.serverKey) };
        if (security.adminKeysDir === undefined)
          this.config.log(
            "security: no admin keys (security.admins): control commands jobs, retry, reload-keys and memory are refused",
          );
      }
    }
    this.running = true;
    // Damage recovery set aside (docs/journal.md, "Damage"): logged at open, announced once bound.
    for (const damage of this.journal?.damage ?? []) this.publishEvent("journal.damaged", { ...damage });
    void this.receiveLoop(this.frontend, "frontend", (frames) => this.onFrontend(frames));
    if (this.intake !== null) void this.receiveLoop(this.intake, "intake", (frames) => this.onIntake(frames));
    // The events socket receives subscriptions (libzmq applies them); anything else is counted and dropped.
    // Its own loop: it reads on through the resets that drop every subscriber (event-subscriptions.ts).
    if (subscriptions !== null) void subscriptions.run(() => this.counters.malformed.events++);
    if (this.control !== null)
      void this.receiveLoop(this.control, "control", (frames) => this.onControl(frames));
    this.tickTimer = setInterval(() => this.tick(Date.now()), this.tickMs);
    if (this.recovering !== null) {
      // The window opens now that satellites can reach us; held jobs go as their types come back.
      this.recoveryStartedAt = Date.now();
      this.recoveryTimer = setInterval(() => this.placeRecovered(), RECOVERY_POLL_MS);
    }
  }

  // ---- the journal: recovery and group commit (docs/journal.md) ----

  /** Replays the journal: finished jobs answer resubmissions, unfinished ones run again. */
  private recover(config: NonNullable<ResolvedConfig["journal"]>): void {
    const now = Date.now();
    const [journal, recovery] = JobJournal.open(config, this.config.log, now);
    this.journal = journal;
    const jobs: Job[] = [];
    for (const unfinished of recovery.unfinished) {
      const job = this.jobFromJournal(unfinished);
      if (this.jobs.has(job.id)) continue;
      this.hold(job);
      jobs.push(job);
    }
    this.counters.recovered = jobs.length;
    this.config.log(
      `orchestrator: journal ${config.dir}: ${recovery.records} records, ${jobs.length} unfinished jobs to run again, ${journal.finished.size} finished kept` +
        (recovery.badRecords > 0 ? `, ${recovery.badRecords} unreadable records skipped` : ""),
    );
    // A journal with a past (not a new one) means a restart: satellites and clients come back.
    if (recovery.records > 0) {
      this.recovering = jobs;
      this.replayedWaiting = new Set(jobs);
    }
  }

  private jobFromJournal({ accepted, attempts }: UnfinishedJob): Job {
    return {
      id: accepted.id,
      type: accepted.type,
      firstType: accepted.firstType,
      x: hashKey(accepted.key ?? accepted.id),
      key: accepted.key ?? undefined,
      owner: ownerFromJournal(accepted.origin),
      origin: originFromJournal(accepted.origin),
      waiters: null,
      journalSeq: 0,
      attemptsBefore: attempts,
      payload: accepted.payload,
      heldBytes: bytesOf(accepted.payload),
      raw: accepted.raw,
      trackerId: accepted.id,
      step: accepted.step,
      attempt: 0,
      satellite: null,
      queuedOn: null,
      spilled: null,
      deadlineAt: accepted.deadlineAt,
      receivedAt: accepted.receivedAt,
      steps: accepted.steps,
      result: null,
      placementFailure: null,
      errorCode: null,
      cancelRequested: false,
    };
  }

  /**
   * Places the held jobs whose type's satellites are back; once recoveryMs has passed since the
   * window opened, all of them (the tracker then handles a type nobody serves), and it closes.
   */
  private placeRecovered(): void {
    const held = this.recovering;
    if (held === null) return;
    const now = Date.now();
    const over = now - this.recoveryStartedAt >= (this.config.journal?.recoveryMs ?? 0);
    const back = new Map<string, boolean>();
    const placing: Job[] = [];
    const still: Job[] = [];
    for (const job of held) {
      if (this.jobs.get(job.id) !== job) {
        this.replayedWaiting.delete(job);
        continue;
      }
      let go = back.get(job.type);
      if (go === undefined) back.set(job.type, (go = over || this.typeBack(job.type, now)));
      (go ? placing : still).push(job);
    }
    this.recovering = over ? null : still;
    if (over && this.recoveryTimer !== null) {
      clearInterval(this.recoveryTimer);
      this.recoveryTimer = null;
    }
    const replayedBefore = this.replayedWaiting.size;
    for (const job of placing) {
      this.replayedWaiting.delete(job);
      this.submitStep(job, now);
    }
    if (over) this.replayedWaiting.clear();
    if (replayedBefore > 0 && this.replayedWaiting.size === 0) {
      const afterMs = now - this.recoveryStartedAt;
      this.config.log(
        `orchestrator: ${this.counters.recovered} replayed jobs placed ${afterMs} ms after binding` +
          (over ? " (recoveryMs passed)" : " (their satellites are back)"),
      );
      this.publishEvent("journal.recovered", { jobs: this.counters.recovered, afterMs });
    }
  }

  /** During the recovery window: whether jobs of `type` can be placed (recovery.ts). */
  private typeBack(type: string, now: number): boolean {
    return satellitesBack(this.registry.serving(type), now);
  }

  /** Starts a group commit unless one runs; when it lands, what waited on it proceeds. */
  private requestCommit(): void {
    const journal = this.journal;
    if (journal === null || this.commitRunning || !this.running) return;
    if (journal.failure !== null) {
      this.onJournalFailed(new Error(journal.failure));
      return;
    }
    this.commitRunning = true;
    journal.commit().then(this.onCommittedBound, this.onJournalFailedBound);
  }

  private readonly onCommittedBound = () => this.onCommitted();
  private readonly onJournalFailedBound = (error: unknown) => this.onJournalFailed(error);

  private onCommitted(): void {
    this.commitRunning = false;
    const journal = this.journal;
    if (journal === null || !this.running) return;
    const committed = journal.committedSeq;
    const now = Date.now();
    let accepted = 0;
    while (accepted < this.awaitingCommit.length && this.awaitingCommit[accepted].journalSeq <= committed)
      accepted++;
    if (accepted > 0) {
      const jobs = this.awaitingCommit.slice(0, accepted);
      this.awaitingCommit = this.awaitingCommit.slice(accepted);
      for (const job of jobs) {
        if (this.jobs.get(job.id) !== job) continue;
        if (job.origin.kind === "titanic") this.replyTitanicAccepted(job.id);
        // New jobs are held during recovery only while their type's satellites are not back.
        if (this.recovering === null || job.step > 0 || this.typeBack(job.type, now))
          this.submitStep(job, now);
        else this.recovering.push(job);
      }
    }
    let replies = 0;
    while (
      replies < this.repliesAwaitingCommit.length &&
      this.repliesAwaitingCommit[replies].seq <= committed
    )
      replies++;
    if (replies > 0) {
      const ready = this.repliesAwaitingCommit.slice(0, replies);
      this.repliesAwaitingCommit = this.repliesAwaitingCommit.slice(replies);
      for (const reply of ready) this.deliver(reply.job, reply.status, reply.message, reply.result);
    }
    if (journal.appendedSeq > journal.committedSeq) this.requestCommit();
  }

  /**
   * A request naming a job whose completed record is not on disk yet gets the job's own reply,
   * when the commit lands: answering it from the record at once could hand out a result a crash
   * takes back, and the job would run again after its answer. False when no such reply waits.
   */
  private attachToUnwrittenReply(origin: Origin, id: string): boolean {
    const pending = this.repliesAwaitingCommit.find((reply) => reply.job.id === id);
    if (pending === undefined) return false;
    const job = pending.job;
    if (!sameOrigin(job.origin, origin) && !(job.waiters ?? []).some((other) => sameOrigin(other, origin)))
      (job.waiters ??= []).push(origin);
    return true;
  }

  /**
   * A failed disk write: new durable jobs are refused (retryable) until a probe() lands. What waits
   * for the disk keeps waiting: the journal holds those records in memory, in order, and writes them
   * when the disk comes back, so a job is never answered before its completed record is on disk
   * (docs/journal.md, "Write failures and probe()").
   */
  private onJournalFailed(error: unknown): void {
    this.commitRunning = false;
    if (this.journalError !== null) return;
    this.journalError = (error as Error).message;
    this.journalFailedAt = Date.now();
    this.config.log(
      `orchestrator: journal write failed, refusing new jobs until the disk is back: ${this.journalError}`,
    );
    this.publishEvent("journal.failed", { error: this.journalError });
  }

  /** While failed: one probe() about once a second; on success everything that waited proceeds. */
  private probeJournal(now: number): void {
    const journal = this.journal;
    if (journal === null || this.journalError === null || this.probing) return;
    if (now - this.lastProbeAt < JOURNAL_PROBE_EVERY_MS) return;
    this.lastProbeAt = now;
    this.probing = true;
    void journal.probe().then((resumed) => {
      this.probing = false;
      if (!this.running) return;
      if (!resumed) {
        const failure = journal.failure;
        if (failure !== null) this.journalError = failure;
        return;
      }
      const downMs = Date.now() - this.journalFailedAt;
      this.journalError = null;
      this.config.log(`orchestrator: journal writable again after ${downMs} ms, accepting jobs`);
      this.publishEvent("journal.resumed", { downMs });
      this.onCommitted();
    });
  }

  private journalError: string | null = null;
  private journalFailedAt = 0;
  private lastProbeAt = 0;
  private probing = false;

  /** Live jobs as journal records, for compaction: their current step as accepted, and its attempt. */
  private *liveRecords(): Iterable<JournalRecord> {
    for (const job of this.jobs.values()) {
      // A spilled job's payload is on disk, not in the job.
      yield this.acceptedRecord(job.spilled === null ? job : { ...job, payload: this.spilledPayload(job) });
      const attempts = Math.max(job.attempt, job.attemptsBefore);
      if (attempts > 0) {
        const satelliteId = job.satellite?.id ?? "";
        yield { k: "dispatched", id: job.id, step: job.step, attempt: attempts, satelliteId };
      }
    }
  }

  private acceptedRecord(job: Job): JournalRecord {
    return {
      k: "accepted",
      id: job.id,
      type: job.type,
      firstType: job.firstType,
      step: job.step,
      steps: job.steps,
      key: job.key ?? null,
      payload: job.payload,
      raw: job.raw,
      deadlineAt: job.deadlineAt,
      receivedAt: job.receivedAt,
      origin: originToJournal(job.origin, job.owner),
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    if (this.recoveryTimer !== null) clearTimeout(this.recoveryTimer);
    for (const satellite of this.registry.all()) {
      this.frontendWriter?.send([satellite.routingId, ...workerCommandFrames(WorkerCommand.disconnect)]);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const writer of [this.frontendWriter, this.eventsWriter, this.controlWriter]) writer?.close();
    const bound: Array<[Router | XSubscriber | XPublisher | null, string[]]> = [
      [this.frontend, this.config.frontend],
      [this.intake, this.config.intake],
      [this.events, this.config.events],
      [this.control, this.config.control],
    ];
    for (const [socket, endpoints] of bound) {
      if (socket === null || socket.closed) continue;
      // Unbind (and wait) before closing, so an orchestrator started next on the same endpoints
      // can bind at once instead of meeting "Address already in use".
      for (const endpoint of endpoints) await socket.unbind(endpoint).catch(() => {});
      socket.close();
    }
    await this.zap?.stop();
    await this.journal?.close().catch(() => {});
    this.spill.close();
  }

  // ---- receive loops ----

  /**
   * Feeds every message of `socket` to `handle`. A bug in a handler must not take the orchestrator
   * down: it is logged and counted as malformed input of that socket, and the loop goes on.
   */
  private async receiveLoop(
    socket: Router | XSubscriber | XPublisher,
    name: "frontend" | "intake" | "control" | "events",
    handle: (frames: Buffer[]) => void,
  ): Promise<void> {
    try {
      for await (const frames of socket) {
        try {
          handle(frames);
        } catch (error) {
          this.counters.malformed[name]++;
          this.config.log(`orchestrator: error handling a ${name} message: ${(error as Error).stack}`);
        }
      }
    } catch (error) {
      if (this.running) this.config.log(`orchestrator: ${name} receive failed: ${(error as Error).message}`);
    }
  }

  // ---- frontend ----

  private onFrontend(frames: Buffer[]): void {
    const route = frames[0];
    if (route === undefined) return;
    if (this.guard.active && this.guard.isBlocked(route.toString("hex"), Date.now())) {
      this.counters.security.droppedWhileBlocked++;
      return;
    }
    let bytes = 0;
    for (let i = 1; i < frames.length; i++) bytes += frames[i].length;
    const message = parseFrontend(frames.slice(1), this.config.limits.framesMax, this.config.limits);
    // Batches are checked per entry, satellite replies per result (onWorkerReply).
    const checkWhole = message.kind === "client-request" || message.kind === "malformed";
    if (checkWhole && bytes > this.config.limits.messageBytesMax) {
      this.counters.tooLarge++;
      if (message.kind === "client-request") {
        this.outbox.replyError(
          this.originOf(route, message),
          "",
          ErrorCode.tooLarge,
          `message of ${bytes} bytes exceeds the limit of ${this.config.limits.messageBytesMax}`,
        );
      }
      return;
    }
    switch (message.kind) {
      case "malformed":
        this.counters.malformed.frontend++;
        this.onMalformedPeer(route);
        return;
      case "client-request":
        this.onClientRequest(route, message);
        return;
      case "client-batch":
        this.onClientBatch(route, message.entries, message.payloads, message.session);
        return;
      case "worker-ready":
        this.onWorkerReady(route, message.service, message.hello);
        return;
      default:
        this.onWorkerMessage(route, message);
    }
  }

  /** The per-peer malformed budget (peer-guard.ts): a peer over it is ignored for a while. */
  private onMalformedPeer(route: Buffer): void {
    const peer = route.toString("hex");
    if (!this.guard.malformed(peer, Date.now())) return;
    this.counters.security.peersBlocked++;
    const limits = this.config.limits;
    this.publishEvent("security.peer-blocked", {
      peer,
      reason: `more than ${limits.malformedPerPeerMax} malformed messages in ${limits.malformedWindowMs} ms`,
      forMs: limits.peerBlockMs,
    });
  }

  private originOf(route: Buffer, message: Extract<FrontendMessage, { kind: "client-request" }>): Origin {
    const service = Buffer.from(message.service);
    return message.header === null
      ? { kind: "mdp", route, service }
      : { kind: "dsat", route, correlation: message.header.c, service };
  }

  private onClientRequest(
    route: Buffer,
    message: Extract<FrontendMessage, { kind: "client-request" }>,
  ): void {
    const origin = this.originOf(route, message);
    if (message.service.startsWith("mmi.")) {
      this.onMmi(origin, message.body);
      return;
    }
    if (message.service.startsWith("titanic.")) {
      this.onTitanic(route, message.service, message.body);
      return;
    }
    const header = message.header;
    if (message.service === CANCEL_SERVICE) {
      // dsat's cancel: header.id names the job; no reply of its own (the job's request gets CANCELLED).
      if (header?.id !== undefined) this.cancel(routeOwner(route), header.id, Date.now());
      return;
    }
    this.submit({
      origin,
      owner: routeOwner(route),
      type: message.service,
      id: header?.id,
      key: header?.k,
      timeoutMs: header?.t,
      payload: message.body,
      raw: header === null,
    });
  }

  private onClientBatch(
    route: Buffer,
    entries: RequestEntry[],
    payloads: Buffer[],
    session: Buffer | null,
  ): void {
    const owner = session === null ? routeOwner(route) : this.owners.ofSession(session);
    for (let i = 0; i < entries.length; i++) {
      const [service, correlation, length, timeoutMs, id, key] = entries[i];
      const origin: Origin = { kind: "batch", route, correlation };
      if (service === CANCEL_SERVICE) {
        if (id !== null) this.cancel(owner, id, Date.now());
        continue;
      }
      if (length > this.config.limits.messageBytesMax) {
        this.counters.tooLarge++;
        this.outbox.replyError(
          origin,
          id ?? "",
          ErrorCode.tooLarge,
          `payload of ${length} bytes exceeds the limit of ${this.config.limits.messageBytesMax}`,
        );
        continue;
      }
      if (service.startsWith("mmi.")) {
        this.onMmi(origin, [payloads[i]], service);
        continue;
      }
      this.submit({
        origin,
        owner,
        type: service,
        id: id ?? undefined,
        key: key ?? undefined,
        timeoutMs: timeoutMs ?? undefined,
        payload: [payloads[i]],
        raw: false,
      });
    }
  }

  /**
   * Accepts a job from any origin; answers at once if it cannot be taken, and returns why (null
   * when it was taken, or attached to / answered as the job it names again).
   */
  submit(request: {
    origin: Origin;
    owner: string;
    type: string;
    id?: string;
    key?: string;
    timeoutMs?: number;
    payload: Buffer[];
    raw: boolean;
  }): string | null {
    const { origin, type } = request;
    if (request.id !== undefined && this.resubmission(origin, request.owner, request.id, type)) return null;
    const refuse = (code: ErrorCodeName, message: string): string => {
      this.outbox.replyError(origin, request.id ?? "", code, message, type);
      return message;
    };
    if (this.journalError !== null)
      return refuse(ErrorCode.overloaded, `the journal failed: ${this.journalError}`);
    const typeConfig = this.typeConfig(type);
    if (typeConfig === undefined)
      return refuse(
        ErrorCode.unknownType,
        `unknown job type "${type}": no satellite serves it and the topology does not declare it`,
      );
    const heldBytes = bytesOf(request.payload);
    const overload = this.overload(origin, heldBytes);
    if (overload !== null) return refuse(ErrorCode.overloaded, overload);
    const id = request.id ?? `${this.instance}-${(this.nextJobNumber++).toString(36)}`;
    const now = Date.now();
    const job: Job = {
      id,
      owner: request.owner,
      type,
      firstType: type,
      x: hashKey(request.key ?? id),
      key: request.key,
      origin,
      waiters: null,
      journalSeq: 0,
      attemptsBefore: 0,
      payload: request.payload,
      heldBytes,
      raw: request.raw,
      trackerId: id,
      step: 0,
      attempt: 0,
      satellite: null,
      queuedOn: null,
      spilled: null,
      deadlineAt: now + (request.timeoutMs ?? typeConfig.timeoutMs),
      receivedAt: now,
      steps: this.pipelineFor(type),
      result: null,
      placementFailure: null,
      errorCode: null,
      cancelRequested: false,
    };
    this.hold(job);
    if (this.journal === null) {
      this.submitStep(job, now);
      return null;
    }
    // Durable: the job runs (and titanic says 200) once its record is on disk.
    job.journalSeq = this.journal.append(this.acceptedRecord(job));
    this.awaitingCommit.push(job);
    this.requestCommit();
    return null;
  }

  /**
   * Why a new job cannot be taken now (DSAT_ERR_OVERLOADED, retryable), or null. Budgets count
   * jobs and bytes, per client and in all (docs/security.md "Threats"): a client that is not
   * reading its replies gets nothing more to read until it does.
   */
  private overload(origin: Origin, bytes: number): string | null {
    const limits = this.config.limits;
    if (this.jobs.size >= limits.jobsMax) return `the orchestrator holds ${this.jobs.size} jobs, its limit`;
    if (this.heldBytes + bytes > limits.jobsBytesMax) {
      this.counters.bytesRefused++;
      return `the orchestrator holds ${this.heldBytes} bytes of jobs (limits.jobsBytesMax ${limits.jobsBytesMax})`;
    }
    if (!("route" in origin)) return null;
    const client = origin.route.toString("hex");
    if (this.guard.inFlightOf(client) >= limits.inFlightPerClientMax) {
      this.counters.security.clientInFlightRefused++;
      return `this client has ${limits.inFlightPerClientMax} jobs in flight, its limit`;
    }
    if (this.guard.bytesOf(client) + bytes > limits.clientBytesMax) {
      this.counters.security.clientBytesRefused++;
      return `this client has ${this.guard.bytesOf(client)} bytes of jobs in flight (limits.clientBytesMax ${limits.clientBytesMax})`;
    }
    const unread = this.frontendWriter?.backlogBytesOf(origin.route) ?? 0;
    if (unread >= SLOW_READER_BYTES) {
      this.counters.security.slowReaderRefused++;
      return `this client is not reading its replies (${unread} bytes wait for it)`;
    }
    return null;
  }

  /** A job enters the book: its bytes are charged to its client's and the total budget. */
  private hold(job: Job): void {
    this.jobs.set(job.id, job);
    this.heldBytes += job.heldBytes;
    if ("route" in job.origin) this.guard.addInFlight(job.origin.route.toString("hex"), job.heldBytes);
  }

  /** A job leaves the book (the one place that does `jobs.delete`): its budget charges go. */
  private release(job: Job): boolean {
    if (this.jobs.get(job.id) !== job) return false;
    this.jobs.delete(job.id);
    this.heldBytes -= job.heldBytes;
    if ("route" in job.origin) this.guard.removeInFlight(job.origin.route.toString("hex"), job.heldBytes);
    return true;
  }

  /** Payload bytes of the jobs held (as accepted). */
  private heldBytes = 0;

  /**
   * A request naming a job id the orchestrator knows: a client resending after a reconnect, or
   * after its own restart. A live job gets the new requester as a waiter (nothing runs twice); a
   * finished one is answered with its stored result. Returns false for an id never seen.
   */
  private resubmission(origin: Origin, owner: string, id: string, type: string): boolean {
    const live = this.jobs.get(id);
    const finished = live === undefined ? this.finishedJob(id) : undefined;
    if (live === undefined && finished === undefined) return false;
    const jobOwner = live?.owner ?? ownerFromJournal((finished as CompletedRecord).origin);
    if (jobOwner !== owner) {
      // Someone else's job: its result, state and existence stay theirs.
      this.counters.security.foreignJobRefused++;
      this.outbox.replyError(origin, id, ErrorCode.notFound, `no job "${id}" of this client's`, type);
      return true;
    }
    if (live !== undefined) {
      this.counters.resubmissions.attached++;
      if (!sameOrigin(live.origin, origin) && !(live.waiters ?? []).some((o) => sameOrigin(o, origin))) {
        if (live.origin.kind === "publish" || live.origin.kind === "titanic") live.origin = origin;
        else (live.waiters ??= []).push(origin);
      }
      return true;
    }
    this.counters.resubmissions.answered++;
    if (this.attachToUnwrittenReply(origin, id)) return true;
    this.answerFromRecord(origin, finished as CompletedRecord);
    return true;
  }

  private finishedJob(id: string): CompletedRecord | undefined {
    return this.journal?.finished.get(id) ?? this.finishedInMemory.get(id);
  }

  /** Replies to `origin` with what a finished job's record says. */
  private answerFromRecord(origin: Origin, record: CompletedRecord): void {
    const job = this.jobFromRecord(record, origin);
    if (record.status === "ok") this.outbox.replyOk(job, record.result ?? [NULL_PAYLOAD]);
    else
      this.outbox.replyError(
        origin,
        record.id,
        record.status as ErrorCodeName,
        record.message,
        record.firstType,
      );
  }

  /** Just enough of a Job to reply with (replyOk reads id, origin, raw and firstType). */
  private jobFromRecord(record: CompletedRecord, origin: Origin): Job {
    return {
      ...this.jobFromJournal({
        accepted: {
          k: "accepted",
          id: record.id,
          type: record.firstType,
          firstType: record.firstType,
          step: 0,
          steps: record.steps,
          key: record.key,
          payload: record.payload ?? [],
          raw: record.raw,
          deadlineAt: 0,
          receivedAt: record.receivedAt,
          origin: { ...originToJournal(origin, ownerFromJournal(record.origin)) },
        },
        attempts: 0,
        satelliteId: null,
      }),
      origin,
    };
  }

  /** Hands the job's current step to the tracker, which answers with a `place` effect. */
  private submitStep(job: Job, now: number): void {
    job.trackerId = job.step === 0 ? job.id : `${job.id}/${job.step}`;
    job.attempt = 0;
    job.result = null;
    job.placementFailure = null;
    this.trackerJobs.set(job.trackerId, job);
    const candidates = this.placementFor(job.type)?.candidates(job.x) ?? NO_CANDIDATES;
    const submit: SubmitEvent = {
      kind: "submit",
      jobId: job.trackerId,
      type: job.type,
      candidates,
      // Deadlines are wall-clock; the tracker's clock runs behind by this process's stalls.
      deadlineAtMs: job.deadlineAt - this.stalledMs,
      // 9/TSP: a Titanic request waits for its first worker until its deadline.
      ...(job.origin.kind === "titanic" ? { patient: true } : {}),
    };
    if (job.attemptsBefore > 0) {
      submit.attemptsBefore = job.attemptsBefore;
      job.attemptsBefore = 0;
    }
    this.trackerStep(submit, now);
    if (job.cancelRequested) this.trackerStep({ kind: "cancel", jobId: job.trackerId }, now);
    this.runEffects(now);
  }

  private readonly pipelines = new Map<string, readonly string[]>();

  /** The pipeline steps after `type`: a fresh array only when there are steps. */
  private pipelineFor(type: string): string[] {
    let steps = this.pipelines.get(type);
    if (steps === undefined) this.pipelines.set(type, (steps = pipelineOf(this.config.types, type)));
    return steps.length === 0 ? NO_STEPS : [...steps];
  }

  private typeConfig(type: string): ResolvedTypeConfig | undefined {
    return this.config.types.get(type);
  }

  // ---- placement and dispatch ----

  private placementFor(type: string): TypePlacement | undefined {
    let placement = this.placements.get(type);
    if (placement !== undefined) return placement;
    const members = this.registry.membersOf(type);
    if (members.length === 0) return undefined;
    const typeConfig = this.typeConfig(type);
    if (typeConfig === undefined) return undefined;
    placement = new TypePlacement(
      type,
      this.config.hierarchy,
      { replicas: typeConfig.replicas, failureDomain: typeConfig.failureDomain, rule: typeConfig.rule },
      members.map((member) => ({
        ...member,
        placeable: this.isPlaceable(this.registry.byId(member.satelliteId)),
      })),
      this.config.limits.placementCacheMax,
      this.registry.bucketIdOf,
    );
    this.placements.set(type, placement);
    return placement;
  }

  private isPlaceable(satellite: SatelliteInfo | undefined): boolean {
    return (
      satellite !== undefined &&
      !satellite.draining &&
      !this.breakerOpen.has(satellite.id) &&
      this.halfOpen.get(satellite.id) !== true
    );
  }

  /** Recomputes a satellite's placeability in every type it serves. */
  private updatePlaceable(satellite: SatelliteInfo): void {
    const placeable = this.isPlaceable(satellite);
    for (const type of satellite.types) this.placements.get(type)?.setPlaceable(satellite.device, placeable);
  }

  /**
   * The tracker's `place`: send `attempt` to the best CRUSH candidate with room that is not
   * excluded, or queue it there (overflow "queue") or on the next one with room in its queue
   * ("spill"); answer the tracker with dispatched (now or when the queue gets to it) or unplaceable.
   * With the disk spill on, a job whose candidates are all full (or whose type already has jobs on
   * disk) goes to disk instead and stays placed; `fromSpill`: it was just drained from there.
   */
  private place(job: Job, attempt: number, exclude: readonly string[], now: number, fromSpill = false): void {
    if (job.spilled !== null && !fromSpill) this.unspill(job);
    job.attempt = attempt;
    job.satellite = null;
    job.queuedOn = null;
    const placement = this.placementFor(job.type);
    const typeConfig = this.typeConfig(job.type) as ResolvedTypeConfig;
    const candidates = placement?.candidates(job.x) ?? [];
    // Jobs of its type wait in the spill: it must not overtake them (FIFO), so it goes there too.
    const behindSpilled = !fromSpill && this.spill.size(job.type) > 0;
    const queueMax = this.queueMax();
    let queueOn: SatelliteInfo | null = null;
    let anyCandidate = false;
    for (const satelliteId of candidates) {
      const satellite = this.registry.byId(satelliteId);
      if (satellite === undefined || !this.isPlaceable(satellite) || exclude.includes(satellite.id)) continue;
      anyCandidate = true;
      if (behindSpilled) break;
      if (satellite.inFlight < satellite.capacity && satellite.queueHead === satellite.queue.length) {
        this.send(job, satellite, now);
        return;
      }
      // Plain MDP workers get no queue of their own: a job waits for any of them in the spill.
      if (queueOn === null && satellite.dsat && satellite.queue.length - satellite.queueHead < queueMax) {
        queueOn = satellite;
        if (typeConfig.overflow === "queue") break;
      }
    }
    if (queueOn !== null) {
      job.queuedOn = queueOn;
      queueOn.queue.push(job.trackerId);
      return;
    }
    // Every candidate is full: the job waits in the spill, the tracker keeps it placed.
    if (anyCandidate && this.spillJob(job, exclude, fromSpill)) return;
    job.placementFailure = anyCandidate ? "full" : "none";
    this.trackerStep({ kind: "unplaceable", jobId: job.trackerId, attempt }, now);
  }

  private send(job: Job, satellite: SatelliteInfo, now: number): void {
    job.satellite = satellite;
    job.queuedOn = null;
    job.placementFailure = null; // placed after all: a failure from here on is the handler's
    // Only retries are journaled: a replayed job then resumes after its last retry, while a first
    // attempt (most jobs) costs no record; its replay is attempt 1 again, which is safe (docs/journal.md).
    if (job.attempt > 1)
      this.journal?.append({
        k: "dispatched",
        id: job.id,
        step: job.step,
        attempt: job.attempt,
        satelliteId: satellite.id,
      });
    satellite.inFlight++;
    const running = satellite.running as Map<Job, number>;
    running.set(job, (running.get(job) ?? 0) + 1);
    // A half-open satellite takes one probe; it is skipped by placement until the tracker's verdict.
    if (this.halfOpen.size > 0 && this.halfOpen.get(satellite.id) === false)
      this.halfOpen.set(satellite.id, true);
    this.trackerStep(
      {
        kind: "dispatched",
        jobId: job.trackerId,
        attempt: job.attempt,
        satelliteId: satellite.id,
        // A plain MDP worker is silent while it works (7/MDP): no stall timer, the run timeout governs.
        ...(satellite.dsat ? {} : { reportsProgress: false }),
      },
      now,
    );
    // A plain MDP worker cannot ACK: the request on its way stands for the ack.
    if (!satellite.dsat)
      this.trackerStep(
        { kind: "ack", jobId: job.trackerId, attempt: job.attempt, satelliteId: satellite.id },
        now,
      );
    if (satellite.batch && job.payload.length === 1) {
      const payload = job.payload[0];
      const entry: JobEntry = [
        job.trackerId,
        job.attempt,
        job.type,
        payload.length,
        job.attempt,
        job.deadlineAt,
        job.key ?? null,
        job.raw ? 1 : null,
      ];
      this.outbox.queueJob(satellite, entry, payload);
      return;
    }
    const address = jobAddress(job.trackerId, job.attempt);
    const frames = satellite.dsat
      ? jobRequestFrames(
          address,
          {
            id: job.trackerId,
            type: job.type,
            a: job.attempt,
            d: job.deadlineAt,
            ...(job.key !== undefined ? { k: job.key } : {}),
            ...(job.raw ? { raw: job.payload.length } : {}),
          },
          job.payload,
        )
      : plainJobRequestFrames(address, job.payload);
    this.frontendWriter?.send([satellite.routingId, ...frames]);
  }

  /** Frees the satellite's slot held by `job` and hands it the next queued job. */
  private releaseSlot(satellite: SatelliteInfo, job: Job | undefined, now: number): void {
    const running = satellite.running as Map<Job, number>;
    const held = job === undefined ? undefined : running.get(job);
    if (job === undefined || held === undefined) return;
    if (held > 1) running.set(job, held - 1);
    else running.delete(job);
    satellite.inFlight = Math.max(0, satellite.inFlight - 1);
    this.pumpQueue(satellite, now);
  }

  private pumpQueue(satellite: SatelliteInfo, now: number): void {
    while (
      satellite.inFlight < satellite.capacity &&
      satellite.queueHead < satellite.queue.length &&
      this.isPlaceable(satellite)
    ) {
      const trackerId = satellite.queue[satellite.queueHead++];
      const job = this.trackerJobs.get(trackerId);
      if (job !== undefined && job.queuedOn === satellite) this.send(job, satellite, now);
    }
    if (satellite.queueHead === satellite.queue.length) {
      satellite.queue.length = 0;
      satellite.queueHead = 0;
    }
    // Jobs waiting on disk come next (behind the queue, which is older), while they fit.
    this.drainSpill(satellite, satellite.types, now);
  }

  // ---- the disk spill (docs/journal.md "Disk spill") ----

  /**
   * Moves a job's payload to the disk spill (at the front of its type's FIFO when it was just
   * drained from there). false when the disk refused it: the job is then unplaceable as before.
   */
  private spillJob(job: Job, exclude: readonly string[], front: boolean): boolean {
    const spill = this.spill;
    try {
      if (front) spill.unshift(job.type, job.trackerId, job.payload);
      else spill.push(job.type, job.trackerId, job.payload);
    } catch (error) {
      // The waiting room's byte budget is a limit, not a fault: the job is refused as before.
      if (!(error instanceof WaitingRoomFullError)) this.onDiskSpillError(error);
      else this.counters.waitingRoomFull++;
      return false;
    }
    job.payload = [];
    job.spilled = exclude;
    job.placementFailure = "full";
    return true;
  }

  /**
   * Jobs of `types` leave the spill as slots free up. First `satellite` (when given) takes the
   * oldest jobs it is a candidate for, among the first WAITING_SCAN_MAX of each type, so a freed
   * slot never idles behind a job meant for other satellites. Then, oldest first, jobs go wherever
   * the oldest one has somewhere to go (place() chooses); a type whose oldest job has nowhere to go
   * waits for the next free slot. The checks run on the index: a payload is read back only for a
   * job that leaves the spill.
   */
  private drainSpill(satellite: SatelliteInfo | null, types: readonly string[], now: number): void {
    const spill = this.spill;
    if (spill.size() === 0) return;
    for (const type of types) {
      if (spill.size(type) === 0) continue;
      if (satellite !== null) this.drainTo(satellite, type, now);
      this.drainOldest(satellite, type, now);
    }
  }

  /** Fills `satellite`'s free slots with the oldest waiting jobs of `type` it may run. */
  private drainTo(satellite: SatelliteInfo, type: string, now: number): void {
    while (
      satellite.inFlight < satellite.capacity &&
      satellite.queueHead === satellite.queue.length &&
      this.isPlaceable(satellite)
    ) {
      const jobId = this.spill.first(type, WAITING_SCAN_MAX, (id) => this.mayRun(satellite, id));
      if (jobId === undefined) return;
      const job = this.takeSpilled(jobId, now);
      if (job !== undefined) this.send(job, satellite, now);
    }
  }

  /** A spilled job whose candidates include `satellite` (not excluded for this attempt). */
  private mayRun(satellite: SatelliteInfo, trackerId: string): boolean {
    const job = this.trackerJobs.get(trackerId);
    if (job === undefined || job.spilled === null || job.spilled.includes(satellite.id)) return false;
    return (this.placementFor(job.type)?.candidates(job.x) ?? NO_CANDIDATES).includes(satellite.id);
  }

  /** Takes a job out of the spill with its payload back (undefined if it cannot be read). */
  private takeSpilled(trackerId: string, now: number): Job | undefined {
    const job = this.trackerJobs.get(trackerId);
    let frames: Buffer[] | undefined;
    try {
      frames = this.spill.read(trackerId);
    } catch (error) {
      this.onDiskSpillError(error);
      this.spill.remove(trackerId);
      this.failSpilled(trackerId, (error as Error).message, now);
      return undefined;
    }
    this.spill.remove(trackerId);
    if (job === undefined || job.spilled === null || frames === undefined) return undefined;
    job.payload = frames;
    job.spilled = null;
    return job;
  }

  /** Oldest first, while the oldest job of `type` has somewhere to go. */
  private drainOldest(satellite: SatelliteInfo | null, type: string, now: number): void {
    const spill = this.spill;
    for (let jobId = spill.peek(type); jobId !== undefined; jobId = spill.peek(type)) {
      const job = this.trackerJobs.get(jobId);
      if (job === undefined || job.spilled === null) {
        spill.remove(jobId); // ended while spilled (its entry is normally removed then)
        continue;
      }
      const exclude = job.spilled;
      const target = this.spillTarget(job, exclude, satellite);
      if (target === null) break;
      let taken: { jobId: string; frames: Buffer[] } | undefined;
      try {
        taken = spill.shift(type);
      } catch (error) {
        this.onDiskSpillError(error);
        if (error instanceof DiskSpillReadError) this.failSpilled(error.jobId, error.message, now);
        continue;
      }
      if (taken === undefined || taken.jobId !== jobId) break; // cannot happen: peek named it
      job.payload = taken.frames;
      job.spilled = null;
      if (target !== "elsewhere") this.send(job, target, now);
      else this.place(job, job.attempt, exclude, now, true);
      if (job.spilled !== null) break;
    }
  }

  /**
   * Where a spilled job can go now: `satellite` (a candidate with a free slot and an empty queue),
   * "elsewhere" (some candidate has a free slot or queue room), or null (every candidate is full).
   */
  private spillTarget(
    job: Job,
    exclude: readonly string[],
    satellite: SatelliteInfo | null,
  ): SatelliteInfo | "elsewhere" | null {
    const candidates = this.placementFor(job.type)?.candidates(job.x) ?? NO_CANDIDATES;
    const queueMax = this.queueMax();
    let anyCandidate = false;
    let elsewhere = false;
    for (const satelliteId of candidates) {
      const candidate = this.registry.byId(satelliteId);
      if (candidate === undefined || !this.isPlaceable(candidate) || exclude.includes(candidate.id)) continue;
      anyCandidate = true;
      const queued = candidate.queue.length - candidate.queueHead;
      const free = candidate.inFlight < candidate.capacity && queued === 0;
      if (candidate === satellite && free) return satellite;
      // Plain MDP workers have no queue (place()).
      if (free || (candidate.dsat && queued < queueMax)) elsewhere = true;
    }
    // No live candidate at all: place() answers unplaceable, as for a queued job (retry, then timeout).
    return elsewhere || !anyCandidate ? "elsewhere" : null;
  }

  /** Jobs one satellite's in-memory queue holds (the disk spill takes over beyond). */
  private queueMax(): number {
    return this.config.diskSpill?.queuedMax ?? this.config.limits.satelliteQueueMax;
  }

  /** Takes a spilled job's payload back from the disk and forgets its entry. */
  private unspill(job: Job): void {
    if (job.spilled === null) return;
    job.payload = this.spilledPayload(job);
    job.spilled = null;
    this.spill.remove(job.trackerId);
  }

  /** A spilled job's payload read from the disk (empty if it cannot be read). */
  private spilledPayload(job: Job): Buffer[] {
    try {
      return this.spill.read(job.trackerId) ?? job.payload;
    } catch (error) {
      this.onDiskSpillError(error);
      return job.payload;
    }
  }

  /** A spilled job whose payload could not be read back fails (nothing is left to run). */
  private failSpilled(trackerId: string, message: string, now: number): void {
    const job = this.trackerJobs.get(trackerId);
    if (job === undefined || job.spilled === null) return;
    job.spilled = null;
    this.finish(job, ErrorCode.failed, `the disk spill lost the payload: ${message}`);
    this.trackerStep({ kind: "cancel", jobId: trackerId }, now);
  }

  private onDiskSpillError(error: unknown): void {
    const message = (error as Error).message;
    if (message === this.diskSpillError) return;
    this.diskSpillError = message;
    this.config.log(`orchestrator: disk spill: ${message}`);
    this.publishEvent("disk-spill.error", { error: message });
  }

  // ---- satellites ----

  private onWorkerReady(route: Buffer, service: string, hello: SatelliteHello | null): void {
    const routingKey = route.toString("hex");
    const existing = this.registry.byRouting(routingKey);
    if (existing !== undefined) {
      // MDP: a second READY on a registered connection is a protocol error.
      this.disconnectPeer(route);
      this.loseSatellite(existing, "sent READY twice");
      return;
    }
    const now = Date.now();
    const plain: SatelliteHello = {
      id: `mdp-${routingKey}`,
      types: [service],
      location: [],
      capacity: 1,
      weight: 1,
    };
    const verdict = admit(this.admissionContext, this.challenges, routingKey, plain, hello, now);
    if (verdict.kind === "challenge") {
      this.frontendWriter?.send([route, ...workerCommandFrames(WorkerCommand.challenge, verdict.nonce)]);
      return;
    }
    const id = (hello ?? plain).id;
    if (verdict.kind === "refuse") {
      this.refuseSatellite(route, id, verdict.reason, verdict.security);
      return;
    }
    const info = verdict.hello;
    const previous = this.registry.byId(info.id);
    if (previous !== undefined && sameProcess(previous, info)) {
      // The same process reconnecting (it heard nothing from us for a while): its jobs carry on.
      this.registry.rebind(previous, Buffer.from(route), routingKey);
      previous.lastHeardAt = now;
      this.counters.satellitesResumed++;
      this.publishEvent("satellite.resumed", { satellite: previous.id, jobs: previous.inFlight });
      return;
    }
    // The same satellite (the same key, under CURVE) on a new connection: the old one is fenced.
    if (previous !== undefined) {
      this.disconnectPeer(previous.routingId);
      this.loseSatellite(previous, "re-registered from a new connection");
    }
    const { satellite, changedTypes } = this.registry.add({
      routingId: Buffer.from(route),
      routingKey,
      id: info.id,
      types: info.types,
      location: info.location,
      capacity: info.capacity,
      weight: info.weight,
      dsat: hello !== null,
      key: verdict.key,
      heartbeatMs: verdict.heartbeatMs,
      incarnation: info.incarnation ?? null,
      batch: hello?.batch === true,
      registeredAt: now,
      lastHeardAt: now,
    });
    for (const type of info.types) if (!this.config.types.has(type)) this.learnType(type);
    // New members change the type's map; a returning one only comes back in.
    for (const type of info.types) {
      if (changedTypes.includes(type)) this.placements.delete(type);
      else this.placements.get(type)?.setPlaceable(satellite.device, true);
    }
    this.publishEvent("satellite.registered", {
      satellite: satellite.id,
      types: [...satellite.types],
      location: satellite.location.map(([level, name]) => `${level}=${name}`).join(","),
      capacity: satellite.capacity,
    });
    this.trackerStep({ kind: "satellite-heartbeat", satelliteId: satellite.id }, now);
    // Jobs of its types waiting on the spill can start here.
    this.pumpQueue(satellite, now);
    this.runEffects(now);
  }

  /** The CURVE side of admission (null without security). */
  private curveAdmission(): AdmissionContext["curve"] {
    const security = this.config.security;
    const zap = this.zap;
    if (security === null || zap === null) return null;
    return {
      serverKey: security.serverKey,
      satelliteKeyName: (key) => zap.satellites.get(key),
      authenticated: (key) => zap.authenticated.has(key),
      typesAllowed: (name) => security.satelliteTypes.get(name),
    };
  }

  /** A type a satellite brought (dynamicTypes): default settings until it is evicted. */
  private learnType(type: string): void {
    this.config.types.set(type, resolveType(type, {}, this.config.hierarchy, this.config.limits));
    this.dynamicTypes.add(type);
  }

  /**
   * libzmq refused a message for `route` (EHOSTUNREACH on the mandatory ROUTER): its connection is
   * gone. This also catches a plain worker killed mid-job, which silence would not (it is exempt
   * while busy): it is lost one liveness window later (tick), unless its process comes back on a
   * new connection meanwhile (a satellite reconnecting: its READY may still wait to be read).
   */
  private onPeerGone(route: Buffer): void {
    const satellite = this.registry.byRouting(route.toString("hex"));
    if (satellite !== undefined && Number.isNaN(satellite.connectionGoneAt))
      satellite.connectionGoneAt = Date.now();
  }

  /**
   * Jobs in a message libzmq could not deliver (the satellite's connection was gone, e.g. it was
   * reconnecting): those attempts never started there, so they are retried now, not after the
   * ack timeout, and free the slots they held.
   */
  private onUndelivered(frames: Buffer[]): void {
    if (frames.length < 5 || !frames[2].equals(MDP_WORKER) || frames[3].length !== 1) return;
    const tokens: Array<{ jobId: string; attempt: number }> = [];
    if (frames[3][0] === WorkerCommand.request) {
      const token = parseJobAddress(frames[4]);
      if (token !== null) tokens.push(token);
    } else if (frames[3][0] === WorkerCommand.requestBatch) {
      for (const entry of decodeJobEntries(frames[4])) tokens.push({ jobId: entry[0], attempt: entry[1] });
    } else return;
    const now = Date.now();
    for (const { jobId, attempt } of tokens) {
      const job = this.trackerJobs.get(jobId);
      const satellite = job?.satellite;
      if (job === undefined || satellite == null || job.attempt !== attempt) continue;
      job.satellite = null;
      this.releaseSlot(satellite, job, now);
      const message = `the request never reached satellite ${satellite.id} (its connection was gone)`;
      this.trackerStep(
        { kind: "failed", jobId, attempt, satelliteId: satellite.id, retryable: true, message },
        now,
      );
    }
    this.runEffects(now);
  }

  /** A READY that may not register: DISCONNECT, a log line, events, counters. */
  private refuseSatellite(route: Buffer, id: string, reason: string, security: boolean): void {
    this.counters.satellitesRefused++;
    if (security) this.counters.security.satelliteKeyRefused++;
    // Rate-limited (a refused satellite keeps trying), per satellite id.
    const muted = this.refusalEvents.allow(`satellite ${id}`);
    if (muted !== null) {
      this.config.log(`orchestrator: satellite ${id} refused: ${reason}`);
      this.publishEvent("satellite.refused", { satellite: id, reason, muted });
      if (security) this.publishEvent("security.refused", { mechanism: "CURVE", address: "", reason, muted });
    }
    this.disconnectPeer(route);
  }

  private disconnectPeer(route: Buffer): void {
    this.frontendWriter?.send([route, ...workerCommandFrames(WorkerCommand.disconnect)]);
  }

  /** Nonces sent to connections whose READY must prove a satellite key (CURVE topologies). */
  private readonly challenges = new ChallengeBook(4096, 30_000);

  /** Client session tokens -> job owners. */
  private readonly owners = new SessionOwners();

  private onWorkerMessage(route: Buffer, message: FrontendMessage): void {
    const satellite = this.registry.byRouting(route.toString("hex"));
    if (satellite === undefined) {
      // Unknown peer (e.g. we forgot it after it went silent): ask it to reconnect and register.
      if (message.kind !== "worker-disconnect") {
        this.frontendWriter?.send([route, ...workerCommandFrames(WorkerCommand.disconnect)]);
      }
      return;
    }
    const now = Date.now();
    satellite.lastHeardAt = now;
    switch (message.kind) {
      case "worker-reply": {
        const token = parseJobAddress(message.address);
        this.onWorkerReply(
          satellite,
          token?.jobId ?? "",
          token?.attempt ?? 0,
          message.header,
          message.body,
          now,
        );
        break;
      }
      case "worker-reply-batch":
        for (let i = 0; i < message.entries.length; i++) {
          const [jobId, attempt, status, , error, retryable] = message.entries[i];
          const header: { s: "ok" | "error"; e?: string; r?: boolean } = { s: status === 0 ? "ok" : "error" };
          if (error !== null) header.e = error;
          if (retryable !== null) header.r = retryable;
          this.onWorkerReply(satellite, jobId, attempt, header, [message.payloads[i]], now);
        }
        break;
      case "worker-ack": {
        const token = parseJobAddress(message.address);
        if (token !== null) {
          this.trackerStep(
            { kind: "ack", jobId: token.jobId, attempt: token.attempt, satelliteId: satellite.id },
            now,
          );
        }
        break;
      }
      case "worker-ack-batch":
        for (let i = 0; i + 1 < message.flat.length; i += 2) {
          const jobId = message.flat[i];
          const attempt = message.flat[i + 1];
          if (typeof jobId === "string" && typeof attempt === "number") {
            this.trackerStep({ kind: "ack", jobId, attempt, satelliteId: satellite.id }, now);
          }
        }
        break;
      case "worker-progress": {
        const token = parseJobAddress(message.address);
        if (token !== null) {
          this.trackerStep(
            { kind: "progress", jobId: token.jobId, attempt: token.attempt, satelliteId: satellite.id },
            now,
          );
          // Only the current attempt's progress is news; the tracker drops a stale one.
          const job = this.trackerJobs.get(token.jobId);
          if (job !== undefined && job.attempt === token.attempt && job.satellite === satellite)
            this.publishEvent(`job.progress.${job.type}`, {
              id: job.id,
              attempt: token.attempt,
              progress: message.progress,
            });
        }
        break;
      }
      case "worker-drain":
        satellite.draining = true;
        this.updatePlaceable(satellite);
        this.publishEvent("satellite.draining", { satellite: satellite.id });
        this.requeueQueued(satellite, now);
        break;
      case "worker-disconnect":
        this.loseSatellite(satellite, "disconnected");
        return;
      case "worker-heartbeat":
        this.trackerStep({ kind: "satellite-heartbeat", satelliteId: satellite.id }, now);
        // A plain MDP worker cannot report progress; one that heartbeats while it works has that
        // as its liveness from now on (busyPlainWorker).
        if (!satellite.dsat && !satellite.heartbeatsWhileBusy && this.hasCurrentAttempt(satellite))
          satellite.heartbeatsWhileBusy = true;
        break;
      default:
        break;
    }
    this.runEffects(now);
  }

  private onWorkerReply(
    satellite: SatelliteInfo,
    trackerId: string,
    attempt: number,
    header: { s: "ok" | "error"; e?: string; r?: boolean } | null,
    body: Buffer[],
    now: number,
  ): void {
    const job = this.trackerJobs.get(trackerId);
    const current = job !== undefined && job.attempt === attempt && job.satellite === satellite;
    if (job?.satellite === satellite && job.attempt === attempt) job.satellite = null;
    this.releaseSlot(satellite, current ? job : this.findRunning(satellite, trackerId, attempt), now);
    if (!current) {
      // A result from an earlier attempt (or for a step already ended): the tracker counts and drops it.
      this.counters.lateResults++;
    }
    // A plain worker's error in the documented shape [DSAT_ERR_<CODE>, message] (dsat's own
    // satellites in plain-MDP mode answer so): an error, not a result.
    if (header === null && isPlainError(body))
      header = { s: "error", e: body[1].toString(), r: !FINAL_PLAIN_ERRORS.has(body[0].toString()) };
    if (header === null || header.s === "ok") {
      satellite.done++;
      let bytes = 0;
      for (const frame of body) bytes += frame.length;
      if (current && bytes > this.config.limits.messageBytesMax) {
        this.counters.tooLarge++;
        job.errorCode = ErrorCode.tooLarge;
        const message = `the result of ${bytes} bytes exceeds the limit of ${this.config.limits.messageBytesMax}`;
        this.trackerStep(
          { kind: "failed", jobId: trackerId, attempt, satelliteId: satellite.id, retryable: false, message },
          now,
        );
        return;
      }
      if (current) job.result = body.length === 0 ? [NULL_PAYLOAD] : body;
      this.trackerStep({ kind: "succeeded", jobId: trackerId, attempt, satelliteId: satellite.id }, now);
      return;
    }
    satellite.failed++;
    this.trackerStep(
      {
        kind: "failed",
        jobId: trackerId,
        attempt,
        satelliteId: satellite.id,
        retryable: header.r !== false,
        message: header.e ?? "the satellite reported an error",
      },
      now,
    );
  }

  /** The job object a (possibly late) reply's slot belongs to. */
  private findRunning(satellite: SatelliteInfo, trackerId: string, attempt: number): Job | undefined {
    for (const job of (satellite.running as Map<Job, number>).keys())
      if (job.trackerId === trackerId || (job.attempt === attempt && job.id === trackerId)) return job;
    return undefined;
  }

  /** A satellite went silent, disconnected or re-registered: the tracker reroutes its jobs. */
  private loseSatellite(satellite: SatelliteInfo, reason: string): void {
    this.registry.remove(satellite, Date.now());
    this.updatePlaceable(satellite);
    for (const type of satellite.types) this.placements.get(type)?.setPlaceable(satellite.device, false);
    this.counters.satellitesLost++;
    this.publishEvent("satellite.lost", { satellite: satellite.id, reason, jobs: satellite.inFlight });
    this.config.log(`orchestrator: satellite ${satellite.id} lost (${reason})`);
    const now = Date.now();
    for (const job of (satellite.running as Map<Job, number>).keys())
      if (job.satellite === satellite) job.satellite = null;
    satellite.running.clear();
    satellite.inFlight = 0;
    // Right after this process stalled, a loss may be ours, not the satellite's or its jobs'.
    const blameless = now < this.blamelessUntil;
    this.trackerStep({ kind: "satellite-lost", satelliteId: satellite.id, blameless }, now);
    this.requeueQueued(satellite, now);
    this.runEffects(now);
  }

  /** Jobs waiting in a satellite's queue that can no longer go there are placed again. */
  private requeueQueued(satellite: SatelliteInfo, now: number): void {
    const queued = satellite.queue.slice(satellite.queueHead);
    satellite.queue.length = 0;
    satellite.queueHead = 0;
    for (const trackerId of queued) {
      const job = this.trackerJobs.get(trackerId);
      if (job !== undefined && job.queuedOn === satellite) this.place(job, job.attempt, [satellite.id], now);
    }
    // Jobs of its types waiting on disk may fit elsewhere now (new candidates, other queues).
    this.drainSpill(null, satellite.types, now);
  }

  // ---- the tracker's effects ----

  /** Performs the tracker's effects until it has none left (effects may step it again). */
  private runEffects(now: number): void {
    for (let rounds = 0; rounds < 1000; rounds++) {
      const effects = this.tracker.takeEffects();
      if (effects.length === 0) return;
      for (const effect of effects) this.perform(effect, now);
    }
  }

  private perform(effect: TrackerEffect, now: number): void {
    switch (effect.kind) {
      case "place": {
        const job = this.trackerJobs.get(effect.jobId);
        // A job cancelled before the tracker had it is cancelled right after its submit: not placed.
        if (job !== undefined && !job.cancelRequested) this.place(job, effect.attempt, effect.exclude, now);
        return;
      }
      case "cancel-on-satellite": {
        const satellite = this.registry.byId(effect.satelliteId);
        // Never acknowledged: it most likely never arrived (lost with a connection), so it must not
        // hold the satellite's slot; if it did arrive, its late result is dropped as late.
        if (effect.unacked === true && satellite !== undefined)
          this.releaseSlot(satellite, this.findRunning(satellite, effect.jobId, effect.attempt), now);
        if (satellite?.dsat) {
          this.frontendWriter?.send([
            satellite.routingId,
            ...workerCommandFrames(WorkerCommand.cancel, jobAddress(effect.jobId, effect.attempt)),
          ]);
        }
        return;
      }
      case "complete": {
        const job = this.trackerJobs.get(effect.jobId);
        if (job !== undefined) this.onStepComplete(job, effect.outcome, effect.message ?? "", now);
        return;
      }
      case "breaker": {
        // Published by the tracker's satellite:breaker-* event (with the reason), not here.
        const satellite = this.registry.byId(effect.satelliteId);
        if (effect.state === "open") this.breakerOpen.add(effect.satelliteId);
        else this.breakerOpen.delete(effect.satelliteId);
        // half-open: one probe may go (again, when the last one ended without a verdict).
        if (effect.state === "half-open") this.halfOpen.set(effect.satelliteId, false);
        else this.halfOpen.delete(effect.satelliteId);
        if (satellite !== undefined) {
          this.updatePlaceable(satellite);
          if (effect.state === "open") this.requeueQueued(satellite, now);
          else this.pumpQueue(satellite, now); // placeable again: the disk spill may drain to it
        }
        return;
      }
      case "event": {
        // loseSatellite published satellite.lost already, with its reason.
        if (effect.name === "satellite:lost") return;
        // An attempt timed out or stalled there: the jobs queued behind it would wait for a slot
        // it may never free, so they are placed again (on another candidate when one has room).
        if (
          (effect.name === "job:stalled" || effect.name === "job:timeout") &&
          effect.satelliteId !== undefined
        ) {
          const stuck = this.registry.byId(effect.satelliteId);
          if (stuck !== undefined && stuck.queue.length > stuck.queueHead) this.requeueQueued(stuck, now);
        }
        const job = effect.jobId === undefined ? undefined : this.trackerJobs.get(effect.jobId);
        const [scope, name] = effect.name.split(":");
        const topic = job === undefined ? `${scope}.${name}` : `${scope}.${name}.${job.type}`;
        this.publishEvent(topic, {
          ...(job !== undefined ? { id: job.id } : effect.jobId !== undefined ? { id: effect.jobId } : {}),
          ...(effect.satelliteId !== undefined ? { satellite: effect.satelliteId } : {}),
          ...(effect.detail !== undefined ? { detail: effect.detail } : {}),
        });
        return;
      }
    }
  }

  /** The tracker ended a step: next pipeline step, or the job's one reply. */
  private onStepComplete(job: Job, outcome: Outcome, message: string, now: number): void {
    this.trackerJobs.delete(job.trackerId);
    if (job.queuedOn !== null) job.queuedOn = null;
    // Ended while on the disk spill (cancelled, expired): its payload comes back, its entry goes.
    if (job.spilled !== null) this.unspill(job);
    if (outcome === "done") {
      const result = job.result ?? [NULL_PAYLOAD];
      const next = job.steps.length === 0 ? undefined : job.steps.shift();
      if (next === undefined) {
        this.finish(job, "ok", "", result);
        return;
      }
      // Pipeline: the result becomes the next step's payload.
      job.payload = job.raw ? result : [singleFrame(result)];
      job.type = next;
      job.step++;
      this.publishEvent(`job.step.${next}`, { id: job.id, step: next });
      // Not waited for: if it is lost, a replay runs the previous step again (at-least-once).
      this.journal?.append(this.acceptedRecord(job));
      this.submitStep(job, now);
      return;
    }
    if (outcome === "cancelled") this.finish(job, ErrorCode.cancelled, message || "cancelled");
    else if (outcome === "expired") this.finish(job, ErrorCode.timeout, message || "the deadline passed");
    else this.finish(job, this.failureCode(job), message);
  }

  private failureCode(job: Job): ErrorCodeName {
    if (job.errorCode !== null) return job.errorCode;
    if (job.placementFailure === "none") return ErrorCode.noSatellite;
    if (job.placementFailure === "full") return ErrorCode.overloaded;
    return ErrorCode.failed;
  }

  // ---- completion ----

  private finish(job: Job, status: "ok" | ErrorCodeName, message: string, result?: Buffer[]): void {
    if (!this.release(job)) return;
    this.trackerJobs.delete(job.trackerId);
    if (job.spilled !== null) this.unspill(job);
    // Also while the journal is failed: the record waits in memory and the reply waits for it.
    const journal = this.journal;
    const keep = journal !== null || job.origin.kind === "titanic";
    if (!keep) {
      this.deliver(job, status, message, result);
      return;
    }
    const record: CompletedRecord = {
      k: "completed",
      id: job.id,
      firstType: job.firstType,
      key: job.key ?? null,
      status,
      message,
      result: status === "ok" ? (result ?? [NULL_PAYLOAD]) : null,
      raw: job.raw,
      attempts: Math.max(job.attempt, 1),
      receivedAt: job.receivedAt,
      completedAt: Date.now(),
      // A failed job keeps its payload for `dsat retry` (a pipeline retries from this step's input).
      payload: status === "ok" ? null : job.payload,
      steps: status === "ok" ? [] : [job.type, ...job.steps],
      origin: originToJournal(job.origin, job.owner),
    };
    if (journal === null) {
      this.finishedInMemory.set(job.id, record);
      this.deliver(job, status, message, result);
      return;
    }
    // The reply leaves once the record is on disk: a client that got a result finds it again.
    const seq = journal.append(record);
    this.repliesAwaitingCommit.push({ seq, job, status, message, result });
    this.requestCommit();
  }

  /** The job's reply, to its requester and to anyone who resubmitted it meanwhile. */
  private deliver(job: Job, status: "ok" | ErrorCodeName, message: string, result?: Buffer[]): void {
    const origins = job.waiters === null ? [job.origin] : [job.origin, ...job.waiters];
    for (const origin of origins) {
      job.origin = origin;
      if (status === "ok") this.outbox.replyOk(job, result ?? [NULL_PAYLOAD]);
      else this.outbox.replyError(origin, job.id, status, message, job.firstType);
    }
  }

  /** Cancels a job on behalf of its owner (anyone else's cancel is ignored). */
  private cancel(owner: string, jobId: string, now: number): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.owner !== owner) return;
    // Not with the tracker yet (its acceptance is not on disk, or it was recovered and waits to be
    // placed): the cancel is applied as soon as it is submitted.
    if (!this.trackerJobs.has(job.trackerId)) {
      job.cancelRequested = true;
      return;
    }
    this.trackerStep({ kind: "cancel", jobId: job.trackerId }, now);
    this.runEffects(now);
  }

  // ---- Titanic (9/TSP): durable request/reply for plain MDP clients ----

  /** titanic.request / titanic.reply / titanic.close, answered with 9/TSP's status frames. */
  private onTitanic(route: Buffer, service: string, body: Buffer[]): void {
    const answer = (...frames: Array<string | Buffer>) =>
      this.frontendWriter?.send([
        route,
        ...plainClientReplyFrames(
          Buffer.from(service),
          frames.map((frame) => (typeof frame === "string" ? Buffer.from(frame) : frame)),
        ),
      ]);
    switch (service) {
      case "titanic.request": {
        const type = body[0]?.toString() ?? "";
        const problem =
          body.length < 2 ? "expected the service name, then the request frames" : this.titanicType(type);
        if (problem !== null) {
          answer("500", problem);
          return;
        }
        const id = randomUUID().replaceAll("-", "");
        this.titanicRequesters.set(id, route);
        // 9/TSP's promise: stored now, served when a worker for the service is there, until its
        // deadline (limits.titanicTimeoutMs), however long none is.
        const refusal = this.submit({
          origin: { kind: "titanic" },
          owner: TITANIC_OWNER,
          type,
          id,
          timeoutMs: this.config.limits.titanicTimeoutMs,
          payload: body.slice(1),
          raw: true,
        });
        if (refusal !== null) this.replyTitanicAccepted(id, refusal);
        // Without a journal the job is only in memory: say so at once (9/TSP's promise is weaker).
        else if (this.journal === null) this.replyTitanicAccepted(id);
        return;
      }
      case "titanic.reply": {
        const id = body[0]?.toString() ?? "";
        const state = this.titanicJobState(id);
        if (state === "pending") answer("300");
        else if (state === undefined) answer("400");
        else if (state.status === "ok") answer("200", ...(state.result ?? []));
        else answer("500", state.status, state.message);
        return;
      }
      case "titanic.close": {
        const id = body[0]?.toString() ?? "";
        const state = this.titanicJobState(id);
        if (state !== undefined && state !== "pending") {
          if (this.journal !== null) this.journal.forget(id);
          else this.finishedInMemory.delete(id);
        }
        answer("200");
        return;
      }
      default:
        // 9/TSP has three services; its status codes are 200, 300, 400 and 500 only.
        answer("500", `unknown titanic service "${service}"`);
    }
  }

  /**
   * A Titanic job by its uuid: "pending" while it runs or its result is not on disk yet, its
   * record once finished. Only jobs titanic.request made: its random uuid is the capability
   * (9/TSP), while other jobs' ids are chosen by their clients and belong to them (a Titanic
   * peer naming one learns nothing: 400, and close leaves it alone).
   */
  private titanicJobState(id: string): "pending" | CompletedRecord | undefined {
    const live = this.jobs.get(id);
    if (live !== undefined && live.owner === TITANIC_OWNER) return "pending";
    if (live === undefined && this.titanicFinishing(id)) return "pending";
    const record = live === undefined ? this.finishedJob(id) : undefined;
    if (live !== undefined || (record !== undefined && ownerFromJournal(record.origin) !== TITANIC_OWNER)) {
      this.counters.security.foreignJobRefused++;
      return undefined;
    }
    return record;
  }

  /** A finished job whose completed record waits for the disk. */
  private titanicFinishing(id: string): boolean {
    return this.repliesAwaitingCommit.some(
      (reply) => reply.job.id === id && reply.job.owner === TITANIC_OWNER,
    );
  }

  /**
   * Why a titanic.request for `type` cannot be stored (null when it can). A type nobody declared
   * is learnt here when dynamicTypes allows it, so the request waits for its first worker.
   */
  private titanicType(type: string): string | null {
    if (!/^[\x21-\x7e]{1,255}$/.test(type) || isReservedService(type))
      return `"${type}" is not a service name workers may serve`;
    if (this.typeConfig(type) !== undefined) return null;
    if (!this.config.dynamicTypes) return `unknown service "${type}": the topology does not declare it`;
    if (this.dynamicTypes.size >= this.config.limits.dynamicTypesMax)
      return `unknown service "${type}" and no room for a new one (limits.dynamicTypesMax)`;
    this.learnType(type);
    return null;
  }

  /** Who asked for a titanic job, until its acceptance is on disk. */
  private readonly titanicRequesters = new Map<string, Buffer>();

  /** titanic.request's answer: 200 and the uuid once the job is on disk (or 500 and why not). */
  private replyTitanicAccepted(id: string, refusal?: string): void {
    const route = this.titanicRequesters.get(id);
    if (route === undefined) return;
    this.titanicRequesters.delete(id);
    const body = refusal === undefined ? ["200", id] : ["500", refusal];
    this.frontendWriter?.send([
      route,
      ...plainClientReplyFrames(
        Buffer.from("titanic.request"),
        body.map((frame) => Buffer.from(frame)),
      ),
    ]);
  }

  // ---- MMI (8/MMI) ----

  private onMmi(origin: Origin, body: Buffer[], batchService = ""): void {
    const service =
      origin.kind === "publish" || origin.kind === "titanic"
        ? ""
        : origin.kind === "batch"
          ? batchService
          : origin.service.toString();
    let answer = "501";
    if (service === "mmi.service") {
      let name = body[0]?.toString() ?? "";
      if (origin.kind === "dsat" || origin.kind === "batch") {
        try {
          // Checked before decoding: a name is a short string, never a megabyte of map.
          name = String(decodeShaped(body[0] ?? EMPTY, inputShapes(this.config.limits).serviceName));
        } catch {
          name = "";
        }
      }
      // Live workers, or a service the orchestrator answers itself (mmi.*, titanic.*, dsat.*).
      answer = this.registry.serving(name).size > 0 || isReservedService(name) ? "200" : "404";
    }
    this.outbox.replyStatus(origin, answer);
  }

  // ---- intake (PUB -> XSUB) ----

  private onIntake(frames: Buffer[]): void {
    // [type, payload] or [type, header, payload]; subscription control frames never arrive here.
    if (frames.length < 2 || frames.length > 3) {
      this.counters.malformed.intake++;
      return;
    }
    const type = frames[0].toString();
    if (!/^[\x21-\x7e]{1,255}$/.test(type) || type.startsWith("mmi.")) {
      this.counters.malformed.intake++;
      return;
    }
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    let id: string | undefined;
    let key: string | undefined;
    if (frames.length === 3) {
      // Size and key count are checked on the bytes before the header is decoded.
      const header = parseIntakeHeader(frames[1], this.config.limits);
      if (typeof header === "string") {
        this.counters.malformed.intake++;
        return;
      }
      id = header.id;
      key = header.key;
    }
    if (bytes > this.config.limits.messageBytesMax) {
      this.counters.tooLarge++;
      this.publishEvent(`result.${type}`, {
        id: id ?? "",
        type,
        status: ErrorCode.tooLarge,
        error: "message too large",
      });
      return;
    }
    this.submit({
      origin: { kind: "publish" },
      owner: PUBLISH_OWNER,
      type,
      id,
      key,
      payload: [frames[frames.length - 1]],
      raw: false,
    });
  }

  // ---- control ----

  private onControl(frames: Buffer[]): void {
    const request = parseControlRequest(frames, this.config.limits);
    if (request === null) {
      this.counters.malformed.control++;
      return;
    }
    const refusal = authorizeControl(this.controlKeys, request);
    if (refusal !== null) {
      this.counters.security.controlRefused++;
      // Rate-limited like handshake refusals, per key (or role when the request named none).
      const muted = this.refusalEvents.allow(`control ${refusal.keyName ?? refusal.role}`);
      if (muted !== null)
        this.publishEvent("security.refused", {
          mechanism: "CURVE",
          address: "control",
          reason: refusal.reason,
          command: request.command,
          role: refusal.role,
          key: refusal.keyName,
          muted,
        });
      this.controlWriter?.send(controlReplyFrames(request, forbiddenReply(refusal)));
      return;
    }
    this.controlWriter?.send(controlReplyFrames(request, answerControl(this.controlHandlers, request)));
  }

  private readonly controlHandlers: ControlHandlers = {
    jobs: (request) => {
      const page = parseJobsPage(request);
      return "error" in page
        ? { ok: false, error: page.error }
        : { ok: true, ...this.listJobs(request, page) };
    },
    retry: (id) => this.retry(id),
    status: () => this.status(),
    reloadKeys: () => ({ ok: this.zap !== null, ...this.reloadKeys() }),
    jobsHeld: () => this.jobs.size,
  };

  /**
   * `dsat jobs`: live jobs (with the tracker's state) and finished ones kept by the journal, newest
   * first, filtered by `state` (a tracker state, "live", "finished", or an outcome) and `id`; one
   * page of them (src/orchestrator/jobs-page.ts), `total` counting every match.
   */
  listJobs(
    request: { state?: unknown; id?: unknown },
    page: JobsPage = { limit: JOBS_PAGE_DEFAULT, after: null },
  ): { jobs: JobSummary[]; total: number; next: string | null } {
    const state = typeof request.state === "string" ? request.state : undefined;
    const id = typeof request.id === "string" ? request.id : undefined;
    const recovering = new Set(this.recovering ?? []);
    const all: JobSummary[] = [];
    const consider = (summary: JobSummary) => {
      if (id !== undefined && summary.id !== id) return;
      if (state !== undefined && state !== summary.state && state !== summary.phase) return;
      all.push(summary);
    };
    for (const job of this.jobs.values()) {
      const tracked =
        this.trackerJobs.get(job.trackerId) === job ? this.tracker.jobInfo(job.trackerId) : undefined;
      consider({
        id: job.id,
        type: job.type,
        phase: "live",
        state: tracked?.state ?? (recovering.has(job) ? "recovering" : "accepted"),
        step: job.step,
        attempt: tracked?.attempt ?? job.attempt,
        satellite: job.satellite?.id ?? null,
        receivedAt: job.receivedAt,
        completedAt: null,
        message: null,
      });
    }
    const finished = this.journal?.finished ?? this.finishedInMemory;
    for (const record of finished.values()) {
      consider({
        id: record.id,
        type: record.firstType,
        phase: "finished",
        state: finishedState(record.status),
        step: null,
        attempt: record.attempts,
        satellite: null,
        receivedAt: record.receivedAt,
        completedAt: record.completedAt,
        message: record.status === "ok" ? null : `${record.status}: ${record.message}`,
      });
    }
    return jobsPage(all, page);
  }

  /**
   * `dsat retry ID`: runs a failed (dead-lettered) job again from the step that failed, with that
   * step's input. Its result is published on the events socket as `result.<type>` (the original
   * client may be long gone); a client resubmitting the id meanwhile is attached to it.
   */
  retry(id: string): { ok: boolean; id?: string; error?: string } {
    if (this.jobs.has(id)) return { ok: false, error: `job "${id}" is still running` };
    const record = this.finishedJob(id);
    if (record === undefined)
      return { ok: false, error: `no finished job "${id}" is kept (retention passed?)` };
    if (record.status === "ok") return { ok: false, error: `job "${id}" succeeded; nothing to retry` };
    if (record.payload === null || record.steps.length === 0)
      return { ok: false, error: `job "${id}" kept no payload to run again` };
    if (this.typeConfig(record.steps[0]) === undefined)
      return { ok: false, error: `job type "${record.steps[0]}" is not served any more` };
    // Like any new job: refused while the journal cannot make it durable (try again later).
    if (this.journalError !== null)
      return { ok: false, error: `the journal failed: ${this.journalError}; retry once it is back` };
    this.journal?.forget(id);
    this.finishedInMemory.delete(id);
    const now = Date.now();
    const typeConfig = this.typeConfig(record.steps[0]) as ResolvedTypeConfig;
    const job: Job = {
      ...this.jobFromRecord(record, { kind: "publish" }),
      type: record.steps[0],
      steps: record.steps.slice(1),
      deadlineAt: now + typeConfig.timeoutMs,
      receivedAt: now,
    };
    this.hold(job);
    this.publishEvent("job.retried", { id, type: job.type });
    if (this.journal === null) this.submitStep(job, now);
    else {
      job.journalSeq = this.journal.append(this.acceptedRecord(job));
      this.awaitingCommit.push(job);
      this.requestCommit();
    }
    return { ok: true, id };
  }

  /** A snapshot for `dsat status` and tests. */
  status(): {
    jobs: { inFlight: number; waiting: number };
    satellites: Array<Record<string, unknown>>;
    stats: Record<string, Record<string, number>>;
    tracker: Record<string, unknown>;
    journal: Record<string, unknown> | null;
    /** Payload bytes of the jobs held, and bytes of replies waiting for peers that do not read. */
    held: { bytes: number; unreadReplyBytes: number };
    /** Jobs waiting for a free slot of their candidates (the waiting room or the disk spill). */
    waiting: { jobs: number; bytes: number; where: string };
    diskSpill: {
      dir: string;
      jobs: number;
      bytes: number;
      fileBytes: number;
      peakJobs: number;
      spilledTotal: number;
    } | null;
    counters: OrchestratorCounters;
    /** Job types known: declared ones and those learnt from satellites (dynamicTypes). */
    typesKnown: number;
    /** CRUSH device ids in use: live satellites and those within their grace window. */
    devicesInUse: number;
  } {
    let queued = 0;
    for (const satellite of this.registry.all()) queued += satellite.queue.length - satellite.queueHead;
    const trackerStats = this.tracker.stats();
    return {
      jobs: { inFlight: this.jobs.size, waiting: queued },
      satellites: [...this.registry.all()].map((satellite) => ({
        id: satellite.id,
        types: [...satellite.types],
        location: satellite.location.map(([level, name]) => `${level}=${name}`).join(","),
        capacity: satellite.capacity,
        weight: satellite.weight,
        heartbeatMs: satellite.heartbeatMs,
        inFlight: satellite.inFlight,
        queued: satellite.queue.length - satellite.queueHead,
        done: satellite.done,
        failed: satellite.failed,
        draining: satellite.draining,
        protocol: satellite.dsat ? "dsat/1" : "MDP/0.1",
      })),
      stats: Object.fromEntries(
        Object.entries(trackerStats.types).map(([type, stats]) => [
          type,
          { ...stats } as unknown as Record<string, number>,
        ]),
      ),
      tracker: {
        jobsTracked: trackerStats.jobsTracked,
        timersPending: trackerStats.timersPending,
        illegalTransitions: trackerStats.illegalTransitions,
        unknownJobEvents: trackerStats.unknownJobEvents,
        breakersOpen: [...this.breakerOpen],
      },
      journal:
        this.journal === null
          ? null
          : {
              dir: this.config.journal?.dir,
              committedSeq: this.journal.committedSeq,
              sizeBytes: this.journal.sizeBytes,
              finishedKept: this.journal.finished.size,
              recovered: this.counters.recovered,
              ...this.journal.counters,
              damage: this.journal.damage,
              ...(this.journalError !== null
                ? { error: this.journalError, failedForMs: Date.now() - this.journalFailedAt }
                : {}),
            },
      waiting: { jobs: this.spill.size(), bytes: this.spill.bytes, where: this.spill.dir },
      held: { bytes: this.heldBytes, unreadReplyBytes: this.frontendWriter?.backlogBytesHeld ?? 0 },
      diskSpill: !(this.spill instanceof DiskSpill)
        ? null
        : {
            dir: this.spill.dir,
            jobs: this.spill.size(),
            bytes: this.spill.bytes,
            fileBytes: this.spill.fileBytes,
            peakJobs: this.spill.peakJobs,
            spilledTotal: this.spill.spilledTotal,
          },
      counters: structuredClone(this.counters),
      typesKnown: this.config.types.size,
      devicesInUse: this.registry.devicesInUse,
    };
  }

  // ---- time ----

  private tick(now: number): void {
    this.noticeOwnStall(now);
    const limits = this.config.limits;
    const heartbeatDue = now - this.lastHeartbeatAt >= limits.heartbeatMs;
    if (heartbeatDue) this.lastHeartbeatAt = now;
    for (const satellite of [...this.registry.all()]) {
      const silentMs = now - satellite.lastHeardAt;
      if (silentMs > satellite.heartbeatMs * limits.heartbeatLiveness && !this.busyPlainWorker(satellite)) {
        this.loseSatellite(satellite, `silent for ${silentMs} ms`);
        continue;
      }
      // A satellite whose connection is gone has one liveness window (two, after our own stall) to
      // come back on a new one before its jobs are rerouted: a process reconnecting keeps them.
      const goneMs = now - satellite.connectionGoneAt; // NaN while connected
      const goneGraceMs =
        satellite.heartbeatMs * limits.heartbeatLiveness * (now < this.blamelessUntil ? 2 : 1);
      if (goneMs >= goneGraceMs) {
        this.loseSatellite(satellite, "its connection is gone");
        continue;
      }
      if (heartbeatDue)
        this.frontendWriter?.send([satellite.routingId, ...workerCommandFrames(WorkerCommand.heartbeat)]);
    }
    const trackerNow = this.trackerNow(now);
    for (let round = 0; round < 10; round++) {
      if (this.tracker.tick(trackerNow) < this.tracker.config.timersPerTickMax) break;
    }
    this.runEffects(now);
    for (const type of this.registry.sweep(now)) this.placements.delete(type);
    if (this.guard.active) this.guard.sweep(now);
    if (now - this.lastMaintainAt >= 1000) {
      this.lastMaintainAt = now;
      this.challenges.sweep(now);
      this.evictIdleTypes();
      this.journal?.maintain(now, () => this.liveRecords()).catch(this.onJournalFailedBound);
    }
    this.probeJournal(now);
    if (now - this.lastStatsAt >= STATS_EVERY_MS) {
      // DSAT's tracker counters, for dashboards listening on the events socket.
      this.lastStatsAt = now;
      this.publishEvent("stats", { types: this.tracker.stats().types, jobsInFlight: this.jobs.size });
    }
  }

  /**
   * 7/MDP's reference workers send no heartbeats while they work: while such a worker's current
   * attempt runs, the job's run timeout governs it, not silence, so the job does not run twice.
   * A plain worker seen heartbeating while busy is judged by silence like any other.
   */
  private busyPlainWorker(satellite: SatelliteInfo): boolean {
    return !satellite.dsat && !satellite.heartbeatsWhileBusy && this.hasCurrentAttempt(satellite);
  }

  private hasCurrentAttempt(satellite: SatelliteInfo): boolean {
    if (satellite.inFlight === 0) return false;
    for (const job of (satellite.running as Map<Job, number>).keys())
      if (job.satellite === satellite) return true;
    return false;
  }

  /**
   * A tick much later than its period means this process did not run (GC, a slow disk, a burst
   * of work): peers' heartbeats and progress may sit unread in the sockets. So every satellite
   * gets a fresh liveness window, losses within it do not count toward poison, and the tracker's
   * clock skips the stall (its ack, stall and run timers measure time we were running).
   */
  private noticeOwnStall(now: number): void {
    const gapMs = now - this.lastTickAt;
    const late = this.lastTickAt > 0 && gapMs > Math.max(1000, this.config.limits.heartbeatMs);
    this.lastTickAt = now;
    if (!late) return;
    const stalledMs = gapMs - this.tickMs;
    this.stalledMs += stalledMs;
    this.counters.ownStalls++;
    const limits = this.config.limits;
    let window = 0;
    for (const satellite of this.registry.all()) {
      satellite.lastHeardAt = Math.max(satellite.lastHeardAt, now);
      window = Math.max(window, satellite.heartbeatMs * limits.heartbeatLiveness);
    }
    this.blamelessUntil = now + Math.max(window, limits.heartbeatMs * limits.heartbeatLiveness);
    this.config.log(
      `orchestrator: this process stalled for ${stalledMs} ms; peers get a fresh liveness window`,
    );
    this.publishEvent("orchestrator.stalled", { ms: stalledMs });
  }

  /** Steps the tracker on its own clock (trackerNow). */
  private trackerStep(event: TrackerEvent, now: number): void {
    this.tracker.step(event, now - this.stalledMs);
  }

  /** The tracker's clock: wall time less this process's own stalls (noticeOwnStall). */
  private trackerNow(now: number): number {
    return now - this.stalledMs;
  }

  private lastTickAt = 0;
  private stalledMs = 0;
  private blamelessUntil = 0;
  /** The period of tick(): heartbeats, liveness, timers. */
  private readonly tickMs: number;

  /** Learnt types with no satellite (even within its grace window) and no job are forgotten. */
  private evictIdleTypes(): void {
    if (this.dynamicTypes.size === 0) return;
    const idle = [...this.dynamicTypes].filter((type) => !this.registry.knowsType(type));
    if (idle.length === 0) return;
    const busy = new Set<string>();
    for (const job of this.jobs.values()) {
      busy.add(job.type);
      for (const step of job.steps) busy.add(step);
    }
    for (const type of idle) {
      if (busy.has(type) || !this.tracker.evictType(type)) continue;
      this.dynamicTypes.delete(type);
      this.config.types.delete(type);
      this.placements.delete(type);
      this.pipelines.delete(type);
    }
  }

  private lastHeartbeatAt = 0;
  private lastMaintainAt = 0;
  private lastStatsAt = 0;

  // ---- events and stats ----

  publishEvent(topic: string, fields: Record<string, unknown>): void {
    const event = { ...fields, at: Date.now() };
    this.eventsWriter?.send([Buffer.from(topic), encode(event)]);
    if (this.listeners.size > 0) for (const listener of this.listeners) listener(topic, event);
  }

  private readonly listeners = new Set<(topic: string, event: Record<string, unknown>) => void>();

  /**
   * Calls `listener` with every event the orchestrator publishes (in process, e.g. a pm2
   * watchdog). Returns a function that removes it.
   */
  onEvent(listener: (topic: string, event: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export { DSAT_MARK, MDP_WORKER };

/**
 * Binds, retrying "Address already in use" for up to 3 s: the previous orchestrator on this
 * endpoint (stopped in this process, or just restarted) may still be releasing it.
 */
async function bindRetrying(socket: Router | XSubscriber | XPublisher, endpoint: string): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      await socket.bind(endpoint);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "EADDRINUSE" || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The entries of a REQUEST-BATCH we sent (our own encoding; anything odd is skipped). */
function decodeJobEntries(frame: Buffer): JobEntry[] {
  try {
    const entries = decode(frame);
    return Array.isArray(entries) ? entries.filter(isJobEntry) : [];
  } catch {
    return [];
  }
}

/** Error codes a plain worker may answer with after which a retry cannot help. */
const FINAL_PLAIN_ERRORS: ReadonlySet<string> = new Set([
  ErrorCode.malformed,
  ErrorCode.tooLarge,
  ErrorCode.rejected,
]);

/** [DSAT_ERR_<CODE>, message]: how a plain worker (and the orchestrator, to plain clients) says "error". */
function isPlainError(body: Buffer[]): boolean {
  return body.length === 2 && body[0].length <= 40 && /^DSAT_ERR_[A-Z_]+$/.test(body[0].toString("latin1"));
}

/** A READY from the process `satellite` already is (same incarnation, same announcement). */
function sameProcess(satellite: SatelliteInfo, hello: SatelliteHello): boolean {
  return (
    satellite.incarnation !== null &&
    satellite.incarnation === hello.incarnation &&
    satellite.capacity === hello.capacity &&
    satellite.weight === hello.weight &&
    satellite.types.length === hello.types.length &&
    satellite.types.every((type, index) => hello.types[index] === type) &&
    satellite.location.length === hello.location.length &&
    satellite.location.every(
      ([level, name], index) => hello.location[index][0] === level && hello.location[index][1] === name,
    )
  );
}

/** The service name of a cancel request (dsat clients only). */
const CANCEL_SERVICE = "dsat.cancel";

const NO_CANDIDATES: readonly string[] = [];
/** Messages libzmq queues per frontend peer before sends to it wait in the writer's backlog. */
const FRONTEND_SEND_HWM = 200;
/** Bytes the frontend writer holds for one peer at its high-water mark, and for all peers. */
const PEER_BACKLOG_BYTES_MAX = 16 * 1024 * 1024;
const BACKLOG_BYTES_TOTAL_MAX = 256 * 1024 * 1024;
/** Bytes of replies held for a client (it is at its high-water mark) past which it is refused new jobs. */
const SLOW_READER_BYTES = 1024 * 1024;
/** Waiting jobs a freed slot looks through for one it may run (drainTo). */
const WAITING_SCAN_MAX = 256;
/** How often per-type stats are published as a `stats` event. */
const STATS_EVERY_MS = 5000;
/** While the journal is failed, how often probe() tries the disk (each try writes the kept records). */
const JOURNAL_PROBE_EVERY_MS = 1000;

/** Shared empty pipeline (jobs without `next` steps); never mutated. */
const NO_STEPS: string[] = [];
