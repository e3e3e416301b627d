// `dsat dashboard`: a live web page of the topology's orchestrator, served by this process from its
// control and events sockets (docs/observability.md, "Dashboard"). Read-only unless an admin token
// is given; the keys are the other commands' ($DSAT_KEY; $DSAT_ADMIN_KEY for admin actions).
import { Command, InvalidArgumentError } from "commander";
import { connectAddress } from "../client/index.ts";
import { DashboardError, DEFAULT_LISTEN, startDashboard } from "../dashboard/index.ts";
import { curveFromEnv, loadTopology } from "../topology/index.ts";
import { adminCurveFromEnv } from "./control.ts";
import { UsageError } from "./errors.ts";
import { need, topologyOption } from "./messaging.ts";

function intervalMs(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 100 || parsed > 60_000)
    throw new InvalidArgumentError(`expected 100 to 60000 ms, got "${value}"`);
  return parsed;
}

export function dashboardCommand(): Command {
  return topologyOption(
    new Command("dashboard").description(
      "serve a live web page of the fleet: failure domains, throughput, latency, breakers, job search",
    ),
  )
    .option("--listen <host:port>", "where the page is served (port 0: any free port)", DEFAULT_LISTEN)
    .option(
      "--admin-token <token>",
      "allow drain, undrain and retry from the page with this token (16+ characters; or $DSAT_DASHBOARD_TOKEN)",
      process.env.DSAT_DASHBOARD_TOKEN,
    )
    .option("--insecure-listen", "let --listen use a non-loopback address without an admin token")
    .option("--interval <ms>", "how often the page is updated", intervalMs, 1000)
    .action(
      async (options: {
        topology: string;
        listen: string;
        adminToken?: string;
        insecureListen?: boolean;
        interval: number;
      }) => {
        const topology = loadTopology(options.topology);
        const token = options.adminToken === "" ? undefined : options.adminToken;
        // Replicated orchestrators: each node's role from its admin socket (those that have one).
        const orchestrators = (topology.orchestrators ?? []).flatMap((node) =>
          node.admin !== undefined ? [{ id: node.id, admin: connectAddress(node.admin) }] : [],
        );
        const dashboard = await startDashboard({
          control: need(topology.orchestrator.control, "control", topology),
          events: need(topology.orchestrator.events, "events", topology),
          orchestrators,
          curve: curveFromEnv(topology),
          adminCurve: adminCurveFromEnv(topology), // the job lookup (`jobs`) needs an admin key too
          listen: options.listen,
          adminToken: token,
          insecureListen: options.insecureListen === true,
          intervalMs: options.interval,
          log: (line) => console.log(line),
        }).catch((error: unknown) => {
          throw error instanceof DashboardError ? new UsageError(error.message) : error;
        });
        console.log(
          `dashboard: ${dashboard.url} (${token === undefined ? "read-only" : "admin actions with the token"})`,
        );
        process.send?.("ready");
        await new Promise<void>((done) => {
          const stop = () => void dashboard.close().then(done);
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
      },
    );
}
