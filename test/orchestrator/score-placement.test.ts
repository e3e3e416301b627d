// Scores as CRUSH reweights (docs/operations.md, "Scores"): a satellite at score S keeps about S%
// of the keys it came first for, and no other key's placement moves (Ceph's reweight property);
// at 0 it is never a candidate. And what scores cost the router: 100 satellites heartbeating a
// noisy load every second drop the placement cache at most once a tick, not at every heartbeat.
import { describe, expect, it } from "vitest";
import { hashKey } from "../../src/crush/index.ts";
import { JobRouter, resolveConfig, TypePlacement, WaitingRoom } from "../../src/orchestrator/index.ts";
import {
  clientRequestFrames,
  encode,
  loadHeartbeatFrames,
  workerReadyFrames,
} from "../../src/protocol/index.ts";

const HIERARCHY = ["rack", "host"];

function fleet(racks: number, hostsPerRack: number) {
  const members = [];
  for (let r = 0; r < racks; r++)
    for (let h = 0; h < hostsPerRack; h++) {
      const device = r * hostsPerRack + h;
      members.push({
        device,
        satelliteId: `s${device}`,
        location: [
          ["rack", `r${r}`],
          ["host", `h${device}`],
        ] as Array<[string, string]>,
        weight: 1,
        placeable: true,
      });
    }
  return members;
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => hashKey(`key-${i}`));

function placeAll(placement: TypePlacement): string[][] {
  return KEYS.map((x) => [...placement.candidates(x, false)]);
}

describe("score reweights", () => {
  for (const score of [80, 60, 30, 10]) {
    it(`a satellite at ${score} keeps about ${score}% of its first places; no other key moves`, () => {
      const placement = new TypePlacement(
        "echo",
        HIERARCHY,
        { replicas: 3, failureDomain: "host" },
        fleet(3, 4),
        16,
      );
      const before = placeAll(placement);
      placement.setReweights([[5, Math.round((score * 0x10000) / 100)]]);
      const after = placeAll(placement);
      let firstOnIt = 0;
      let keptFirst = 0;
      let othersMoved = 0;
      let listsWithoutItChanged = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (!before[i].includes("s5") && before[i].join() !== after[i].join()) listsWithoutItChanged++;
        if (before[i][0] !== "s5") {
          if (after[i][0] !== before[i][0]) othersMoved++;
          continue;
        }
        firstOnIt++;
        if (after[i][0] === "s5") keptFirst++;
        // Shed to the next candidate: the list is as long.
        expect(after[i].length).toBe(before[i].length);
      }
      expect(othersMoved).toBe(0);
      expect(listsWithoutItChanged).toBe(0);
      expect(firstOnIt).toBeGreaterThan(KEYS.length / 12 / 1.3);
      expect(Math.abs(keptFirst / firstOnIt - score / 100)).toBeLessThan(0.05);
      if (process.env.DSAT_FIGURES)
        console.log({ score, firstOnIt, keptFirst, kept: (keptFirst / firstOnIt).toFixed(3) });
    });
  }

  it("its only satellite still takes a type's jobs at any score above 0, none at 0", () => {
    const placement = new TypePlacement(
      "echo",
      HIERARCHY,
      { replicas: 1, failureDomain: "host" },
      fleet(1, 1),
      16,
    );
    placement.setReweights([[0, Math.round(0.1 * 0x10000)]]);
    expect(KEYS.slice(0, 2000).every((x) => placement.candidates(x, false)[0] === "s0")).toBe(true);
    placement.setReweights([[0, 0]]);
    expect(KEYS.slice(0, 2000).every((x) => placement.candidates(x, false).length === 0)).toBe(true);
  });

  it("at 0 a satellite is never a candidate", () => {
    const placement = new TypePlacement(
      "echo",
      HIERARCHY,
      { replicas: 3, failureDomain: "host" },
      fleet(3, 4),
      16,
    );
    placement.setReweights([[5, 0]]);
    expect(placeAll(placement).filter((list) => list.includes("s5"))).toEqual([]);
  });
});

describe("what scores cost the router", () => {
  it("100 satellites heartbeating a noisy load every second drop the placement cache at most once a tick", () => {
    const config = resolveConfig({
      frontend: "inproc://x",
      hierarchy: HIERARCHY,
      types: { echo: { replicas: 3 } },
      limits: { heartbeatMs: 1000 },
      log: () => {},
    });
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const router = new JobRouter(config, {
      random,
      randomBytes: (n) => Buffer.alloc(n, 1),
      instance: "t",
      peerBacklogBytes: () => 0,
      spill: new WaitingRoom(1 << 20),
      curve: () => null,
    });
    const routes = Array.from({ length: 100 }, (_, i) => Buffer.from(`route-${i}`));
    let now = 0;
    routes.forEach((route, i) => {
      const hello = {
        id: `s${i}`,
        types: ["echo"],
        location: [
          ["rack", `r${i % 5}`],
          ["host", `h${i}`],
        ] as Array<[string, string]>,
        capacity: 8,
        weight: 1,
        heartbeatMs: 1000,
      };
      router.step({ kind: "frontend", frames: [route, ...workerReadyFrames("echo", hello)] }, now);
    });
    // A keyed job: the type's placement (and its cache) exists from now on.
    const client = Buffer.from("client");
    router.step(
      { kind: "frontend", frames: [client, ...clientRequestFrames("echo", { c: 1, k: "k" }, encode(1))] },
      now,
    );
    router.takeEffects(true);
    // Each satellite's load wanders around its own level: most move less than a step between beats.
    const level = routes.map((_, i) => (i % 10) * 50);
    const busy = routes.map((_, i) => (i % 4) * 2);
    let heartbeats = 0;
    let heartbeatNs = 0n;
    let ticks = 0;
    let tickNs = 0n;
    for (let second = 0; second < 30; second++) {
      for (let tenth = 0; tenth < 10; tenth++) {
        now += 100;
        for (let i = tenth * 10; i < tenth * 10 + 10; i++) {
          const frames = [
            routes[i],
            ...loadHeartbeatFrames({
              inFlight: busy[i] + (random() < 0.5 ? 0 : 1),
              queued: 0,
              lagMs: Math.max(0, level[i] + (random() - 0.5) * 60),
              errorRate: 0,
            }),
          ];
          const start = process.hrtime.bigint();
          router.step({ kind: "frontend", frames }, now);
          heartbeatNs += process.hrtime.bigint() - start;
          heartbeats++;
        }
        const start = process.hrtime.bigint();
        router.step({ kind: "tick" }, now);
        tickNs += process.hrtime.bigint() - start;
        ticks++;
        router.takeEffects(true);
      }
    }
    const figures = router.scoreFigures();
    const perHeartbeatUs = Number(heartbeatNs / BigInt(heartbeats)) / 1000;
    if (process.env.DSAT_FIGURES)
      console.log({
        heartbeats,
        ticks,
        ...figures,
        perHeartbeatUs: perHeartbeatUs.toFixed(2),
        perTickUs: (Number(tickNs / BigInt(ticks)) / 1000).toFixed(1),
      });
    expect(heartbeats).toBe(3000);
    expect(figures.badLoads).toBe(0);
    // One type: at most one drop per tick, and far fewer than heartbeats.
    expect(figures.cacheFlushes).toBeGreaterThan(0);
    expect(figures.cacheFlushes).toBeLessThanOrEqual(ticks);
    expect(figures.cacheFlushes).toBeLessThan(heartbeats / 5);
    expect(perHeartbeatUs).toBeLessThan(100);
  });
});
