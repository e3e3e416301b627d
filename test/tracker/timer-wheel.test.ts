// The timer wheel against a model (a sorted list): timers fire never early, at most one tick late,
// in due order, exactly once; cancelled timers never fire; the fire limit bounds one advance.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TimerWheel } from "../../src/tracker/index.ts";

type WheelOp =
  | { op: "schedule"; inMs: number }
  | { op: "cancel"; pick: number }
  | { op: "advance"; byMs: number };

const wheelOpArb: fc.Arbitrary<WheelOp> = fc.oneof(
  fc.record({ op: fc.constant("schedule" as const), inMs: fc.integer({ min: -50, max: 5_000 }) }),
  fc.record({ op: fc.constant("cancel" as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant("advance" as const),
    byMs: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 20_000 })),
  }),
);

describe("TimerWheel", () => {
  it("fires like a sorted list would", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 7, 10),
        fc.constantFrom(4, 16, 256),
        fc.constantFrom(1, 2, 1_000),
        fc.array(wheelOpArb, { maxLength: 200, size: "max" }),
        (tickMs, slots, limit, ops) => {
          const wheel = new TimerWheel({ tickMs, slots, capacity: 4 });
          let nowMs = 0;
          let nextOwner = 0;
          /** Model: a timer fires at its due tick, or the tick after the last one advanced to. */
          const pending = new Map<number, { handle: number; dueMs: number; dueTick: number }>();
          let advancedTick = 0;
          const fired: number[] = [];
          const fire = (owner: number) => fired.push(owner);
          for (const op of ops) {
            if (op.op === "schedule") {
              const owner = nextOwner++;
              const dueMs = nowMs + op.inMs;
              const dueTick = Math.max(Math.ceil(dueMs / tickMs), advancedTick + 1);
              pending.set(owner, { handle: wheel.schedule(dueMs, owner, 0), dueMs, dueTick });
            } else if (op.op === "cancel" && pending.size > 0) {
              const owner = [...pending.keys()][op.pick % pending.size];
              wheel.cancel(pending.get(owner)!.handle);
              pending.delete(owner);
            } else if (op.op === "advance") {
              nowMs += op.byMs;
              let total = 0;
              let previousTick = Number.NEGATIVE_INFINITY;
              for (;;) {
                fired.length = 0;
                const count = wheel.advance(nowMs, limit, fire);
                expect(count).toBe(fired.length);
                expect(count).toBeLessThanOrEqual(limit);
                for (const owner of fired) {
                  const timer = pending.get(owner);
                  expect(timer, "fired once, and only if pending").toBeDefined();
                  if (timer === undefined) continue;
                  expect(timer.dueMs).toBeLessThanOrEqual(nowMs); // never early
                  expect(timer.dueTick * tickMs).toBeLessThanOrEqual(nowMs);
                  expect(timer.dueTick).toBeGreaterThanOrEqual(previousTick); // in due order
                  previousTick = timer.dueTick;
                  pending.delete(owner);
                }
                total += count;
                if (count < limit) break;
              }
              // Nothing due by now is left behind.
              advancedTick = Math.floor(nowMs / tickMs);
              for (const timer of pending.values()) expect(timer.dueTick).toBeGreaterThan(advancedTick);
              expect(total).toBeGreaterThanOrEqual(0);
            }
            expect(wheel.size).toBe(pending.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("lets a firing timer schedule and cancel others", () => {
    const wheel = new TimerWheel({ tickMs: 10, slots: 8 });
    const order: number[] = [];
    const handles = new Map<number, number>();
    handles.set(1, wheel.schedule(10, 1, 0));
    handles.set(2, wheel.schedule(10, 2, 0));
    handles.set(3, wheel.schedule(20, 3, 0));
    wheel.advance(100, 100, (owner) => {
      order.push(owner);
      if (owner === 1) {
        wheel.cancel(handles.get(2)!); // same slot, not yet visited
        wheel.schedule(0, 4, 0); // in the past: next tick
      }
    });
    expect(order).toEqual([1, 3, 4]); // 4 lands on the next tick, after 3 (scheduled earlier)
    expect(wheel.size).toBe(0);
  });

  it("jumps a gap of many rotations in due order", () => {
    const wheel = new TimerWheel({ tickMs: 1, slots: 4 });
    const order: number[] = [];
    for (const [owner, dueMs] of [
      [1, 1_000_003],
      [2, 5],
      [3, 1_000_001],
      [4, 40],
    ] as const)
      wheel.schedule(dueMs, owner, 0);
    wheel.advance(2_000_000, 10, (owner) => order.push(owner));
    expect(order).toEqual([2, 4, 3, 1]);
  });
});
