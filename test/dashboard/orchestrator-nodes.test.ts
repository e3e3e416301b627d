// The dashboard's rows for replicated orchestrators: an `orch-status` reply as the page shows it,
// bad or missing answers as an unreachable red row (never a crash), and a real admin-less endpoint
// that does not answer within the timeout.
import { describe, expect, it } from "vitest";
import { orchestratorRow, pollOrchestratorNodes } from "../../src/dashboard/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";

describe("orchestrator node rows", () => {
  it("reads an orch-status reply", () => {
    expect(
      orchestratorRow("o1", {
        ok: true,
        role: "leader",
        mode: "active",
        term: 3,
        commit: 8,
        applied: 8,
        lag: 0,
        serving: true,
        health: "green",
        leader: "o1",
        peers: { o2: { match: 8 } },
      }),
    ).toEqual({
      id: "o1",
      role: "leader",
      mode: "active",
      term: 3,
      commit: 8,
      applied: 8,
      lag: 0,
      serving: true,
      health: "green",
      leader: "o1",
      error: null,
    });
  });

  it("turns a refusal, a malformed reply or wrong field types into something showable", () => {
    expect(orchestratorRow("o2", { ok: false, error: "nope" })).toMatchObject({
      role: "unreachable",
      health: "red",
      error: "nope",
    });
    for (const bad of [null, 7, "x", [1]])
      expect(orchestratorRow("o2", bad)).toMatchObject({
        role: "unreachable",
        error: "malformed orch-status reply",
      });
    expect(
      orchestratorRow("o3", { role: 5, term: "3", lag: Number.NaN, health: "purple", serving: "yes" }),
    ).toEqual(expect.objectContaining({ role: "?", term: null, lag: null, health: "red", serving: false }));
  });

  it("shows a node that does not answer as unreachable, within the timeout", async () => {
    const [silent] = await freeEndpoints(1);
    const started = Date.now();
    const [row] = await pollOrchestratorNodes([{ id: "o9", admin: silent }], 300);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(row).toMatchObject({ id: "o9", role: "unreachable", health: "red" });
    expect(row.error).toMatch(/no answer/);
  });
});
