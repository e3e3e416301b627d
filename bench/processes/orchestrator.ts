// The orchestrator under benchmark, in its own process.
import { Orchestrator } from "../../src/orchestrator/index.ts";

// A third argument makes it durable: the journal's directory (fsync on, docs/journal.md).
const [frontend, control, journalDir] = process.argv.slice(2);
const orchestrator = new Orchestrator({
  frontend,
  control,
  hierarchy: ["rack", "host"],
  types: { echo: { replicas: 3, failureDomain: "host" }, hold: { replicas: 1, timeoutMs: 600_000 } },
  limits: { heartbeatMs: 1000, jobsMax: 500_000, satelliteQueueMax: 200_000, inFlightPerClientMax: 500_000 },
  ...(journalDir !== undefined ? { journal: { dir: journalDir } } : {}),
  log: () => {},
});
await orchestrator.start();
process.send?.("ready");
process.on("SIGTERM", () => {
  void orchestrator.stop().then(() => process.exit(0));
});
