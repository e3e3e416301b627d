// The JobContext a handler gets: its fields, a signal made on first use, and progress() and log()
// that work when taken off the context (handlers may destructure it). In process, real sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite, runSatellite, type SatelliteRuntime } from "../../src/satellite/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

let orchestrator: Orchestrator;
let satellite: SatelliteRuntime;
let client: Client;
const logged: string[] = [];

beforeAll(async () => {
  const [frontend] = await freeEndpoints(1);
  orchestrator = new Orchestrator({ frontend, hierarchy: ["host"], log: () => {} });
  await orchestrator.start();
  satellite = await runSatellite(
    defineSatellite({
      type: ["context", "context-async"],
      concurrency: 4,
      handle: async (payload: unknown, context) => {
        const { progress, log } = context;
        const signal = context.signal; // made on first use, the same one after
        progress(1);
        log(`got ${String(payload)}`);
        if (context.type === "context-async") await new Promise((resolve) => setTimeout(resolve, 20));
        return {
          id: context.id,
          type: context.type,
          attempt: context.attempt,
          satelliteId: context.satelliteId,
          key: context.key ?? null,
          hasDeadline: typeof context.deadline === "number",
          aborted: signal.aborted,
          sameSignal: signal === context.signal,
        };
      },
    }),
    { endpoint: frontend, id: "ctx-1", log: (line) => logged.push(line) },
  );
  await until(() => orchestrator.status().satellites.length === 1, 10_000, "the satellite registers");
  client = await connect(frontend);
}, 30_000);

afterAll(async () => {
  await client?.close();
  await satellite?.stop();
  await orchestrator?.stop();
});

describe("JobContext", () => {
  it.each(["context", "context-async"])(
    "gives %s handlers their job's fields, signal, progress and log",
    async (type) => {
      const result = await client.request(type, "hello", { id: `job-${type}`, key: "k1" });
      expect(result).toEqual({
        id: `job-${type}`,
        type,
        attempt: 1,
        satelliteId: "ctx-1",
        key: "k1",
        hasDeadline: true,
        aborted: false,
        sameSignal: true,
      });
      expect(logged).toContain(`[job job-${type}#1] got hello`);
    },
  );
});
