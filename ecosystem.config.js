// pm2 apps built from a topology. Placeholder until the topologies/pm2 issue: it will read
// DSAT_TOPOLOGY (default topologies/demo.json) and yield the orchestrator and every satellite.
// For now there is nothing to run under pm2, so the app list is empty.
export default { apps: [] };
