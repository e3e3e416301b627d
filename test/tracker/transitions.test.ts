// One test per transition of the table (TRANSITIONS, docs/tracker.md), one per guard that picks
// another outcome, and one per illegal (state, event) pair: refused, counted, never thrown.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type JobEventKind,
  type JobStateName,
  type LiveJobStateName,
  TRANSITIONS,
  Tracker,
  type TrackerConfig,
  type TrackerEffect,
  type TrackerEvent,
} from "../../src/tracker/index.ts";

const CONFIG: Partial<TrackerConfig> = {
  ackTimeoutMs: 1_000,
  stallTimeoutMs: 2_000,
  runTimeoutMs: 5_000,
  backoffBaseMs: 100,
  jitter: 0,
  attemptsMax: 3,
  wheelTickMs: 10,
};

interface Setup {
  tracker: Tracker;
  nowMs: number;
  /** The attempt an event about the job should carry, and where it runs. */
  attempt: number;
  satelliteId: string;
}

/** A job "j" driven into `state` through legal events only. */
function jobIn(state: LiveJobStateName, config: Partial<TrackerConfig> = {}, deadlineAtMs?: number): Setup {
  const tracker = new Tracker({ ...CONFIG, ...config }, () => 0.5);
  const setup: Setup = { tracker, nowMs: 0, attempt: 1, satelliteId: "s1" };
  tracker.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1", "s2", "s3"], deadlineAtMs }, 0);
  if (state !== "placed") tracker.step({ kind: "dispatched", jobId: "j", attempt: 1, satelliteId: "s1" }, 0);
  if (state === "acked" || state === "running")
    tracker.step({ kind: "ack", jobId: "j", attempt: 1, satelliteId: "s1" }, 0);
  if (state === "running") tracker.step({ kind: "progress", jobId: "j", attempt: 1, satelliteId: "s1" }, 0);
  if (state === "retry-wait") {
    const failed = {
      kind: "failed",
      jobId: "j",
      attempt: 1,
      satelliteId: "s1",
      retryable: true,
      message: "x",
    } as const;
    tracker.step(failed, 0);
    setup.attempt = 2;
  }
  expect(tracker.jobState("j")).toBe(state);
  tracker.takeEffects();
  return setup;
}

/** Applies `kind` to the job; `timer` moves the clock to when the state's timer is due. */
function apply(
  setup: Setup,
  kind: JobEventKind,
  extra: Partial<{ retryable: boolean }> = {},
): TrackerEffect[] {
  const { tracker, attempt, satelliteId } = setup;
  const base = { jobId: "j", attempt, satelliteId };
  const events: Record<Exclude<JobEventKind, "timer">, TrackerEvent> = {
    dispatched: { kind: "dispatched", ...base },
    unplaceable: { kind: "unplaceable", jobId: "j", attempt },
    ack: { kind: "ack", ...base },
    progress: { kind: "progress", ...base },
    succeeded: { kind: "succeeded", ...base },
    failed: { kind: "failed", ...base, retryable: extra.retryable ?? true, message: "boom" },
    cancel: { kind: "cancel", jobId: "j" },
    "satellite-lost": { kind: "satellite-lost", satelliteId },
  };
  if (kind === "timer") tracker.tick((setup.nowMs = 60_000));
  else tracker.step(events[kind], setup.nowMs);
  return tracker.takeEffects();
}

const names = (effects: TrackerEffect[]) =>
  effects.map((effect) =>
    effect.kind === "event"
      ? effect.name
      : effect.kind === "complete"
        ? `complete:${effect.outcome}`
        : effect.kind,
  );

/** The legal transitions: (state, event) -> state after, and an effect that must be there. */
const LEGAL: [LiveJobStateName, JobEventKind, JobStateName, string][] = [
  ["placed", "dispatched", "sent", ""],
  ["placed", "unplaceable", "retry-wait", "job:unplaceable"],
  ["placed", "cancel", "cancelled", "complete:cancelled"],
  ["sent", "ack", "acked", "job:acked"],
  ["sent", "progress", "running", ""],
  ["sent", "succeeded", "done", "complete:done"],
  ["sent", "failed", "retry-wait", "job:retry"],
  ["sent", "satellite-lost", "retry-wait", "job:lost"],
  ["sent", "cancel", "cancelled", "cancel-on-satellite"],
  ["sent", "timer", "retry-wait", "job:timeout"],
  ["acked", "progress", "running", ""],
  ["acked", "succeeded", "done", "complete:done"],
  ["acked", "failed", "retry-wait", "job:rerouted"],
  ["acked", "satellite-lost", "retry-wait", "job:lost"],
  ["acked", "cancel", "cancelled", "cancel-on-satellite"],
  ["acked", "timer", "retry-wait", "job:stalled"],
  ["running", "progress", "running", ""],
  ["running", "succeeded", "done", "complete:done"],
  ["running", "failed", "retry-wait", "job:retry"],
  ["running", "satellite-lost", "retry-wait", "job:lost"],
  ["running", "cancel", "cancelled", "cancel-on-satellite"],
  ["running", "timer", "retry-wait", "job:stalled"],
  ["retry-wait", "timer", "placed", "place"],
  ["retry-wait", "cancel", "cancelled", "complete:cancelled"],
];

describe("legal transitions", () => {
  it("the list above covers the table exactly", () => {
    const table = Object.entries(TRANSITIONS).flatMap(([state, handlers]) =>
      Object.keys(handlers).map((event) => `${state} ${event}`),
    );
    expect(LEGAL.map(([state, event]) => `${state} ${event}`).sort()).toEqual(table.sort());
  });

  for (const [state, kind, after, effect] of LEGAL) {
    it(`${state} --${kind}--> ${after}`, () => {
      const setup = jobIn(state);
      const effects = apply(setup, kind);
      expect(setup.tracker.jobState("j")).toBe(after);
      if (effect !== "") expect(names(effects)).toContain(effect);
      expect(setup.tracker.stats().illegalTransitions).toBe(0);
    });
  }
});

describe("guards", () => {
  it("received --submit--> placed (place attempt 1)", () => {
    const tracker = new Tracker(CONFIG, () => 0.5);
    tracker.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1"] }, 0);
    expect(tracker.takeEffects()).toEqual([{ kind: "place", jobId: "j", attempt: 1, exclude: [] }]);
  });

  it("received --submit [deadline passed]--> expired", () => {
    const tracker = new Tracker(CONFIG, () => 0.5);
    tracker.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1"], deadlineAtMs: 5 }, 10);
    expect(names(tracker.takeEffects())).toEqual(["complete:expired"]);
  });

  it("received --submit [refused: bad attemptsMax]--> failed", () => {
    const tracker = new Tracker(CONFIG, () => 0.5);
    tracker.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1"], attemptsMax: 0 }, 0);
    expect(names(tracker.takeEffects())).toEqual(["complete:failed"]);
  });

  for (const state of ["sent", "acked", "running"] as const) {
    it(`${state} --failed [not retryable]--> failed`, () => {
      const setup = jobIn(state);
      expect(names(apply(setup, "failed", { retryable: false }))).toEqual(["complete:failed"]);
    });

    it(`${state} --failed [attempts exhausted]--> failed`, () => {
      const setup = jobIn(state, { attemptsMax: 1 });
      expect(names(apply(setup, "failed"))).toEqual(["complete:failed"]);
    });

    it(`${state} --satellite-lost [poison]--> failed`, () => {
      const setup = jobIn(state, { poisonCrashThreshold: 1 });
      expect(names(apply(setup, "satellite-lost"))).toEqual([
        "satellite:lost",
        "job:lost",
        "job:poison",
        "complete:failed",
      ]);
    });
  }

  it("acked --timer [run timeout]--> retry-wait (job:timeout)", () => {
    const setup = jobIn("running", { stallTimeoutMs: 2_000, runTimeoutMs: 3_000 });
    for (const at of [1_500, 2_900]) {
      setup.tracker.step({ kind: "progress", jobId: "j", attempt: 1, satelliteId: "s1" }, at);
    }
    setup.tracker.tick(3_000);
    expect(names(setup.tracker.takeEffects())).toContain("job:timeout");
  });

  it("placed --unplaceable [placeTimeoutMs over]--> failed", () => {
    const setup = jobIn("placed", { placeTimeoutMs: 100 });
    expect(names(apply(setup, "unplaceable"))).toEqual(["job:unplaceable"]);
    setup.tracker.tick((setup.nowMs = 100));
    expect(names(setup.tracker.takeEffects())).toEqual(["place"]);
    expect(names(apply(setup, "unplaceable"))).toEqual(["complete:failed"]);
  });

  for (const state of ["placed", "sent", "acked", "running", "retry-wait"] as const) {
    it(`${state} --timer [deadline]--> expired`, () => {
      const setup = jobIn(state, {}, 50);
      const effects = apply(setup, "timer");
      expect(names(effects)).toContain("complete:expired");
      const onSatellite = state === "sent" || state === "acked" || state === "running";
      expect(names(effects).includes("cancel-on-satellite")).toBe(onSatellite);
    });
  }
});

describe("illegal transitions are refused, counted and reported", () => {
  const external: JobEventKind[] = ["dispatched", "unplaceable", "ack", "progress", "succeeded", "failed"];
  for (const state of ["placed", "sent", "acked", "running", "retry-wait"] as const) {
    for (const kind of external) {
      if (TRANSITIONS[state][kind] !== undefined) continue;
      it(`${state} x ${kind}`, () => {
        const setup = jobIn(state);
        const effects = apply(setup, kind);
        expect(setup.tracker.jobState("j")).toBe(state);
        expect(names(effects)).toContain("tracker:illegal-transition");
        expect(names(effects).some((name) => name.startsWith("complete"))).toBe(false);
        expect(setup.tracker.stats().illegalTransitions).toBe(1);
      });
    }
  }
});

describe("docs/tracker.md", () => {
  it("lists the same (state, event) pairs as TRANSITIONS", () => {
    const text = readFileSync(new URL("../../docs/tracker.md", import.meta.url), "utf8");
    const section = text.slice(text.indexOf("## Transitions"), text.indexOf("## Common checks"));
    const documented = new Set<string>();
    for (const line of section.split("\n")) {
      const cells = line.split("|").map((cell) => cell.trim().replaceAll("`", ""));
      if (cells.length > 3 && cells[1] in TRANSITIONS && cells[2] !== "submit")
        documented.add(`${cells[1]} ${cells[2]}`);
    }
    const table = Object.entries(TRANSITIONS).flatMap(([state, handlers]) =>
      Object.keys(handlers).map((event) => `${state} ${event}`),
    );
    expect([...documented].sort()).toEqual(table.sort());
  });
});
