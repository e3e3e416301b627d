// An attempt that never reached its satellite (the orchestrator's send found the connection gone)
// is retried at once, and is no fault of the satellite: five of them in a row must not open its
// breaker, while five handler failures do (the orchestrator's stall-and-reconnect case, where every
// job in the pipe to the old connection comes back undelivered).
import { describe, expect, it } from "vitest";
import { Tracker, type TrackerEffect } from "../../src/tracker/index.ts";

function failFive(undelivered: boolean): TrackerEffect[] {
  const tracker = new Tracker({ breakerFailuresThreshold: 5, jitter: 0, attemptsMax: 3 }, () => 0.5);
  const effects: TrackerEffect[] = [];
  for (let n = 0; n < 5; n++) {
    const jobId = `j${n}`;
    tracker.step({ kind: "submit", jobId, type: "echo", candidates: ["s1", "s2"] }, 0);
    tracker.step({ kind: "dispatched", jobId, attempt: 1, satelliteId: "s1" }, 0);
    tracker.step(
      { kind: "failed", jobId, attempt: 1, satelliteId: "s1", retryable: true, message: "x", undelivered },
      1,
    );
    effects.push(...tracker.takeEffects());
  }
  return effects;
}

describe("undelivered attempts", () => {
  it("do not open the satellite's breaker, where handler failures do", () => {
    const opened = (effects: TrackerEffect[]) =>
      effects.some(
        (effect) => effect.kind === "breaker" && effect.satelliteId === "s1" && effect.state === "open",
      );
    expect(opened(failFive(false))).toBe(true);
    expect(opened(failFive(true))).toBe(false);
  });

  it("are retried like any retryable failure", () => {
    const retries = failFive(true).filter((effect) => effect.kind === "event" && effect.name === "job:retry");
    expect(retries).toHaveLength(5);
  });
});
