import { describe, expect, test } from "vitest";
import { Progress } from "../../src/raft/progress.ts";

const progress = (next = 11) => new Progress(next, false, 4, 0);

describe("Progress", () => {
  test("probe: one append at a time until an answer", () => {
    const pr = progress();
    pr.sentEntries(3, 30);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(13)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    expect(pr.match).toBe(13);
    expect(pr.next).toBe(14);
    expect(pr.maybeUpdate(12)).toBe(false); // stale acknowledgement
  });

  test("replicate: next moves optimistically, bounded by the inflight window", () => {
    const pr = progress();
    pr.match = 10;
    pr.becomeReplicate();
    for (let i = 0; i < 4; i += 1) pr.sentEntries(2, 20);
    expect(pr.next).toBe(19);
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(14);
    pr.inflights.freeLE(14);
    expect(pr.inflights.size()).toBe(2);
  });

  test("a rejection in replicate goes back to match + 1; a stale one is ignored", () => {
    const pr = progress();
    pr.match = 10;
    pr.becomeReplicate();
    pr.sentEntries(5, 50);
    expect(pr.maybeDecreaseTo(9, 9)).toBe(false); // rejects something already matched
    expect(pr.maybeDecreaseTo(12, 11)).toBe(true);
    expect(pr.next).toBe(11);
  });

  test("a rejection in probe follows the hint, never below match + 1, only for the append in flight", () => {
    const pr = progress(20);
    pr.match = 5;
    expect(pr.maybeDecreaseTo(15, 3)).toBe(false); // not the prevIndex we sent (19)
    expect(pr.maybeDecreaseTo(19, 12)).toBe(true);
    expect(pr.next).toBe(13);
    expect(pr.maybeDecreaseTo(12, 0)).toBe(true);
    expect(pr.next).toBe(6);
  });

  test("snapshot: paused until done, then probes right after the snapshot", () => {
    const pr = progress();
    pr.becomeSnapshot(50);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(51);
    pr.becomeProbe();
    expect(pr.next).toBe(51);
    expect(pr.state).toBe("probe");
    pr.becomeSnapshot(50);
    pr.pendingSnapshot = 0; // the snapshot failed
    pr.becomeProbe();
    expect(pr.next).toBe(1);
  });
});
