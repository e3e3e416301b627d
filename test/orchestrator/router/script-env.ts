// The world around a JobRouter in a script (script.ts): a fake clock, seeded randomness, peers
// that send frames built with src/protocol's builders, and the shell's part played by hand: the
// journal (appends kept, commits answered when the script says `commit`), undeliverable sends
// (a peer marked `gone` bounces them, as libzmq's mandatory ROUTER does) and the tick timer.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeRecord, encodeRecord, JobBook, type JournalRecord } from "../../../src/journal/core.ts";
import {
  type OrchestratorConfig,
  type ResolvedConfig,
  resolveConfig,
} from "../../../src/orchestrator/config.ts";
import type { JobSpill } from "../../../src/orchestrator/job-spill.ts";
import { RECOVERY_POLL_MS } from "../../../src/orchestrator/recovery.ts";
import { JobRouter, tickPeriodMs } from "../../../src/orchestrator/router/router.ts";
import type { RouterEffect, RouterEvent } from "../../../src/orchestrator/router/types.ts";
import { DiskSpill } from "../../../src/orchestrator/spill.ts";
import { WaitingRoom } from "../../../src/orchestrator/waiting-room.ts";
import { encode, MDP_WORKER, WorkerCommand, workerCommandFrames } from "../../../src/protocol/index.ts";
import { seededRandom } from "../../../src/util/index.ts";
import { Args, jsonOrString, words } from "./script-args.ts";
import { formatEffect, type Shown } from "./script-format.ts";
import {
  ackMessage,
  cancelMessage,
  intakeMessage,
  loadMessage,
  mdpMessage,
  readyMessage,
  replyMessages,
  requestMessage,
  titanicMessage,
} from "./script-frames.ts";
import {
  candidateLines,
  jobLines,
  localityLines,
  nearLines,
  scoreLines,
  statsLines,
  statusLines,
} from "./script-snapshots.ts";

interface Satellite {
  readonly route: Buffer;
  /** Its id in the registry (`mdp-<route hex>` for a plain worker). */
  id: string;
  plain: boolean;
  batch: boolean;
  heartbeatMs: number;
  /** When it last sent anything (any message counts as a heartbeat). */
  lastSentAt: number;
  /** Registered and sending heartbeats by itself on `tick` (not after DISCONNECT, `mute`, `gone`). */
  up: boolean;
  muted: boolean;
}

/** "Random" bytes that count up (a Titanic uuid is then 000...01, 000...02, ...): easy to type. */
function countingBytes(): (bytes: number) => Buffer {
  let counter = 0;
  return (bytes) => {
    const buffer = Buffer.alloc(bytes);
    buffer.writeUIntBE(++counter % 2 ** 48, Math.max(0, bytes - 6), Math.min(6, bytes));
    return buffer;
  };
}

export class ScriptEnv {
  now = 0;
  private router!: JobRouter;
  private config!: ResolvedConfig;
  private given: OrchestratorConfig = { frontend: "inproc://script" };
  private seed = 1;
  private shown: Shown = { log: false, heartbeat: false, stats: false };
  private autocommit = false;
  private spill: JobSpill | null = null;
  private readonly spillDirs: string[] = [];
  private readonly satellites = new Map<string, Satellite>();
  private readonly clients = new Map<string, { route: Buffer; nextCorrelation: number }>();
  private readonly names = new Map<string, string>();
  /** Routes whose connection is gone: sends to them bounce (peer-gone, undelivered). */
  private readonly gone = new Set<string>();
  /** Events the shell raises while performing effects; `quiet` for a bounced send the script hides. */
  private readonly raised: Array<{ event: RouterEvent; quiet: boolean }> = [];
  private readonly journal = {
    records: [] as Array<{ seq: number; record: JournalRecord }>,
    appended: 0,
    committed: 0,
    commitRequested: false,
    failedAt: null as number | null,
  };
  private nextTickAt = 0;
  private nextPollAt = 0;
  private tickMs = 100;
  private answer: ReturnType<JobRouter["step"]>;
  /** False after a config that failed: later commands would run on the one before. */
  private configured = true;

  /** `onEffect` sees every effect the router produced, raw and in order (determinism.test.ts). */
  constructor(private readonly onEffect: (effect: RouterEffect) => void = () => {}) {
    this.configure([]);
  }

  /** Runs one command (with its input lines); returns what it printed. */
  run(command: string, input: readonly string[]): string[] {
    const [verb, ...rest] = words(command);
    const args = new Args(rest);
    if (verb === "config") {
      this.configured = false;
      const out = this.configure(input);
      this.configured = true;
      return out;
    }
    if (!this.configured) throw new Error("the last config failed: nothing to run this on");
    switch (verb) {
      case "ready":
        // `ready` with one `SAT [options]` per input line registers several, in order.
        if (input.length > 0) return input.flatMap((line) => this.ready(new Args(words(line))));
        return this.ready(args);
      case "request":
        return this.request(rest, input);
      case "cancel":
        return this.cancel(args);
      case "mdp":
        return this.fromClient(args.at(0, "a client"), () =>
          mdpMessage(args.at(1, "a service"), args.positional.slice(2)),
        );
      case "publish":
        return this.turn({ kind: "intake", frames: intakeMessage(args) });
      case "titanic":
        return this.fromClient(args.at(0, "a client"), () => titanicMessage(args));
      case "ack":
        return this.fromSatellite(args.at(0, "a satellite"), ackMessage(args.positional.slice(1)));
      case "progress":
        return this.fromSatellite(
          args.at(0, "a satellite"),
          workerCommandFrames(
            WorkerCommand.progress,
            Buffer.from(args.at(1, "JOB#ATTEMPT")),
            encode(args.value("value") ?? 1),
          ),
        );
      case "reply":
        return this.reply(args, input);
      case "heartbeat":
        return this.fromSatellite(args.at(0, "a satellite"), workerCommandFrames(WorkerCommand.heartbeat));
      case "drain":
        return this.fromSatellite(args.at(0, "a satellite"), workerCommandFrames(WorkerCommand.drain));
      case "load":
        return this.fromSatellite(args.at(0, "a satellite"), loadMessage(args));
      case "operator-drain":
      case "operator-undrain":
        return this.control({
          kind: "drain",
          target: args.at(0, "a target"),
          drain: verb === "operator-drain",
        });
      case "score": {
        const how = args.at(0, "lock or unlock");
        const target = args.at(1, "a target");
        const score = how === "lock" ? Number(args.at(2, "a score")) : null;
        return this.control({ kind: "score-lock", target, score });
      }
      case "live-config": {
        if (args.at(0, "get or set") === "get") {
          const answer = this.router.liveConfig(args.positional[1]);
          if (!answer.ok) return [`answer error ${JSON.stringify(answer.error)}`];
          return Object.entries(answer.settings ?? {}).map(
            ([key, value]) => `${key}=${JSON.stringify(value)}`,
          );
        }
        const text = args.positional.slice(2).join(" ");
        let value: unknown = text;
        try {
          value = JSON.parse(text);
        } catch {}
        return this.control({ kind: "config-set", key: args.at(1, "a key"), value });
      }
      case "rebalance":
        return this.rebalance(args.number("max") ?? null);
      case "disconnect": {
        const name = args.at(0, "a satellite");
        const out = this.fromSatellite(name, workerCommandFrames(WorkerCommand.disconnect));
        this.satellite(name).up = false;
        return out;
      }
      case "gone":
        return this.goneSatellite(args.at(0, "a satellite"));
      case "mute":
        this.satellite(args.at(0, "a satellite")).muted = true;
        return [];
      case "unmute":
        this.satellite(args.at(0, "a satellite")).muted = false;
        return [];
      case "tick":
        return this.tick(duration(args.at(0, "+MS")));
      case "stall":
        return this.stall(duration(args.at(0, "+MS")), args.has("messages-first"));
      case "commit":
        return this.commit(args);
      case "fail-journal":
        return this.failJournal(args.positional.join(" ") || "no space left on device");
      case "resume-journal":
        return this.resumeJournal();
      case "crash":
        return this.crash();
      case "retry":
        return this.retry(args.at(0, "a job id"));
      case "status":
        return statusLines(this.router, this.journal);
      case "scores":
        return scoreLines(this.router);
      case "jobs":
        return jobLines(this.router);
      case "stats":
        return statsLines(this.router, args.at(0, "a type"));
      case "candidates":
        return candidateLines(this.router, args.at(0, "a type"), args.at(1, "a key (or job id)"));
      case "near":
        return nearLines(this.router, args.at(0, "a type"), args.at(1, "a key"), args.text("inputs"));
      case "locality":
        return localityLines(this.router);
      default:
        throw new Error(`unknown command "${verb}"`);
    }
  }

  /** Removes the disk spill's temporary directories. */
  close(): void {
    this.spill?.close();
    for (const dir of this.spillDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  // ---- config ----

  /**
   * `config` with `key: value` lines (JSON values): types, hierarchy, limits, tracker, journal
   * (on, off or settings), diskSpill, dynamicTypes, seed, show (log,heartbeat,stats), autocommit.
   */
  private configure(input: readonly string[]): string[] {
    const given: Record<string, unknown> = {};
    let seed = 1;
    let autocommit = false;
    const shown: Shown = { log: false, heartbeat: false, stats: false };
    for (const line of input) {
      const cut = line.indexOf(":");
      if (cut < 0) throw new Error(`config: expected "key: value", got "${line}"`);
      const key = line.slice(0, cut).trim();
      const value = jsonOrString(line.slice(cut + 1).trim());
      if (key === "seed") seed = Number(value);
      else if (key === "autocommit") autocommit = value === "on" || value === true;
      else if (key === "show")
        for (const what of String(value).split(",")) {
          if (!(what in shown)) throw new Error(`config show: unknown "${what}" (log, heartbeat, stats)`);
          shown[what as keyof Shown] = true;
        }
      else if (key === "journal") {
        if (value === "on" || value === true) given.journal = { dir: "journal" };
        else if (typeof value === "object" && value !== null) given.journal = { dir: "journal", ...value };
        else if (value !== "off" && value !== false) throw new Error(`config journal: on, off or {settings}`);
      } else if (key === "diskSpill" && typeof value === "object" && value !== null) {
        // A name only: the harness puts the spill files in a temporary directory of its own.
        given.diskSpill = { dir: "spill", ...value };
      } else given[key] = value;
    }
    const tracker = { jitter: 0, ...((given.tracker as object | undefined) ?? {}) };
    this.given = {
      frontend: "inproc://script",
      hierarchy: ["rack", "host"],
      types: { echo: {} },
      ...given,
      tracker,
      log: () => {},
    } as OrchestratorConfig;
    this.seed = seed;
    this.shown = shown;
    this.autocommit = autocommit;
    this.close();
    this.config = resolveConfig(this.given);
    this.now = 0;
    this.tickMs = tickPeriodMs(this.config.limits.heartbeatMs);
    this.nextTickAt = this.tickMs;
    this.satellites.clear();
    this.clients.clear();
    this.names.clear();
    this.gone.clear();
    this.raised.length = 0;
    Object.assign(this.journal, {
      records: [],
      appended: 0,
      committed: 0,
      commitRequested: false,
      failedAt: null,
    });
    this.router = this.newRouter();
    return ["ok"];
  }

  /** A router on the resolved config, with the shell's spill choice: disk (a temp dir) or memory. */
  private newRouter(): JobRouter {
    this.spill?.close();
    if (this.config.diskSpill !== null) {
      const dir = mkdtempSync(join(tmpdir(), "dsat-router-script-"));
      this.spillDirs.push(dir);
      this.spill = new DiskSpill(dir);
    } else this.spill = new WaitingRoom(this.config.limits.waitingBytesMax);
    // resolveConfig again: the router learns types into its config (dynamicTypes).
    return new JobRouter(resolveConfig(this.given), {
      random: seededRandom(this.seed),
      randomBytes: countingBytes(),
      instance: "r",
      peerBacklogBytes: () => 0,
      spill: this.spill,
      curve: () => null,
    });
  }

  // ---- stepping: one event is one turn of the shell's loop ----

  private turn(event: RouterEvent): string[] {
    const out: string[] = [];
    this.answer = this.router.step(event, this.now);
    this.perform(this.router.takeEffects(false), out);
    this.settle(out);
    return out;
  }

  /** What the effects raised (bounced sends), the end-of-turn flush, and autocommits. */
  private settle(out: string[]): void {
    for (let round = 0; round < 10_000; round++) {
      const raised = this.raised.shift();
      if (raised !== undefined) {
        const { event, quiet } = raised;
        if (!quiet) out.push(`> ${this.describe(event)}`);
        this.router.step(event, this.now);
        this.perform(this.router.takeEffects(false), out);
        continue;
      }
      const flushed = this.router.takeEffects(true);
      if (flushed.length > 0) {
        this.perform(flushed, out);
        continue;
      }
      if (this.autocommit && this.journal.commitRequested && this.journal.failedAt === null) {
        const seq = this.journal.appended;
        this.journal.commitRequested = false;
        this.journal.committed = seq;
        out.push(`> committed #${seq}`);
        this.router.step({ kind: "journal-committed", committedSeq: seq }, this.now);
        this.perform(this.router.takeEffects(false), out);
        continue;
      }
      return;
    }
    throw new Error("the router's effects did not settle in 10000 rounds");
  }

  private perform(effects: RouterEffect[], out: string[]): void {
    for (const effect of effects) {
      this.onEffect(effect);
      const lines = formatEffect(effect, (route) => this.peerName(route), this.shown);
      out.push(...lines);
      switch (effect.kind) {
        case "send": {
          const key = effect.frames[0].toString("hex");
          // The shell's writer drops a message to a peer that is gone and raises both events.
          if (this.gone.has(key)) {
            const quiet = lines.length === 0;
            this.raised.push(
              { event: { kind: "peer-gone", route: effect.frames[0] }, quiet },
              { event: { kind: "undelivered", frames: effect.frames }, quiet },
            );
          } else if (isDisconnect(effect.frames)) {
            // A satellite told to go stops talking (a real one reconnects; a script says `ready`).
            const satellite = this.satelliteByRoute(key);
            if (satellite !== undefined) satellite.up = false;
          }
          break;
        }
        case "journal-append":
          if (effect.seq !== this.journal.appended + 1)
            out.push(
              `! append numbered #${effect.seq}, the journal would give it #${this.journal.appended + 1}`,
            );
          this.journal.appended = effect.seq;
          this.journal.records.push({ seq: effect.seq, record: effect.record });
          break;
        case "journal-commit":
          this.journal.commitRequested = true;
          break;
        default:
          break;
      }
    }
  }

  private describe(event: RouterEvent): string {
    switch (event.kind) {
      case "peer-gone":
        return `peer-gone ${this.peerName(event.route)}`;
      case "undelivered": {
        const command = event.frames[3]?.[0];
        const name = Object.entries(WorkerCommand).find(([, code]) => code === command)?.[0] ?? "message";
        const token = command === WorkerCommand.request ? ` ${event.frames[4]?.toString()}` : "";
        return `undelivered ${this.peerName(event.frames[0])} ${name.toUpperCase()}${token}`;
      }
      default:
        return event.kind;
    }
  }

  private peerName(route: Buffer): string {
    return this.names.get(route.toString("hex")) ?? `0x${route.toString("hex")}`;
  }

  // ---- satellites ----

  private ready(args: Args): string[] {
    const name = args.at(0, "a satellite name");
    const route = Buffer.from(name);
    const { id, plain, batch, heartbeatMs, frames } = readyMessage(name, args, this.config.hierarchy);
    const limits = this.config.limits;
    this.satellites.set(name, {
      route,
      id,
      plain,
      batch,
      heartbeatMs: plain ? limits.plainHeartbeatMs : (heartbeatMs ?? limits.heartbeatMs),
      lastSentAt: this.now,
      up: true,
      muted: false,
    });
    this.names.set(route.toString("hex"), name);
    this.gone.delete(route.toString("hex"));
    return this.turn({ kind: "frontend", frames: [route, ...frames] });
  }

  private satellite(name: string): Satellite {
    const satellite = this.satellites.get(name);
    if (satellite === undefined) throw new Error(`no satellite "${name}" (send ready first)`);
    return satellite;
  }

  private satelliteByRoute(key: string): Satellite | undefined {
    const name = this.names.get(key);
    return name === undefined ? undefined : this.satellites.get(name);
  }

  private fromSatellite(name: string, frames: Buffer[]): string[] {
    const satellite = this.satellite(name);
    satellite.lastSentAt = this.now;
    return this.turn({ kind: "frontend", frames: [satellite.route, ...frames] });
  }

  private goneSatellite(name: string): string[] {
    const satellite = this.satellite(name);
    satellite.up = false;
    this.gone.add(satellite.route.toString("hex"));
    return this.turn({ kind: "peer-gone", route: satellite.route });
  }

  /** `reply SAT JOB#A ...`, or `reply SAT` with one `JOB#A ...` per input line. */
  private reply(args: Args, input: readonly string[]): string[] {
    const name = args.at(0, "a satellite");
    const lines = input.length > 0 ? input.map(words) : [args.positional.slice(1)];
    return replyMessages(this.satellite(name), lines).flatMap((frames) => this.fromSatellite(name, frames));
  }

  // ---- clients ----

  private client(name: string): { route: Buffer; nextCorrelation: number } {
    let client = this.clients.get(name);
    if (client === undefined) {
      client = { route: Buffer.from(name), nextCorrelation: 1 };
      this.clients.set(name, client);
      this.names.set(client.route.toString("hex"), name);
    }
    return client;
  }

  private fromClient(name: string, message: (client: { nextCorrelation: number }) => Buffer[]): string[] {
    const client = this.client(name);
    return this.turn({ kind: "frontend", frames: [client.route, ...message(client)] });
  }

  /** `request CLIENT TYPE [options]`, or `request CLIENT [session=]` with one entry per input line. */
  private request(list: readonly string[], input: readonly string[]): string[] {
    const args = new Args(list.slice(1));
    const lines = input.length > 0 ? input.map((line) => new Args(words(line))) : [args];
    const options = { single: args.has("single"), session: args.text("session") };
    return this.fromClient(new Args(list).at(0, "a client"), (client) =>
      requestMessage(lines, options, (given) => {
        const correlation = given ?? client.nextCorrelation;
        client.nextCorrelation = Math.max(client.nextCorrelation, correlation + 1);
        return correlation;
      }),
    );
  }

  private cancel(args: Args): string[] {
    const id = args.at(1, "a job id");
    const options = { single: args.has("single"), session: args.text("session") };
    return this.fromClient(args.at(0, "a client"), (client) =>
      cancelMessage(id, client.nextCorrelation++, options),
    );
  }

  // ---- time ----

  /** Advances the clock by `ms`, stepping each tick (and recovery poll) the shell's timers would. */
  private tick(ms: number): string[] {
    const target = this.now + ms;
    const out: string[] = [];
    for (;;) {
      const recovering = this.router.isRecovering;
      const next = Math.min(this.nextTickAt, recovering ? this.nextPollAt : Number.POSITIVE_INFINITY);
      if (next > target) break;
      this.now = next;
      const lines: string[] = [];
      if (recovering && next >= this.nextPollAt) {
        lines.push(...this.turn({ kind: "recovery-poll" }));
        this.nextPollAt = next + RECOVERY_POLL_MS;
      }
      if (next >= this.nextTickAt) {
        lines.push(...this.heartbeats(), ...this.turn({ kind: "tick" }));
        this.nextTickAt += this.tickMs;
      }
      out.push(...lines.map((line) => `@${this.now} ${line}`));
    }
    this.now = target;
    return out;
  }

  /**
   * The process did not run for `ms` (a long GC): no tick meanwhile. Then the late tick fires and
   * the satellites' heartbeats sent meanwhile are read; `messagesFirst`: those are read before the
   * late tick (a receive loop that finds messages waiting reads them before the timer phase).
   */
  private stall(ms: number, messagesFirst: boolean): string[] {
    this.now += ms;
    this.nextTickAt = this.now + this.tickMs;
    const lines = messagesFirst
      ? [...this.heartbeats(), ...this.turn({ kind: "tick" })]
      : [...this.turn({ kind: "tick" }), ...this.heartbeats()];
    return lines.map((line) => `@${this.now} ${line}`);
  }

  /** Live satellites heartbeat on their own period (any message they sent counts). */
  private heartbeats(): string[] {
    const out: string[] = [];
    for (const satellite of this.satellites.values()) {
      if (!satellite.up || satellite.muted || this.now - satellite.lastSentAt < satellite.heartbeatMs)
        continue;
      satellite.lastSentAt = this.now;
      out.push(
        ...this.turn({
          kind: "frontend",
          frames: [satellite.route, ...workerCommandFrames(WorkerCommand.heartbeat)],
        }),
      );
    }
    return out;
  }

  // ---- the journal, played by hand ----

  /** `commit [SEQ]`: the group commit the router asked for lands (up to SEQ, else everything appended). */
  private commit(args: Args): string[] {
    if (!this.journal.commitRequested) return ["(no commit requested)"];
    const seq = args.positional[0] === undefined ? this.journal.appended : Number(args.positional[0]);
    this.journal.commitRequested = false;
    this.journal.committed = seq;
    return this.turn({ kind: "journal-committed", committedSeq: seq });
  }

  private failJournal(error: string): string[] {
    this.journal.failedAt = this.now;
    this.journal.commitRequested = false;
    return this.turn({ kind: "journal-failed", error });
  }

  /** probe() wrote every kept record: everything appended is on disk. */
  private resumeJournal(): string[] {
    const failedAt = this.journal.failedAt ?? this.now;
    this.journal.failedAt = null;
    this.journal.commitRequested = false;
    this.journal.committed = this.journal.appended;
    return this.turn({
      kind: "journal-resumed",
      committedSeq: this.journal.appended,
      downMs: this.now - failedAt,
    });
  }

  /**
   * kill -9 and a restart: a new router folds the committed records (what open() would find),
   * then the sockets are bound. Satellites must send READY again; clients keep their routes.
   */
  private crash(): string[] {
    const kept = this.journal.records.filter(({ seq }) => seq <= this.journal.committed);
    const book = new JobBook();
    // As the disk gives them back: through their MessagePack form (records.ts).
    for (const { record } of kept) book.apply(decodeRecord(encodeRecord(record)));
    this.journal.records = kept;
    this.journal.appended = this.journal.committed;
    this.journal.commitRequested = false;
    this.journal.failedAt = null;
    for (const satellite of this.satellites.values()) satellite.up = false;
    this.gone.clear();
    this.raised.length = 0;
    this.router = this.newRouter();
    this.nextPollAt = this.now + RECOVERY_POLL_MS;
    return [
      ...this.turn({
        kind: "recovered",
        unfinished: [...book.unfinished.values()],
        finished: book.finished,
        appendedSeq: this.journal.committed,
        records: kept.length,
        badRecords: 0,
        operator: [...book.operator.values()],
      }),
      ...this.turn({ kind: "bound" }),
    ];
  }

  // ---- control ----

  /** A control event and its answer (score locks, live config). */
  private control(event: RouterEvent): string[] {
    const out = this.turn(event);
    const answer = this.answer;
    if (answer === undefined) return ["answer none", ...out];
    if (!answer.ok) return [`answer error ${JSON.stringify(answer.error)}`, ...out];
    const detail =
      answer.satellites !== undefined
        ? ` satellites=${answer.satellites.join(",") || "-"}`
        : "value" in answer
          ? ` value=${JSON.stringify(answer.value)}`
          : "";
    return [`answer ok${detail}`, ...out];
  }

  /** `rebalance [max=N]`: the moves made, one line each (router/rebalance.ts). */
  private rebalance(maxMoves: number | null): string[] {
    const out = this.turn({ kind: "rebalance", maxMoves });
    const answer = this.answer as {
      ok: boolean;
      error?: string;
      moves?: Array<Record<string, string>>;
    } & Record<string, unknown>;
    if (answer === undefined || !answer.ok) return [`answer error ${JSON.stringify(answer?.error)}`, ...out];
    const moves = answer.moves ?? [];
    return [
      `answer ok moves=${moves.length} full=${answer.full} left=${answer.left}`,
      ...moves.map((m) => `move ${m.id} key=${m.key} ${m.from} -> ${m.to}`),
      ...out,
    ];
  }

  private retry(id: string): string[] {
    const out = this.turn({ kind: "retry", id });
    const answer = this.answer;
    const head =
      answer === undefined
        ? "answer none"
        : answer.ok
          ? `answer ok id=${answer.id}`
          : `answer error ${JSON.stringify(answer.error)}`;
    return [head, ...out];
  }
}

/** `+500` or `500` ms. */
function duration(text: string): number {
  const ms = Number(text.replace(/^\+/, "").replace(/ms$/, ""));
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`expected +MS, got ${text}`);
  return ms;
}

function isDisconnect(frames: Buffer[]): boolean {
  return frames.length === 4 && frames[2].equals(MDP_WORKER) && frames[3][0] === WorkerCommand.disconnect;
}

export { seededRandom };
