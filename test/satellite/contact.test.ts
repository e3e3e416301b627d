// The satellite's log lines about its contact with the orchestrator (src/satellite/contact.ts), on
// an injected clock: nothing before `silentBeats` heartbeats of silence, then one line, the next
// after twice the silence (at most a minute apart), and one line when the orchestrator is back.
import { describe, expect, it } from "vitest";
import { OrchestratorContact } from "../../src/satellite/contact.ts";

function contact(start = 1_000) {
  const lines: string[] = [];
  const c = new OrchestratorContact(
    { endpoint: "tcp://10.0.0.1:5555", heartbeatMs: 100, silentBeats: 6, log: (line) => lines.push(line) },
    start,
  );
  return { c, lines };
}

describe("OrchestratorContact", () => {
  it("says nothing while the orchestrator is heard", () => {
    const { c, lines } = contact();
    for (let t = 1_000; t < 10_000; t += 100) {
      c.heard(t);
      c.tick(t + 50, true);
    }
    expect(lines).toEqual([]);
  });

  it("logs a long silence, again with growing gaps, and the return", () => {
    const { c, lines } = contact();
    const ticks: number[] = [];
    for (let t = 1_100; t <= 1_000 + 200_000; t += 100) {
      const before = lines.length;
      c.tick(t, false);
      if (lines.length > before) ticks.push(t - 1_000);
    }
    // First after 6 heartbeats (600 ms), then at twice the silence each time, capped at 60 s apart.
    expect(ticks.slice(0, 9)).toEqual([600, 1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 76_800, 136_800]);
    expect(lines[0]).toBe(
      "no word from the orchestrator at tcp://10.0.0.1:5555 for 600 ms (6 heartbeats); no connection: still trying (libzmq reconnects every 100 ms)",
    );
    expect(c.reportedSilent).toBe(true);
    c.heard(1_000 + 200_050);
    expect(lines.at(-1)).toBe("orchestrator at tcp://10.0.0.1:5555 heard again after 200050 ms of silence");
    expect(c.reportedSilent).toBe(false);
    // A new silence starts its own count.
    const count = lines.length;
    c.tick(1_000 + 200_050 + 599, true);
    expect(lines.length).toBe(count);
    c.tick(1_000 + 200_050 + 600, true);
    expect(lines.at(-1)).toContain("for 600 ms (6 heartbeats); connected, waiting for it to answer");
  });

  it("a short silence that ends before the threshold logs nothing, not even the return", () => {
    const { c, lines } = contact();
    c.tick(1_500, false);
    c.heard(1_550);
    expect(lines).toEqual([]);
  });
});
