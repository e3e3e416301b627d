// pm2 stops an app with SIGINT (then SIGKILL after kill_timeout): a satellite drains first, so the
// jobs it runs finish and their replies leave before the process exits.

/** On SIGTERM or SIGINT: drain, then exit 0. Returns the function that unhooks both. */
export function exitAfterDrainOnSignals(drain: () => Promise<void>): () => void {
  const handler = () => {
    void drain().then(() => process.exit(0));
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
  return () => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
  };
}
