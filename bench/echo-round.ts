// One measured round shared by the in-process benchmarks: orchestrator + one echo satellite + one
// client in this process, IN_FLIGHT requests in flight; returns jobs/s after a warm-up.
import { type ClientOptions, connect } from "../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../src/orchestrator/index.ts";
import { defineSatellite, runSatellite } from "../src/satellite/index.ts";
import type { CurveOptions } from "../src/security/keys.ts";
import { freeEndpoints } from "../test/helpers/ports.ts";

export const IN_FLIGHT = 1024;

export interface RoundOptions {
  orchestrator?: Partial<OrchestratorConfig>;
  client?: ClientOptions;
  satelliteCurve?: CurveOptions;
  /** Runs each request (e.g. under an active span); by default it is just called. */
  wrap?: (request: () => Promise<unknown>) => Promise<unknown>;
  /** Attaches something to the started orchestrator (metrics); what it returns is called at the end. */
  attach?: (orchestrator: Orchestrator) => Promise<() => Promise<void>>;
}

export async function echoRound(jobs: number, options: RoundOptions = {}): Promise<number> {
  const [frontend] = await freeEndpoints(1);
  const orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["host"],
    log: () => {},
    ...options.orchestrator,
  });
  await orchestrator.start();
  const detach = options.attach === undefined ? null : await options.attach(orchestrator);
  const satellite = await runSatellite(
    defineSatellite({ type: "echo", concurrency: IN_FLIGHT, handle: (payload: unknown) => payload }),
    {
      endpoint: frontend,
      id: "bench-1",
      log: () => {},
      ...(options.satelliteCurve !== undefined ? { curve: options.satelliteCurve } : {}),
    },
  );
  const client = await connect(frontend, { inFlightMax: IN_FLIGHT, timeoutMs: 60_000, ...options.client });
  try {
    while (orchestrator.status().satellites.length === 0) await new Promise((done) => setTimeout(done, 10));
    const run = async (count: number) => {
      let issued = 0;
      const wrap = options.wrap;
      const worker = async () => {
        while (issued++ < count) {
          const payload = issued;
          if (wrap === undefined) await client.request("echo", payload);
          else await wrap(() => client.request("echo", payload));
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    };
    await run(Math.min(jobs, 5000)); // warm-up
    const started = performance.now();
    await run(jobs);
    return jobs / ((performance.now() - started) / 1000);
  } finally {
    await client.close();
    await satellite.stop();
    await detach?.();
    await orchestrator.stop();
  }
}
