// dsat simulate with several orchestrators: the real Raft core elects, the leader's router journals
// through it, and scenarios/leader-kill.json kills the leader at peak. Nothing may be lost, the new
// leader must answer within what the Raft timeouts allow, and the same seed gives the same bytes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario, parseScenario, ScenarioError, simulate } from "../../src/simulate/index.ts";
import { loadTopology } from "../../src/topology/index.ts";
import { ROOT } from "../cli/helpers.ts";

const replicated = loadTopology(join(ROOT, "topologies/replicated.json"));
const demo = loadTopology(join(ROOT, "topologies/demo.json"));
const scenario = loadScenario(join(ROOT, "scenarios/leader-kill.json"));

// The nodes' defaults (src/orchestrator/replicated/node.ts): ticks of 50 ms, elections after 10 to 20.
const TICK_MS = 50;
const ELECTION_TICKS = 10;
/** libzmq's reconnect interval: peers reach the new leader within one of these after it serves. */
const RECONNECT_MS = 100;

describe("simulate: a leader kill with replicated orchestrators", () => {
  it("loses nothing, and the new leader answers within the election timeout and a reconnect", () => {
    const started = performance.now();
    const result = simulate(replicated, scenario, 1);
    const wallMs = performance.now() - started;
    const echo = result.types.echo;
    expect(echo.submitted).toBeGreaterThan(10_000);
    expect(echo.lost).toBe(0);
    expect(echo.failed).toBe(0);
    expect(echo.completed).toBe(echo.submitted);

    const o = result.orchestrators;
    if (o === undefined) throw new Error("no orchestrators in the result");
    expect(o.failovers).toHaveLength(1);
    const [failover] = o.failovers;
    expect(failover.killed).toBe("o1");
    expect(failover.inFlight).toBeGreaterThan(0);
    expect(["o2", "o3"]).toContain(failover.leader);
    // A follower campaigns after [electionTicks, 2 x electionTicks) ticks without the leader (the
    // last heartbeat came up to a tick before the kill); then PreVote, the vote, the new term's
    // first entry, a reconnect and one commit: milliseconds each here.
    const failoverMs = failover.failoverMs as number;
    expect(failoverMs).toBeGreaterThanOrEqual((ELECTION_TICKS - 1) * TICK_MS);
    expect(failoverMs).toBeLessThanOrEqual(2 * ELECTION_TICKS * TICK_MS + TICK_MS + RECONNECT_MS + 100);
    expect(failover.servingAtMs as number).toBeLessThan(failover.firstAnswerAtMs as number);
    // What it costs: the requests waiting at the kill wait for the failover.
    expect(failover.latencyAfterMs.max).toBeGreaterThan(failoverMs - 100);
    expect(failover.latencyBeforeMs.max).toBeLessThan(failoverMs);
    expect(o.resent).toBeGreaterThan(0);
    // Leaderships: o1 until the kill, then the new leader to the end.
    expect(o.leaderships.map((l) => [l.node, l.toMs])).toEqual([
      ["o1", 10_000],
      [failover.leader, null],
    ]);
    // o1, restarted at 16 s, caught up as a follower; every book holds every job, finished.
    const leader = o.nodes.find((n) => n.id === failover.leader);
    for (const node of o.nodes) {
      expect(node.up).toBe(true);
      expect(node.applied).toBe(leader?.commit);
      expect(node.book).toEqual({ unfinished: 0, finished: echo.submitted });
    }
    expect(o.nodes.find((n) => n.id === "o1")?.role).toBe("follower");
    // The events are in the report as the others are.
    expect(result.events.map((e) => [e.action, e.what])).toEqual([
      ["kill-leader", "o1"],
      ["restart-orchestrator", "o1"],
    ]);
    console.log(
      `leader-kill: ${echo.submitted} jobs in ${Math.round(wallMs)} ms wall; failover ${failoverMs} ms; p99 ${echo.latencyMs.p99} ms`,
    );
  });

  it("gives the same bytes for the same seed, and another run for another seed", () => {
    const short = parseScenario(
      {
        description: "a leader kill, short",
        durationMs: 4000,
        drainMs: 10000,
        intervalMs: 500,
        load: { echo: { rate: 300, clients: 2 } },
        events: [{ atMs: 2000, action: "kill-leader" }],
      },
      "short.json",
    );
    const once = JSON.stringify(simulate(replicated, short, 3));
    expect(JSON.stringify(simulate(replicated, short, 3))).toBe(once);
    expect(JSON.stringify(simulate(replicated, short, 4))).not.toBe(once);
    expect(JSON.parse(once).types.echo.lost).toBe(0);
  });

  it("refuses orchestrator events the topology cannot have, naming the path", () => {
    const withEvents = (events: unknown[]) =>
      parseScenario({ description: "x", durationMs: 1000, load: { echo: { rate: 10 } }, events }, "bad.json");
    expect(() => simulate(demo, withEvents([{ atMs: 500, action: "kill-leader" }]), 1)).toThrow(
      /bad\.json: \/events\/0\/action: expected several orchestrators .* for kill-leader/,
    );
    expect(() =>
      simulate(replicated, withEvents([{ atMs: 500, action: "restart-orchestrator", node: "o9" }]), 1),
    ).toThrow(/\/events\/0\/node: expected a node of several orchestrators .*o1, o2, o3.*, found "o9"/);
    expect(() => withEvents([{ atMs: 500, action: "restart-orchestrator" }])).toThrow(ScenarioError);
    expect(() => withEvents([{ atMs: 500, action: "kill-leader", target: { host: "r1h1" } }])).toThrow(
      /\/events\/0/,
    );
  });
});
