// Jobs replayed from the journal resume at attempt attemptsBefore + 1: old attempts are fenced off.
import { describe, expect, it } from "vitest";
import { defaultTrackerConfig, Tracker, type TrackerEffect } from "../../src/tracker/index.ts";

function tracker(): Tracker {
  return new Tracker({ ...defaultTrackerConfig, attemptsMax: 3 }, () => 0.5);
}

const kinds = (effects: TrackerEffect[]) => effects.map((effect) => effect.kind);

describe("recovered jobs (attemptsBefore)", () => {
  it("resume at the next attempt and drop a late result of the old one", () => {
    const t = tracker();
    t.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1", "s2"], attemptsBefore: 2 }, 0);
    expect(t.takeEffects()).toEqual([{ kind: "place", jobId: "j", attempt: 3, exclude: [] }]);
    t.step({ kind: "dispatched", jobId: "j", attempt: 3, satelliteId: "s1" }, 1);
    t.step({ kind: "succeeded", jobId: "j", attempt: 2, satelliteId: "s1" }, 2);
    expect(t.jobState("j")).toBe("sent");
    expect(t.stats().types.echo.lateResults).toBe(1);
    t.step({ kind: "succeeded", jobId: "j", attempt: 3, satelliteId: "s1" }, 3);
    expect(t.takeEffects().find((effect) => effect.kind === "complete")).toMatchObject({
      outcome: "done",
      attempt: 3,
    });
  });

  it("count old attempts against attemptsMax but always get one more", () => {
    const t = tracker();
    t.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1", "s2"], attemptsBefore: 5 }, 0);
    t.step({ kind: "dispatched", jobId: "j", attempt: 6, satelliteId: "s1" }, 1);
    t.takeEffects();
    t.step({ kind: "failed", jobId: "j", attempt: 6, satelliteId: "s1", retryable: true, message: "x" }, 2);
    const complete = t.takeEffects().find((effect) => effect.kind === "complete");
    expect(complete).toMatchObject({ outcome: "failed", attempt: 6 });
    expect((complete as { message: string }).message).toMatch(/attempts exhausted \(6 of 3\)/);
  });

  it("refuse a job whose attempts ran out across restarts", () => {
    const t = tracker();
    t.step({ kind: "submit", jobId: "j", type: "echo", candidates: ["s1"], attemptsBefore: 255 }, 0);
    const effects = t.takeEffects();
    expect(kinds(effects)).toEqual(["complete"]);
    expect(effects[0]).toMatchObject({ outcome: "failed", attempt: 0 });
    expect((effects[0] as { message: string }).message).toMatch(/across restarts/);
  });
});
