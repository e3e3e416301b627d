// A satellite under replicated orchestrators (docs/raft.md): attempt tokens carry the leadership
// term (epoch * 256 + attempt). Once it has seen a job of term 5, a job of term 4 is a deposed
// leader's: it is not run (counters.fenced) but answered with an error. A raw ROUTER plays the
// orchestrators. A satellite given one orchestrator never fences (its tokens carry no term).
import { afterEach, describe, expect, it } from "vitest";
import { Router } from "zeromq";
import { encode, type JobEntry, jobBatchFrames } from "../../src/protocol/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

let router: Router | null = null;
let satellite: SatelliteRuntime | null = null;
afterEach(async () => {
  await satellite?.stop();
  router?.close();
});

const token = (epoch: number, attempt: number) => epoch * 256 + attempt;

describe("satellite fencing", () => {
  it("runs a later leadership's jobs and refuses an earlier one's; handlers see the plain attempt", async () => {
    // Two frontends (a replicated set): only then do tokens carry a term. Nothing listens on the second.
    const [endpoint, follower] = await freeEndpoints(2);
    router = new Router({ linger: 0 });
    await router.bind(endpoint);
    const ran: Array<{ id: string; attempt: number }> = [];
    satellite = await runSatellite(
      defineSatellite({
        type: "echo",
        handle: (payload, context) => {
          ran.push({ id: context.id, attempt: context.attempt });
          return payload;
        },
      }),
      { endpoint: `${endpoint},${follower}`, id: "s1", heartbeatMs: 60_000, log: () => {} },
    );
    // Its READY tells us its routing id.
    const [route] = await router.receive();
    const job = (id: string, epoch: number): JobEntry => [
      id,
      token(epoch, 1),
      "echo",
      1, // encode(1) is one byte
      1,
      null,
      null,
      null,
    ];
    const send = (entries: JobEntry[]) =>
      router?.send([
        route,
        ...jobBatchFrames(
          entries,
          entries.map(() => encode(1)),
        ),
      ]);
    await send([job("new", 5)]);
    await until(() => ran.length === 1, 10_000, "the term-5 job to run");
    await send([job("stale", 4), job("newer", 6)]);
    await until(() => ran.length === 2, 10_000, "the term-6 job to run");
    await send([job("stale-again", 5)]);
    await until(() => (satellite?.counters.fenced ?? 0) === 2, 10_000, "two jobs fenced");
    expect(ran).toEqual([
      { id: "new", attempt: 1 },
      { id: "newer", attempt: 1 },
    ]);
  });
});
