// An orchestrator in its own process, so a test can read its RSS (event-subscriptions.test.ts).
// argv: frontend events limitsJSON. IPC: sends "ready"; answers "status" with { rss, dropped,
// malformed }; "publish" publishes a `test.ping` event.
import { readFileSync } from "node:fs";
import { Orchestrator } from "../../src/orchestrator/index.ts";

const [frontend, events, limits] = process.argv.slice(2);
const orchestrator = new Orchestrator({
  frontend,
  events,
  types: { echo: {} },
  limits: JSON.parse(limits),
  log: () => {},
});
await orchestrator.start();

const rssBytes = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024;

process.on("message", (message) => {
  if (message === "status")
    process.send?.({
      rss: rssBytes(),
      dropped: orchestrator.counters.security.eventSubscribersDropped,
      malformed: orchestrator.counters.malformed.events,
    });
  else if (message === "publish") orchestrator.publishEvent("test.ping", {});
});
process.on("SIGTERM", () => void orchestrator.stop().then(() => process.exit(0)));
process.send?.("ready");
