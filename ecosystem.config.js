// pm2 apps for a dsat topology: `pm2 start ecosystem.config.js` (or `dsat up`, which builds the same
// list). Reads DSAT_TOPOLOGY (default topologies/demo.json) and yields the orchestrator and every
// satellite instance; DSAT_HOST=h2 yields only host h2's satellites (one pm2 per machine), with the
// orchestrator only when DSAT_ORCHESTRATOR=1. The list comes from src/pm2/apps.ts (docs/pm2.md).
//
// pm2 7 loads this file with require(); Node >= 20.19 can require() an ES module as long as it has
// no top-level await, and pm2 reads the `apps` field of what require() returns (the module
// namespace), so `apps` is a named export. The TypeScript module is loaded synchronously through
// tsx's CommonJS API for the same reason (no top-level await).
import { require as tsxRequire } from "tsx/cjs/api";

const root = import.meta.dirname;
/** @type {typeof import("./src/pm2/apps.ts")} */
const { appsFromEnv } = tsxRequire("./src/pm2/apps.ts", import.meta.url);

export const apps = appsFromEnv(process.env, root);
export default { apps };
