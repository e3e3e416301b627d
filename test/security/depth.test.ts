// Payload depth (issue 6, hostile input): MessagePack nested deeper than the limit is refused
// before anything decodes it, so a recursive decoder never runs out of stack.
import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, JobFailedError } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { PAYLOAD_DEPTH_MAX, withinDepth } from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
};

describe("withinDepth", () => {
  it("counts arrays and maps, empty ones included", () => {
    expect(withinDepth(pack(nested(64)), 64)).toBe(true);
    expect(withinDepth(pack(nested(65)), 64)).toBe(false);
    expect(withinDepth(pack(nested(63, [])), 64)).toBe(true);
    expect(withinDepth(pack(nested(64, {})), 64)).toBe(false);
  });

  it("skips strings, binaries, numbers and extensions of every width", () => {
    const flat = {
      s8: "x".repeat(200),
      s16: "y".repeat(70_000),
      bin: Buffer.alloc(70_000),
      numbers: [1, -1, 200, -200, 70_000, -70_000, 2 ** 40, -(2 ** 40), 1.5, null, true, false],
      date: new Date(0),
      big: new Array(70_000).fill(7),
    };
    expect(withinDepth(pack(flat), 2)).toBe(true);
    expect(withinDepth(pack({ a: { b: {} } }), 2)).toBe(false);
  });

  it("answers at once for 200,000 nested arrays (no recursion)", () => {
    expect(withinDepth(Buffer.alloc(200_000, 0x91), PAYLOAD_DEPTH_MAX)).toBe(false);
  });
});

describe("a payload nested too deep, end to end", () => {
  let orchestrator: Orchestrator;
  let satellite: SatelliteRuntime;
  let client: Client;
  let handled = 0;

  beforeAll(async () => {
    const [frontend] = await freeEndpoints(1);
    orchestrator = new Orchestrator({ frontend, hierarchy: ["host"], types: { echo: {} }, log: () => {} });
    await orchestrator.start();
    satellite = await runSatellite(
      defineSatellite({
        type: "echo",
        handle: (payload) => {
          handled++;
          return payload;
        },
      }),
      { endpoint: frontend, id: "s1", location: [["host", "h1"]], log: () => {} },
    );
    client = await connect(frontend);
    await client.request("echo", "warm-up");
  });

  afterAll(async () => {
    await client.close();
    await satellite.stop();
    await orchestrator.stop();
  });

  it("fails the job without calling the handler; a sane payload still works", async () => {
    const before = handled;
    const error = await client.request("echo", nested(PAYLOAD_DEPTH_MAX + 10)).catch((caught) => caught);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toContain(`deeper than ${PAYLOAD_DEPTH_MAX}`);
    expect(handled).toBe(before);
    expect(await client.request("echo", nested(10))).toEqual(nested(10));
  });
});
