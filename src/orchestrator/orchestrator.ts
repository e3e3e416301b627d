// The orchestrator's shell: binds the frontend ROUTER (clients and satellites, 7/MDP + dsat
// extensions), the intake XSUB, the events XPUB and the control ROUTER, and runs the loop around
// the router (router/, docs/router.md): frames, timers and journal callbacks become events ->
// router.step(event, now) -> its effects performed here (frames sent through one writer per
// socket, events published, journal appends and group commits) -> batches flushed once per
// event-loop turn. Every decision is the router's; this file only does I/O.
import { randomBytes } from "node:crypto";
import type { Router, XPublisher, XSubscriber } from "zeromq";
import { changeLogLevel, type LogLevel } from "../log/index.ts";
import { encode, WorkerCommand, workerCommandFrames } from "../protocol/index.ts";
import { ControlProofVerifier, RefusalLimiter, ZapHandler } from "../security/index.ts";
import { SpanSink } from "../tracing/index.ts";
import { EndOfTurn, receiveEach, SocketWriter } from "../transport/index.ts";
import type { AdmissionContext } from "./admission.ts";
import { type OrchestratorConfig, type ResolvedConfig, resolveConfig } from "./config.ts";
import type { ControlHandlers } from "./control.ts";
import type { ControlKeys } from "./control-auth.ts";
import { controlPort } from "./control-port.ts";
import { EventSubscriptions } from "./event-subscriptions.ts";
import type { JobSummary } from "./job.ts";
import type { JobSpill } from "./job-spill.ts";
import { JOBS_PAGE_DEFAULT, type JobsPage, parseJobsPage } from "./jobs-page.ts";
import { JournalDriver, type JournalSource, type ShellJournal } from "./journal-driver.ts";
import { RECOVERY_POLL_MS } from "./recovery.ts";
import type { SatelliteRegistry } from "./registry.ts";
import { JobRouter, tickPeriodMs } from "./router/router.ts";
import type { RouterCounters, RouterEffect, RouterEvent } from "./router/types.ts";
import { bindEndpoint, createSockets, WRITER_OPTIONS } from "./sockets.ts";
import { DiskSpill } from "./spill.ts";
import { WaitingRoom } from "./waiting-room.ts";

export class Orchestrator {
  readonly config: ResolvedConfig;
  /** Every decision: placement, tracking, admission, replies (router/router.ts). */
  readonly router: JobRouter;
  private frontend: Router | null = null;
  private intake: XSubscriber | null = null;
  private events: XPublisher | null = null;
  private control: Router | null = null;
  private frontendWriter: SocketWriter | null = null;
  private eventsWriter: SocketWriter | null = null;
  private controlWriter: SocketWriter | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private running = false;
  private journalDriver: JournalDriver | null = null;

  /** The durable journal (null when the topology has none): docs/journal.md. */
  get journal(): ShellJournal | null {
    return this.journalDriver?.journal ?? null;
  }
  /** Where jobs wait for a slot: the disk spill, or the waiting room in memory. */
  private readonly spill: JobSpill;
  /** ZAP handler and allow-lists (null without security). */
  zap: ZapHandler | null = null;
  /** At most one security.refused event per peer per second (counters count them all). */
  /** Allow-lists and proof checker for control requests (null without security: all are admins). */
  private controlKeys: ControlKeys | null = null;
  private readonly refusalEvents = new RefusalLimiter();
  /** Events raised while effects are performed (a send that found no peer), stepped after them. */
  private readonly raised: RouterEvent[] = [];
  /** Batches leave once per event-loop turn, however many messages the turn brought. */
  private readonly endOfTurn = new EndOfTurn(() => this.performEffects(true));

  /**
   * @param journalSource a journal opened elsewhere, with its replay: a replicated orchestrator's
   *   (replicated/node.ts), whose records commit through Raft. `config.journal` still sets retention
   *   and recovery; its directory is not opened.
   */
  constructor(
    config: OrchestratorConfig,
    private readonly journalSource?: () => JournalSource,
  ) {
    this.config = resolveConfig(config);
    this.spill =
      this.config.diskSpill !== null
        ? new DiskSpill(this.config.diskSpill.dir)
        : new WaitingRoom(this.config.limits.waitingBytesMax);
    this.router = new JobRouter(this.config, {
      random: Math.random,
      randomBytes,
      instance: Date.now().toString(36),
      peerBacklogBytes: (route) => this.frontendWriter?.backlogBytesOf(route) ?? 0,
      spill: this.spill,
      curve: () => this.curveAdmission(),
    });
  }

  get registry(): SatelliteRegistry {
    return this.router.registry;
  }

  get tracker(): JobRouter["tracker"] {
    return this.router.tracker;
  }

  get counters(): RouterCounters {
    return this.router.counters;
  }

  // ---- the loop: events in, effects out ----

  /**
   * Steps the router with one event; its effects go now, its batches at the end of this turn (or,
   * with `batchesByCaller`, when the receive loop that called finds its socket drained).
   */
  private step(event: RouterEvent, batchesByCaller = false): ReturnType<JobRouter["step"]> {
    const answer = this.router.step(event, Date.now());
    this.performEffects(false);
    if (!batchesByCaller) this.endOfTurn.schedule();
    return answer;
  }

  /** Performs the router's effects in order, then steps what their performing raised. */
  private performEffects(flushBatches: boolean): void {
    for (const effect of this.router.takeEffects(flushBatches)) this.perform(effect);
    while (this.raised.length > 0) {
      const event = this.raised.shift() as RouterEvent;
      this.router.step(event, Date.now());
      for (const effect of this.router.takeEffects(false)) this.perform(effect);
    }
  }

  private perform(effect: RouterEffect): void {
    switch (effect.kind) {
      case "send":
        this.frontendWriter?.send(effect.frames);
        return;
      case "publish":
        this.publishEvent(effect.topic, effect.fields);
        return;
      case "journal-append":
        this.journalDriver?.append(effect.record, effect.seq);
        return;
      case "journal-commit":
        this.journalDriver?.commit();
        return;
      case "log":
        this.config.log(effect.line);
        return;
      case "span":
        this.spans.record(effect);
        return;
    }
  }

  /** Performs `span` effects (traced jobs only). */
  private readonly spans = new SpanSink();

  private onTick(): void {
    this.step({ kind: "tick" });
    this.journalDriver?.tick(Date.now(), this.router.journalFailure, () => this.router.liveRecords());
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

  /** Binds a socket's endpoints; a peer without CURVE is counted as a refused handshake. */
  private async bindAll(socket: Router | XSubscriber | XPublisher, endpoints: string[]): Promise<void> {
    for (const endpoint of endpoints) await bindEndpoint(socket, endpoint);
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
    this.router.counters.security.refused++;
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
    const journalPorts = {
      step: (event: RouterEvent) => this.step(event),
      raise: (event: RouterEvent) => this.raised.push(event),
      running: () => this.running,
    };
    if (this.journalSource !== undefined)
      this.journalDriver = JournalDriver.attach(this.journalSource(), journalPorts);
    else if (this.config.journal !== null)
      this.journalDriver = JournalDriver.open(this.config.journal, this.config.log, journalPorts);
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
    const sockets = createSockets(this.config);
    this.frontend = sockets.frontend;
    await this.bindAll(sockets.frontend, this.config.frontend);
    this.frontendWriter = new SocketWriter(sockets.frontend, {
      ...WRITER_OPTIONS.frontend,
      onDrop: (frames, reason) => {
        this.router.counters.dropped++;
        // Stepped after the effects being performed (the router is never re-entered).
        if (reason === "unroutable" && frames[0] !== undefined)
          this.raised.push({ kind: "peer-gone", route: frames[0] }, { kind: "undelivered", frames });
      },
    });
    this.intake = sockets.intake;
    if (this.intake !== null) {
      await this.bindAll(this.intake, this.config.intake);
      // Subscribe to every topic on every connected publisher.
      await this.intake.send(Buffer.from([1]));
    }
    this.events = sockets.events;
    const subscriptions = this.events === null ? null : await this.startEvents(this.events);
    this.control = sockets.control;
    if (this.control !== null) await this.startControl(this.control);
    this.running = true;
    // Damage recovery set aside (docs/journal.md, "Damage"): logged at open, announced once bound.
    for (const damage of this.journal?.damage ?? []) this.publishEvent("journal.damaged", { ...damage });
    this.step({ kind: "bound" });
    void this.receiveLoop(
      sockets.frontend,
      "frontend",
      (frames) => this.step({ kind: "frontend", frames }, true),
      true,
    );
    if (this.intake !== null)
      void this.receiveLoop(
        this.intake,
        "intake",
        (frames) => this.step({ kind: "intake", frames }, true),
        true,
      );
    // The events socket receives subscriptions (libzmq applies them); anything else is counted and dropped.
    // Its own loop: it reads on through the resets that drop every subscriber (event-subscriptions.ts).
    if (subscriptions !== null) void subscriptions.run(() => this.router.counters.malformed.events++);
    if (this.control !== null) {
      const onControl = controlPort({
        limits: this.config.limits,
        handlers: this.controlHandlers,
        keys: () => this.controlKeys,
        counters: this.router.counters,
        refusals: this.refusalEvents,
        publish: (topic, fields) => this.publishEvent(topic, fields),
        send: (frames) => this.controlWriter?.send(frames),
        logger: this.config.logger,
      });
      void this.receiveLoop(this.control, "control", onControl);
    }
    this.startTimers();
  }

  /** The events XPUB bound, its writer, and the caps on its subscriptions (event-subscriptions.ts). */
  private async startEvents(events: XPublisher): Promise<EventSubscriptions> {
    await this.bindAll(events, this.config.events);
    this.eventsWriter = new SocketWriter(events, { ...WRITER_OPTIONS.events, onDrop: () => {} });
    const limits = this.config.limits;
    return new EventSubscriptions({
      socket: events,
      endpoints: this.config.events,
      rebind: (endpoint) => bindEndpoint(events, endpoint),
      subscriptionsMax: limits.eventSubscriptionsMax,
      subscriptionBytesMax: limits.eventSubscriptionBytesMax,
      onDrop: (reason, muted) => {
        this.router.counters.security.eventSubscribersDropped++;
        if (muted !== null) this.publishEvent("security.subscriptions-capped", { reason, muted });
      },
      log: this.config.log,
    });
  }

  /** The control ROUTER bound, its writer, and who may run what (control-auth.ts). */
  private async startControl(control: Router): Promise<void> {
    await this.bindAll(control, this.config.control);
    this.controlWriter = new SocketWriter(control, { ...WRITER_OPTIONS.control, onDrop: () => {} });
    if (this.config.controlWarning !== null) this.config.log(`warning: ${this.config.controlWarning}`);
    const security = this.config.security;
    if (security === null || this.zap === null) return;
    this.controlKeys = { zap: this.zap, verifier: new ControlProofVerifier(security.serverKey) };
    if (security.adminKeysDir === undefined)
      this.config.log(
        "security: no admin keys (security.admins): control commands jobs, retry, drain, reload-keys and memory are refused",
      );
  }

  /** The tick, and while the recovery window is open, its poll (recovery.ts). */
  private startTimers(): void {
    this.tickTimer = setInterval(() => this.onTick(), tickPeriodMs(this.config.limits.heartbeatMs));
    if (!this.router.isRecovering) return;
    this.recoveryTimer = setInterval(() => {
      this.step({ kind: "recovery-poll" });
      if (!this.router.isRecovering && this.recoveryTimer !== null) {
        clearInterval(this.recoveryTimer);
        this.recoveryTimer = null;
      }
    }, RECOVERY_POLL_MS);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    if (this.recoveryTimer !== null) clearInterval(this.recoveryTimer);
    this.performEffects(true);
    for (const satellite of this.router.registry.all()) {
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
   * down: it is logged and counted as malformed input of that socket, and the loop goes on. With
   * `flushWhenDrained` (its handler steps with batchesByCaller), batches leave as soon as the
   * socket has nothing more to read, and at the end of the turn while more messages wait: a lone
   * job does not wait for a setImmediate (docs/performance.md).
   */
  private async receiveLoop(
    socket: Router | XSubscriber | XPublisher,
    name: "frontend" | "intake" | "control" | "events",
    handle: (frames: Buffer[]) => void,
    flushWhenDrained = false,
  ): Promise<void> {
    const guarded = (frames: Buffer[]) => {
      try {
        handle(frames);
      } catch (error) {
        this.router.counters.malformed[name]++;
        this.config.log(`orchestrator: error handling a ${name} message: ${(error as Error).stack}`);
      }
    };
    const after = {
      drained: () => {
        try {
          this.performEffects(true);
        } catch (error) {
          this.config.log(`orchestrator: error sending after a ${name} message: ${(error as Error).stack}`);
        }
      },
      pending: () => this.endOfTurn.schedule(),
    };
    try {
      await receiveEach(socket, guarded, flushWhenDrained ? after : undefined);
    } catch (error) {
      if (this.running) this.config.log(`orchestrator: ${name} receive failed: ${(error as Error).message}`);
    }
  }

  /** What control commands answer (control-port.ts): snapshots, and retry and drain through the router. */
  private readonly controlHandlers: ControlHandlers = {
    jobs: (request) => {
      const page = parseJobsPage(request);
      return "error" in page
        ? { ok: false, error: page.error }
        : { ok: true, ...this.listJobs(request, page) };
    },
    retry: (id) => this.retry(id),
    drain: (target, drain) =>
      this.step({ kind: "drain", target, drain }) ?? { ok: false, error: "no answer" },
    scoreLock: (target, score) => this.lockScore(target, score),
    configGet: (key) => this.configGet(key),
    configSet: (key, value) => this.configSet(key, value),
    cacheFlush: () => this.step({ kind: "cache-flush" }) ?? { ok: false, error: "no answer" },
    rebalance: (maxMoves) => this.rebalance(maxMoves),
    status: () => this.status(),
    reloadKeys: () => ({ ok: this.zap !== null, ...this.reloadKeys() }),
    jobsHeld: () => this.router.status().jobs.inFlight,
    logLevel: (level) => this.logLevel(level),
  };

  /**
   * The level of the orchestrator's logger (`log-level`), set first when `level` is given. An
   * orchestrator given a line function (OrchestratorConfig.log) has no level to read or set.
   */
  logLevel(level?: unknown): { ok: boolean; level?: LogLevel; previous?: LogLevel; error?: string } {
    return changeLogLevel(this.config.logger, level, "orchestrator");
  }

  /** `dsat jobs`: a page of live and kept jobs, newest first (router.listJobs). */
  listJobs(
    request: { state?: unknown; id?: unknown },
    page: JobsPage = { limit: JOBS_PAGE_DEFAULT, after: null },
  ): { jobs: JobSummary[]; total: number; next: string | null } {
    return this.router.listJobs(request, page);
  }

  /** `dsat drain TARGET`: the satellites it names take no new jobs (also later ones), until undrain. */
  drain(target: string): { ok: boolean; satellites?: string[]; error?: string } {
    return this.step({ kind: "drain", target, drain: true }) ?? { ok: false, error: "no answer" };
  }

  /** `dsat undrain TARGET`: they take new jobs again. */
  undrain(target: string): { ok: boolean; satellites?: string[]; error?: string } {
    return this.step({ kind: "drain", target, drain: false }) ?? { ok: false, error: "no answer" };
  }

  /** `dsat score lock TARGET N` (null: `unlock`): pins the satellites' score, or gives it back to the formula. */
  lockScore(target: string, score: number | null): { ok: boolean; satellites?: string[]; error?: string } {
    return this.step({ kind: "score-lock", target, score }) ?? { ok: false, error: "no answer" };
  }

  /** `dsat rebalance`: queued keyed jobs move to their first placeable candidate now, at most maxMoves. */
  rebalance(maxMoves: number | null = null): ReturnType<JobRouter["step"]> & object {
    return this.step({ kind: "rebalance", maxMoves }) ?? { ok: false, error: "no answer" };
  }

  /** `dsat config get [KEY]`: the settings that change without a restart, or one. */
  configGet(key?: string): { ok: boolean; settings?: Record<string, unknown>; error?: string } {
    return this.router.liveConfig(key);
  }

  /** `dsat config set KEY VALUE`: checked against the topology's schema, then a router event. */
  configSet(key: string, value: unknown): { ok: boolean; value?: unknown; error?: string } {
    const problem = this.config.liveConfigCheck?.(key, value) ?? null;
    if (problem !== null) return { ok: false, error: problem };
    return this.step({ kind: "config-set", key, value }) ?? { ok: false, error: "no answer" };
  }

  /** `dsat retry ID`: a failed job runs again from the step that failed. */
  retry(id: string): { ok: boolean; id?: string; error?: string } {
    return this.step({ kind: "retry", id }) ?? { ok: false, error: "no answer" };
  }

  /** A snapshot for `dsat status` and tests: the router's, with what only the shell knows. */
  status() {
    const { heldBytes, journal: routerJournal, ...status } = this.router.status();
    return {
      ...status,
      journal:
        this.journalDriver === null || routerJournal === null
          ? null
          : this.journalDriver.status(
              this.config.journal?.dir,
              routerJournal,
              status.counters.finishedExpired,
            ),
      held: { bytes: heldBytes, unreadReplyBytes: this.frontendWriter?.backlogBytesHeld ?? 0 },
    };
  }

  // ---- events ----

  publishEvent(topic: string, fields: Record<string, unknown>): void {
    const event = "at" in fields ? fields : { ...fields, at: Date.now() };
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
