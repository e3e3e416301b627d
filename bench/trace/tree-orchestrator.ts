// The bench's orchestrator, from the source tree given first (compare.ts runs two trees side by side).
const [tree, frontend, control] = process.argv.slice(2);
const { Orchestrator } = await import(`${tree}/src/orchestrator/index.ts`);
const orchestrator = new Orchestrator({
  frontend,
  control,
  hierarchy: ["rack", "host"],
  types: { echo: { replicas: 3, failureDomain: "host" }, hold: { replicas: 1, timeoutMs: 600_000 } },
  limits: { heartbeatMs: 1000, jobsMax: 500_000, satelliteQueueMax: 200_000, inFlightPerClientMax: 500_000 },
  log: () => {},
});
await orchestrator.start();
process.send?.("ready");
process.on("SIGTERM", () => {
  void orchestrator.stop().then(() => process.exit(0));
});
