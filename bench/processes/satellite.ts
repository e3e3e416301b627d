// An echo satellite under benchmark ("hold" jobs are answered only when the process is told to).
import { defineSatellite, runSatellite } from "../../src/satellite/index.ts";

const [endpoint, id, rack, concurrencyText] = process.argv.slice(2);
const held: Array<() => void> = [];
const definition = defineSatellite({
  type: ["echo", "hold"],
  concurrency: Number(concurrencyText),
  handle: (payload, context) =>
    context.type === "hold" ? new Promise((resolve) => held.push(() => resolve(null))) : payload,
});
await runSatellite(definition, {
  endpoint,
  id,
  location: [
    ["rack", rack],
    ["host", id],
  ],
  heartbeatMs: 1000,
  log: () => {},
});
process.on("message", (message) => {
  if (message === "release") for (const release of held.splice(0)) release();
});
process.send?.("ready");
process.on("SIGINT", () => process.exit(0));
