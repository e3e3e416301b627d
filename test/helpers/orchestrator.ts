// An orchestrator on a free port with a dsat client connected to it, both stopped by `cleanups`.
import { type Client, connect } from "../../src/client/index.ts";
import { Orchestrator, type OrchestratorConfig } from "../../src/orchestrator/index.ts";
import type { Cleanups } from "./cleanups.ts";
import { freeEndpoints } from "./ports.ts";

/** Starts `new Orchestrator({ frontend, ...config })` on a free port, and a client with `timeoutMs`. */
export async function startWithClient(
  cleanups: Cleanups,
  config: Omit<OrchestratorConfig, "frontend">,
  timeoutMs: number,
): Promise<{ orchestrator: Orchestrator; client: Client }> {
  const [frontend] = await freeEndpoints(1);
  const orchestrator = new Orchestrator({ frontend, ...config });
  await orchestrator.start();
  cleanups.push(() => orchestrator.stop());
  const client = await connect(frontend, { timeoutMs });
  cleanups.push(() => client.close());
  return { orchestrator, client };
}
