// One node of a replicated orchestrator set under benchmark, in its own process: the same settings
// as orchestrator.ts, its journal being the Raft log (docs/raft.md, "Replicated orchestrators").
import { OrchestratorNode } from "../../src/orchestrator/index.ts";

const [id, peersJson, frontend, admin, dir] = process.argv.slice(2);
const node = await OrchestratorNode.start({
  id,
  peers: JSON.parse(peersJson) as Record<string, string>,
  dir,
  admin,
  orchestrator: {
    frontend,
    hierarchy: ["rack", "host"],
    types: { echo: { replicas: 3, failureDomain: "host" }, hold: { replicas: 1, timeoutMs: 600_000 } },
    limits: {
      heartbeatMs: 1000,
      jobsMax: 500_000,
      satelliteQueueMax: 200_000,
      inFlightPerClientMax: 500_000,
    },
    journal: { dir, recoveryMs: 1000 },
    log: () => {},
  },
  log: () => {},
});
process.send?.("ready");
process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
