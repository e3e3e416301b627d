// The parts the orchestrator fuzz tests share (test/orchestrator/fuzz.test.ts,
// test/security/fuzz-curve.test.ts): a job type no fuzz message can name, the good traffic that
// must all come back through the barrage, and the fake satellite a frontend fuzzer registers as.
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import type { Client } from "../../src/client/index.ts";
import { workerReadyFrames } from "../../src/protocol/frames.ts";
import { type Frames, frontendMessage, mutate, mutation, validMessage } from "./fuzz-frames.ts";

/** A fresh job type no fuzz message can name (they never use "echo-good-"): the good client's own. */
export function goodType(): string {
  return `echo-good-${randomBytes(8).toString("hex")}`;
}

/** Requests of one type sent through a fuzz run, each with its own value to come back. */
export class GoodTraffic {
  sent = 0;
  private readonly outcomes: Array<Promise<string | null>> = [];

  constructor(
    private readonly client: Client,
    private readonly type: string,
  ) {}

  send(): void {
    const n = this.sent++;
    const value = { n, s: `v${n}`, b: n % 3 === 0 ? [n, null, true] : "x".repeat(n % 50) };
    this.outcomes.push(
      this.client.request(this.type, value, { key: `k${n % 17}` }).then(
        (result) =>
          isDeepStrictEqual(result, value)
            ? null
            : `request ${n}: got ${JSON.stringify(result)} instead of ${JSON.stringify(value)}`,
        (error: unknown) => `request ${n}: ${String(error)}`,
      ),
    );
  }

  /** Waits for every request sent; what went wrong with each that failed or came back wrong. */
  async failures(): Promise<string[]> {
    return (await Promise.all(this.outcomes)).filter((failure) => failure !== null);
  }
}

/** What a frontend fuzzer registered as a satellite sends: mostly mutated valid messages. */
export const workerMessage: fc.Arbitrary<Frames> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(validMessage, mutation).map(([frames, change]) => mutate(frames, change)),
  },
  { weight: 1, arbitrary: frontendMessage },
);

/** The READY that registers that fuzzer as satellite fz-fake-satellite (sent again now and then). */
export function fakeReady(location: Array<[string, string]>): Frames {
  return workerReadyFrames("fz-fake-type", {
    id: "fz-fake-satellite",
    types: ["fz-fake-type"],
    location,
    capacity: 3,
    weight: 1,
  });
}
