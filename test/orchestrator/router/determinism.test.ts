// The router is a deterministic function of its inputs (issue 13): random event sequences, run on
// two fresh routers with the same seed and the same ports, give the same effects byte for byte.
// A different seed for `random` (the tracker's jitter) changes only jitter-dependent timings.
// Sequences are fast-check's (seeded, bounded); the script harness (script-env.ts) builds the
// frames and plays the shell, so these are the very events the script tests use.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeRecord } from "../../../src/journal/core.ts";
import type { RouterEffect } from "../../../src/orchestrator/router/types.ts";
import { decode, encode, isJobEntry, MDP_WORKER, WorkerCommand } from "../../../src/protocol/index.ts";
import { ScriptEnv } from "./script-env.ts";

type Action =
  | { kind: "ready"; satellite: number; capacity: number; plain: boolean; batch: boolean }
  | { kind: "request"; client: number; jobs: number[]; key: number | null; timeout: number | null }
  | { kind: "single"; client: number; job: number }
  | { kind: "cancel"; client: number; job: number }
  | { kind: "publish"; job: number }
  | { kind: "mdp"; client: number; service: "echo" | "mmi" | "titanic" | "titanic.reply"; pick: number }
  | { kind: "ack" | "progress"; pick: number }
  | { kind: "reply"; pick: number; outcome: "ok" | "error" | "fatal" }
  | { kind: "satellite"; satellite: number; what: "heartbeat" | "disconnect" | "gone" | "drain" | "mute" }
  | { kind: "tick"; periods: number; extraMs: number }
  | { kind: "journal"; what: "commit" | "fail-journal" | "resume-journal" | "crash" }
  | { kind: "retry"; job: number };

const SATELLITES = 4;
const CLIENTS = 3;
const JOBS = 12;

const actionArb = (durable: boolean, plainWorkers: boolean): fc.Arbitrary<Action> =>
  fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("ready" as const),
        satellite: fc.nat(SATELLITES - 1),
        capacity: fc.integer({ min: 1, max: 3 }),
        plain: plainWorkers ? fc.boolean() : fc.constant(false),
        batch: fc.boolean(),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("request" as const),
        client: fc.nat(CLIENTS - 1),
        jobs: fc.array(fc.nat(JOBS - 1), { minLength: 1, maxLength: 3 }),
        key: fc.option(fc.nat(3), { nil: null }),
        timeout: fc.option(fc.integer({ min: 200, max: 5000 }), { nil: null }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("single" as const),
        client: fc.nat(CLIENTS - 1),
        job: fc.nat(JOBS - 1),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("cancel" as const),
        client: fc.nat(CLIENTS - 1),
        job: fc.nat(JOBS - 1),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("publish" as const), job: fc.nat(JOBS - 1) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("mdp" as const),
        client: fc.nat(CLIENTS - 1),
        service: fc.constantFrom(
          "echo" as const,
          "mmi" as const,
          "titanic" as const,
          "titanic.reply" as const,
        ),
        pick: fc.nat(7),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constantFrom("ack" as const, "progress" as const), pick: fc.nat(63) }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("reply" as const),
        pick: fc.nat(63),
        outcome: fc.constantFrom("ok" as const, "ok" as const, "error" as const, "fatal" as const),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("satellite" as const),
        satellite: fc.nat(SATELLITES - 1),
        what: fc.constantFrom(
          "heartbeat" as const,
          "disconnect" as const,
          "gone" as const,
          "drain" as const,
          "mute" as const,
        ),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("tick" as const),
        periods: fc.integer({ min: 0, max: 30 }),
        extraMs: fc.nat(99),
      }),
    },
    {
      weight: durable ? 3 : 0,
      arbitrary: fc.record({
        kind: fc.constant("journal" as const),
        what: fc.constantFrom(
          "commit" as const,
          "commit" as const,
          "commit" as const,
          "fail-journal" as const,
          "resume-journal" as const,
          "crash" as const,
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("retry" as const), job: fc.nat(JOBS - 1) }) },
  );

/** A config (durable or not), a seed for `random`, and up to 120 actions. */
const scenarioArb = (plainWorkers: boolean, crashes: boolean) =>
  fc.boolean().chain((durable) =>
    fc.record({
      durable: fc.constant(durable),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 2 }),
      actions: fc
        .array(actionArb(durable, plainWorkers), { minLength: 20, maxLength: 120 })
        .map((actions) =>
          crashes
            ? actions
            : actions.filter((action) => !(action.kind === "journal" && action.what === "crash")),
        ),
    }),
  );

/** An effect as bytes: frames with their lengths, MessagePack for events, the journal's own encoding. */
function effectBytes(effect: RouterEffect): Buffer {
  const parts: Buffer[] = [Buffer.from(effect.kind)];
  switch (effect.kind) {
    case "send":
      for (const frame of effect.frames) parts.push(u32(frame.length), frame);
      break;
    case "publish":
      parts.push(Buffer.from(effect.topic), encode(effect.fields));
      break;
    case "journal-append":
      parts.push(u32(effect.seq), encodeRecord(effect.record));
      break;
    case "journal-commit":
      break;
    case "log":
      parts.push(Buffer.from(effect.line));
      break;
    case "span":
      parts.push(encode([effect.traceparent, effect.name, effect.startMs, effect.endMs, effect.attributes]));
      break;
  }
  return Buffer.concat(parts);
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

/**
 * Turns abstract actions into script commands. Attempts to ack or answer are picked among those
 * the router sent (read from the first router's effects): stale picks make late results too.
 */
class Driver {
  readonly tokens: Array<{ satellite: string; token: string }> = [];
  private readonly ready = new Set<string>();
  private titanics = 0;

  constructor(private readonly periodMs: number) {}

  /** Learns the attempts sent to satellites from an effect of the first router. */
  observe(effect: RouterEffect): void {
    if (effect.kind !== "send") return;
    const [route, , protocol, command] = effect.frames;
    if (!protocol?.equals(MDP_WORKER)) return;
    const satellite = route.toString();
    if (command[0] === WorkerCommand.request) this.remember(satellite, effect.frames[4].toString());
    if (command[0] === WorkerCommand.requestBatch)
      for (const entry of decode(effect.frames[4]) as unknown[])
        if (isJobEntry(entry)) this.remember(satellite, `${entry[0]}#${entry[1]}`);
  }

  private remember(satellite: string, token: string): void {
    this.tokens.push({ satellite, token });
    if (this.tokens.length > 64) this.tokens.shift();
  }

  command(action: Action): string | null {
    switch (action.kind) {
      case "ready": {
        const name = `s${action.satellite}`;
        this.ready.add(name);
        const flags = [action.plain ? "plain" : "", action.batch ? "batch" : ""].filter(Boolean).join(" ");
        return `ready ${name} rack=r${action.satellite % 2} host=h${action.satellite} capacity=${action.capacity} incarnation=i ${flags}`;
      }
      case "request": {
        const client = `C${action.client}`;
        const session = action.client === 2 ? "" : " session=A";
        if (action.jobs.length === 1) {
          const key = action.key === null ? "" : ` key=k${action.key}`;
          const timeout = action.timeout === null ? "" : ` timeout=${action.timeout}`;
          return `request ${client} echo id=j${action.jobs[0]}${key}${timeout}${session}`;
        }
        return `request ${client}${session}\n${action.jobs.map((job) => `echo id=j${job}`).join("\n")}`;
      }
      case "single":
        return `request C${action.client} echo id=j${action.job} single`;
      case "cancel":
        return `cancel C${action.client} j${action.job}${action.client === 2 ? "" : " session=A"}`;
      case "publish":
        return `publish echo id=j${action.job}`;
      case "mdp":
        switch (action.service) {
          case "echo":
            return `mdp M${action.client} echo "raw"`;
          case "mmi":
            return `mdp M${action.client} mmi.service echo`;
          case "titanic":
            this.titanics++;
            return `mdp M${action.client} titanic.request echo "t"`;
          case "titanic.reply": {
            const uuid = ((action.pick % Math.max(1, this.titanics)) + 1).toString(16).padStart(32, "0");
            return `mdp M${action.client} titanic.reply ${uuid}`;
          }
        }
        return null;
      case "ack":
      case "progress": {
        const picked = this.pick(action.pick);
        return picked === null ? null : `${action.kind} ${picked.satellite} ${picked.token}`;
      }
      case "reply": {
        const picked = this.pick(action.pick);
        if (picked === null) return null;
        const answer =
          action.outcome === "ok" ? 'ok "r"' : action.outcome === "error" ? "error boom" : "error fatal no";
        return `reply ${picked.satellite} ${picked.token} ${answer}`;
      }
      case "satellite": {
        const name = `s${action.satellite}`;
        if (!this.ready.has(name)) return null;
        if (action.what === "disconnect" || action.what === "gone") this.ready.delete(name);
        return `${action.what} ${name}`;
      }
      case "tick":
        return `tick +${action.periods * this.periodMs + (this.periodMs === 100 ? 0 : action.extraMs)}`;
      case "journal":
        if (action.what === "crash") this.ready.clear();
        return action.what;
      case "retry":
        return `retry j${action.job}`;
    }
  }

  private pick(index: number): { satellite: string; token: string } | null {
    if (this.tokens.length === 0) return null;
    const picked = this.tokens[index % this.tokens.length];
    return this.ready.has(picked.satellite) ? picked : null;
  }
}

interface Run {
  /** Per command: the raw effects as bytes, and the lines the script harness printed. */
  bytes: Buffer[][];
  lines: string[][];
}

/**
 * Runs the actions on two fresh routers in lockstep (seeds `seedA`, `seedB` for `random`); the
 * second router's commands are the first's, so both see the same events while they agree.
 */
function runPair(
  config: string[],
  actions: readonly Action[],
  seeds: [number, number],
  periodMs: number,
): [Run, Run] {
  const driver = new Driver(periodMs);
  const runs: [Run, Run] = [
    { bytes: [], lines: [] },
    { bytes: [], lines: [] },
  ];
  const current: [Buffer[], Buffer[]] = [[], []];
  const envs = [0, 1].map(
    (side) =>
      new ScriptEnv((effect) => {
        current[side].push(effectBytes(effect));
        if (side === 0) driver.observe(effect);
      }),
  );
  try {
    envs.forEach((env, side) => {
      env.run("config", [...config, `seed: ${seeds[side]}`]);
    });
    for (const action of actions) {
      const command = driver.command(action);
      if (command === null) continue;
      const [line, ...input] = command.split("\n");
      envs.forEach((env, side) => {
        current[side] = [];
        let lines: string[];
        try {
          lines = env.run(line, input);
        } catch (error) {
          lines = [`error: ${(error as Error).message}`];
        }
        runs[side].bytes.push(current[side]);
        runs[side].lines.push([`> ${command}`, ...lines]);
      });
    }
  } finally {
    for (const env of envs) env.close();
  }
  return runs;
}

function configFor(durable: boolean, jitter: number): string[] {
  return [
    'hierarchy: ["rack","host"]',
    'types: {"echo":{"replicas":2}}',
    `tracker: {"jitter":${jitter},"ackTimeoutMs":1000,"stallTimeoutMs":2000,"runTimeoutMs":8000,"backoffBaseMs":40,"backoffMaxMs":80,"breakerFailuresThreshold":3,"breakerCooldownMs":1000}`,
    'limits: {"satelliteQueueMax":2,"noSatelliteWaitMs":2000}',
    `journal: ${durable ? "on" : "off"}`,
    "diskSpill: false",
    "show: log,heartbeat,stats",
  ];
}

/** The first command whose effects differ, as a readable report (null when none does). */
function firstDifference(a: Run, b: Run): string | null {
  for (let index = 0; index < a.bytes.length; index++) {
    const same =
      a.bytes[index].length === b.bytes[index].length &&
      a.bytes[index].every((bytes, effect) => bytes.equals(b.bytes[index][effect]));
    if (!same)
      return `command ${index}:\n  first:  ${a.lines[index].join("\n          ")}\n  second: ${b.lines[index].join("\n          ")}`;
  }
  return null;
}

/**
 * The printed effects with what jitter may change taken out: retry delays, and the order of what
 * happened within one turn (with the journal seqs that order hands out).
 */
function withoutJitter(run: Run): string[][] {
  return run.lines.map((lines) =>
    lines.map((line) => line.replace(/ in \d+ ms after /, " in * ms after ").replace(/#\d+\b/, "#*")).sort(),
  );
}

describe("the router is deterministic", () => {
  it("gives the same effects, byte for byte, for the same events, seed and ports", () => {
    fc.assert(
      fc.property(scenarioArb(true, true), ({ durable, seed, actions }) => {
        const [a, b] = runPair(configFor(durable, 0.5), actions, [seed, seed], 37);
        expect(a.bytes.flat().length).toBeGreaterThan(0);
        expect(firstDifference(a, b)).toBeNull();
      }),
      { seed: 13, numRuns: 60 },
    );
  });

  it("without jitter, a different seed for random changes nothing", () => {
    fc.assert(
      fc.property(scenarioArb(true, true), ({ durable, seed, actions }) => {
        const [a, b] = runPair(configFor(durable, 0), actions, [seed, seed + 1], 37);
        expect(firstDifference(a, b)).toBeNull();
      }),
      { seed: 14, numRuns: 40 },
    );
  });

  it("with jitter, a different seed changes only the jitter-dependent timings", () => {
    // Events land on tick boundaries and every backoff (20-80 ms) ends before the next tick
    // (100 ms), so a retry is placed on the same tick whatever its jitter: only the delay in its
    // job.retry detail and the order of timers within one tick may differ. That order must not
    // decide who gets something scarce, so slots and queues are plentiful (no plain workers, whose
    // capacity is 1) and breakers never open (a half-open breaker lets one probe through).
    let differed = 0;
    fc.assert(
      // No crash either: the recovery window places jobs between ticks (every 10 ms).
      fc.property(scenarioArb(false, false), ({ durable, seed, actions }) => {
        const config = configFor(durable, 0.5).map((line) =>
          line.startsWith("limits:")
            ? 'limits: {"satelliteQueueMax":64,"noSatelliteWaitMs":2000}'
            : line.replace('"breakerFailuresThreshold":3', '"breakerFailuresThreshold":255'),
        );
        const wide = actions.map((action) =>
          action.kind === "ready" ? { ...action, capacity: 64 } : action,
        );
        const [a, b] = runPair(config, wide, [seed, seed + 1], 100);
        if (firstDifference(a, b) !== null) differed++;
        expect(withoutJitter(b)).toEqual(withoutJitter(a));
      }),
      { seed: 15, numRuns: 40 },
    );
    // The seed is used: some runs' raw effects differ (else this test could not fail).
    expect(differed).toBeGreaterThan(0);
  });
});
