// The event catalogue the metrics count by (src/metrics/topics.ts) against the one documented in
// docs/protocol.md "Events", and the bound on what the event listener keeps.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BASE_TOPICS, EventCounts, parseTopic } from "../../src/metrics/index.ts";

/** The topics of docs/protocol.md's events table, without their `.<type>` suffix. */
function documentedTopics(): Set<string> {
  const text = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
  const section = text.slice(text.indexOf("## Events"), text.indexOf("### Subscription limits"));
  const topics = new Set<string>();
  for (const match of section.matchAll(/^\| `([^`]+)`/gm))
    topics.add(match[1].replace(/\[?\.<type>\]?$/, ""));
  return topics;
}

describe("the events catalogue", () => {
  it("is the one docs/protocol.md documents", () => {
    const documented = documentedTopics();
    expect(documented.size).toBeGreaterThan(30);
    expect([...documented].filter((topic) => !BASE_TOPICS.has(topic))).toEqual([]);
    expect([...BASE_TOPICS].filter((topic) => !documented.has(topic))).toEqual([]);
  });

  it("splits a topic into its base and job type, dots in types included", () => {
    expect(parseTopic("job.retry.resize")).toEqual({ base: "job.retry", type: "resize" });
    expect(parseTopic("job.retry")).toEqual({ base: "job.retry", type: "" });
    expect(parseTopic("job.retried")).toEqual({ base: "job.retried", type: "" });
    expect(parseTopic("result.image.resize")).toEqual({ base: "result", type: "image.resize" });
    expect(parseTopic("job.late-result-dropped.v1.thumb")).toEqual({
      base: "job.late-result-dropped",
      type: "v1.thumb",
    });
    expect(parseTopic("satellite.lost")).toEqual({ base: "satellite.lost", type: "" });
    expect(parseTopic("stats")).toEqual({ base: "stats", type: "" });
    expect(parseTopic("made.up.topic")).toEqual({ base: "other", type: "" });
    expect(parseTopic("")).toEqual({ base: "other", type: "" });
  });
});

describe("event counts", () => {
  it("sums raw topics into series on demand", () => {
    const counts = new EventCounts();
    for (let i = 0; i < 3; i++) counts.record("job.retry.a", { id: `j${i}` });
    counts.record("job.retry", { id: "gone" });
    counts.record("result.a", { status: "ok" });
    counts.record("result.a", { status: "DSAT_ERR_FAILED" });
    counts.record("result.a", { status: "made up" });
    counts.record("satellite.lost", {});
    const series = counts.series();
    expect(Object.fromEntries(series.byTopic)).toEqual({ "job.retry": 4, result: 3, "satellite.lost": 1 });
    expect([...series.jobEvents.values()]).toEqual([
      { event: "retry", type: "a", count: 3 },
      { event: "retry", type: "", count: 1 },
    ]);
    expect([...series.results.values()]).toEqual([
      { type: "a", status: "ok", count: 1 },
      { type: "a", status: "DSAT_ERR_FAILED", count: 1 },
      { type: "a", status: "other", count: 1 },
    ]);
  });

  it("keeps a bounded number of distinct topics; the rest are counted as other", () => {
    const counts = new EventCounts(4);
    for (let type = 0; type < 100; type++) counts.record(`job.acked.t${type}`, {});
    counts.record("job.acked.t0", {});
    const series = counts.series();
    expect(series.byTopic.get("job.acked")).toBe(5);
    expect(series.byTopic.get("other")).toBe(96);
    expect(series.jobEvents.size).toBe(4);
  });

  it("never throws, whatever a listener is handed", () => {
    const counts = new EventCounts();
    expect(() => counts.record("result.x", undefined as unknown as Record<string, unknown>)).not.toThrow();
    expect(counts.series().results.get("x\nother")?.count).toBe(1);
  });
});
