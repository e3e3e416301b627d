// A datadriven runner for tracker scripts (etcd-raft's testdata style): each block is one command,
// `----`, and the effects it produced, one per line. `REWRITE=1 npx vitest run test/tracker`
// rewrites the expected output in place (review the diff!).
//
// Commands (the clock starts at 0 and moves only with `tick`):
//   config key=value ...                 fresh tracker (jitter=0 unless given; rng=<0..1> constant)
//   submit <job> <type> <s1,s2|-> [deadline=<abs ms>] [attempts=<n>] [run=<ms>]
//   dispatch <job> <attempt> <satellite>  unplaceable <job> <attempt>
//   ack|progress|succeed <job> <attempt> <satellite>
//   fail <job> <attempt> <satellite> [fatal] [crash] [message words...]
//   lost <satellite>   heartbeat <satellite>   cancel <job>
//   tick <ms>                             advance the clock by ms, then fire due timers
//   advance <ms>                          advance the clock by ms without firing timers (a late tick)
//   stabilize                             answer every pending place like the orchestrator would:
//                                         first candidate not excluded, not lost, breaker not open
//   state <job>   stats <type>   breaker <satellite>
import { readFileSync, writeFileSync } from "node:fs";
import { Tracker, type TrackerConfig, type TrackerEffect } from "../../src/tracker/index.ts";

export function formatEffect(effect: TrackerEffect): string {
  switch (effect.kind) {
    case "place":
      return `place ${effect.jobId} a${effect.attempt} exclude=${effect.exclude.join(",") || "-"}`;
    case "cancel-on-satellite":
      return `cancel-on-satellite ${effect.jobId} a${effect.attempt} ${effect.satelliteId}`;
    case "complete":
      return `complete ${effect.jobId} ${effect.outcome} a${effect.attempt}${effect.message ? `: ${effect.message}` : ""}`;
    case "breaker":
      return `breaker ${effect.satelliteId} ${effect.state}`;
    case "event": {
      const subject = [effect.jobId, effect.satelliteId ? `@${effect.satelliteId}` : undefined].filter(
        Boolean,
      );
      return `event ${effect.name} ${subject.join(" ")}${effect.detail ? `: ${effect.detail}` : ""}`;
    }
  }
}

interface Block {
  comments: string[];
  command: string;
  expected: string[];
}

function parse(text: string): { blocks: Block[]; trailing: string[] } {
  const blocks: Block[] = [];
  let comments: string[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line.trim() === "" || line.startsWith("#")) {
      comments.push(line);
      continue;
    }
    const command = line;
    if (lines[index + 1] !== "----") throw new Error(`line ${index + 2}: expected ---- after "${command}"`);
    index += 2;
    const expected: string[] = [];
    while (index < lines.length && lines[index] !== "") expected.push(lines[index++]);
    index--; // the blank line ending the block is kept, as a comment of the next one
    blocks.push({ comments, command, expected });
    comments = [];
  }
  return { blocks, trailing: comments };
}

class ScriptEnv {
  tracker = new Tracker({ jitter: 0 }, () => 0.5);
  nowMs = 0;
  candidates = new Map<string, string[]>();
  pendingPlaces: Extract<TrackerEffect, { kind: "place" }>[] = [];
  lost = new Set<string>();

  run(command: string): string[] {
    const [verb, ...args] = command.trim().split(/\s+/);
    const output = this.execute(verb, args);
    const effects = this.tracker.takeEffects();
    for (const effect of effects) if (effect.kind === "place") this.pendingPlaces.push(effect);
    return [...output, ...effects.map(formatEffect)];
  }

  private execute(verb: string, args: string[]): string[] {
    const t = this.tracker;
    const now = this.nowMs;
    const [job, attemptText, satelliteId] = args;
    const attempt = Number(attemptText);
    switch (verb) {
      case "config":
        return this.configure(args);
      case "submit":
        return this.submit(args);
      case "dispatch":
        this.pendingPlaces = this.pendingPlaces.filter((place) => place.jobId !== job);
        t.step({ kind: "dispatched", jobId: job, attempt, satelliteId }, now);
        return [];
      case "unplaceable":
        this.pendingPlaces = this.pendingPlaces.filter((place) => place.jobId !== job);
        t.step({ kind: "unplaceable", jobId: job, attempt }, now);
        return [];
      case "ack":
      case "progress":
        t.step({ kind: verb, jobId: job, attempt, satelliteId }, now);
        return [];
      case "succeed":
        t.step({ kind: "succeeded", jobId: job, attempt, satelliteId }, now);
        return [];
      case "fail": {
        const rest = args.slice(3);
        const flags = new Set<string>(rest.filter((word) => word === "fatal" || word === "crash"));
        const message = rest.filter((word) => !flags.has(word)).join(" ") || "boom";
        t.step(
          {
            kind: "failed",
            jobId: job,
            attempt,
            satelliteId,
            retryable: !flags.has("fatal"),
            message,
            crashed: flags.has("crash"),
          },
          now,
        );
        return [];
      }
      case "lost":
        this.lost.add(args[0]);
        t.step({ kind: "satellite-lost", satelliteId: args[0] }, now);
        return [];
      case "heartbeat":
        this.lost.delete(args[0]);
        t.step({ kind: "satellite-heartbeat", satelliteId: args[0] }, now);
        return [];
      case "cancel":
        t.step({ kind: "cancel", jobId: job }, now);
        return [];
      case "tick":
        this.nowMs += Number(args[0]);
        t.tick(this.nowMs);
        return [`now ${this.nowMs}`];
      case "advance":
        this.nowMs += Number(args[0]);
        return [`now ${this.nowMs}`];
      case "stabilize":
        return this.stabilize();
      case "state": {
        const info = t.jobInfo(job);
        if (info === undefined) return [`${job}: ${t.jobState(job) ?? "unknown"}`];
        const on = info.satelliteId ? ` on ${info.satelliteId}` : "";
        return [`${job}: ${info.state} a${info.attempt}${on} exclude=${info.exclude.join(",") || "-"}`];
      }
      case "stats": {
        const stats = t.stats().types[job];
        return [
          stats
            ? Object.entries(stats)
                // The histogram's buckets and sum are checked in config.test.ts, not traced here.
                .filter(([key]) => key !== "latencyBuckets" && key !== "latencySumMs")
                .map(([key, value]) => `${key}=${value}`)
                .join(" ")
            : "no such type",
        ];
      }
      case "breaker":
        return [`${job}: ${t.breakerOf(job)}`];
      default:
        throw new Error(`unknown command ${verb}`);
    }
  }

  private configure(args: string[]): string[] {
    const config: Record<string, number> = { jitter: 0 };
    let rng = 0.5;
    for (const arg of args) {
      const [key, value] = arg.split("=");
      if (key === "rng") rng = Number(value);
      else config[key] = Number(value);
    }
    this.tracker = new Tracker(config as Partial<TrackerConfig>, () => rng);
    this.nowMs = 0;
    this.candidates.clear();
    this.pendingPlaces = [];
    this.lost.clear();
    return ["ok"];
  }

  private submit(args: string[]): string[] {
    const [jobId, type, list, ...options] = args;
    const candidates = list === "-" ? [] : list.split(",");
    this.candidates.set(jobId, candidates);
    const option = (name: string) => {
      const found = options.find((word) => word.startsWith(`${name}=`));
      return found === undefined ? undefined : Number(found.slice(name.length + 1));
    };
    this.tracker.step(
      {
        kind: "submit",
        jobId,
        type,
        candidates,
        deadlineAtMs: option("deadline"),
        attemptsMax: option("attempts"),
        runTimeoutMs: option("run"),
      },
      this.nowMs,
    );
    return [];
  }

  /** Answers pending places as the orchestrator would; the answers' effects are printed. */
  private stabilize(): string[] {
    const output: string[] = [];
    for (let round = 0; round < 100 && this.pendingPlaces.length > 0; round++) {
      const places = this.pendingPlaces;
      this.pendingPlaces = [];
      for (const place of places) {
        const target = (this.candidates.get(place.jobId) ?? []).find(
          (id) => !place.exclude.includes(id) && !this.lost.has(id) && this.tracker.breakerOf(id) !== "open",
        );
        const answer =
          target === undefined
            ? `unplaceable ${place.jobId} ${place.attempt}`
            : `dispatch ${place.jobId} ${place.attempt} ${target}`;
        output.push(`> ${answer}`, ...this.run(answer));
      }
    }
    return output;
  }
}

/** Runs a script file; returns [actual text, expected text]. With REWRITE=1, writes actual back. */
export function runScript(path: string): { actual: string; expected: string } {
  const text = readFileSync(path, "utf8");
  const { blocks, trailing } = parse(text);
  const env = new ScriptEnv();
  const out: string[] = [];
  for (const block of blocks) {
    const produced = env.run(block.command);
    out.push(...block.comments, block.command, "----", ...(produced.length > 0 ? produced : ["(none)"]));
  }
  out.push(...trailing);
  let actual = out.join("\n");
  if (!actual.endsWith("\n")) actual += "\n";
  if (process.env.REWRITE === "1" && actual !== text) writeFileSync(path, actual);
  return { actual, expected: text };
}
