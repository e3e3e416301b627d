// A satellite's load report (src/satellite/load-meter.ts): a blocked event loop shows as lag, the
// error rate is over the last period, and an application's own figures replace the runtime's.
import { describe, expect, it } from "vitest";
import { LoadMeter } from "../../src/satellite/load-meter.ts";
import { sleep } from "../helpers/wait.ts";

describe("LoadMeter", () => {
  it("measures a blocked event loop as lag, and forgets it the next period", async () => {
    const meter = new LoadMeter(undefined);
    try {
      await sleep(50);
      const blockedUntil = Date.now() + 300;
      while (Date.now() < blockedUntil) {
        // a handler that does not yield
      }
      await sleep(50);
      const blocked = meter.sample(2, 0, 0);
      expect(blocked.inFlight).toBe(2);
      expect(blocked.lagMs).toBeGreaterThan(150);
      await sleep(100);
      expect(meter.sample(0, 0, 0).lagMs).toBeLessThan(100);
    } finally {
      meter.close();
    }
  });

  it("gives the error rate of the jobs finished since the last sample", () => {
    const meter = new LoadMeter(undefined);
    try {
      expect(meter.sample(0, 3, 1).errorRate).toBe(0.25);
      expect(meter.sample(0, 3, 1).errorRate).toBe(0); // nothing finished since
      expect(meter.sample(0, 4, 4).errorRate).toBe(0.75);
    } finally {
      meter.close();
    }
  });

  it("takes the application's own figures, ignoring bad ones and a failing hook", () => {
    let calls = 0;
    const meter = new LoadMeter(() => {
      calls++;
      if (calls === 2) throw new Error("boom");
      return { queued: 40, lagMs: Number.NaN, errorRate: 3 } as never;
    });
    try {
      const first = meter.sample(1, 0, 0);
      expect(first).toMatchObject({ inFlight: 1, queued: 40, errorRate: 1 });
      expect(Number.isFinite(first.lagMs)).toBe(true);
      expect(meter.sample(1, 0, 0).queued).toBe(0);
    } finally {
      meter.close();
    }
  });
});
