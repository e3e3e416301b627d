// /metrics over node:http: one scrape target per orchestrator. Loopback unless `insecure`
// (address.ts). Bounded like the rest: few connections, short timeouts, and nothing read from a
// request but its method and path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { checkMetricsReach, MetricsError, parseMetricsAddress } from "./address.ts";
import {
  type MetricsOptions,
  type MetricsSourceConfig,
  OrchestratorMetrics,
} from "./orchestrator-metrics.ts";
import type { MetricsSource } from "./scrape-view.ts";

/** What the server serves: a text exposition per scrape (OrchestratorMetrics, NodeMetrics). */
export interface Scrapeable {
  scrape(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

export interface MetricsServerOptions extends MetricsOptions {
  /** "host:port", e.g. "127.0.0.1:9464" (port 0: any free port). */
  address: string;
  /** Let it listen on a wildcard or non-loopback address (--insecure-metrics), with a warning. */
  insecure?: boolean;
}

/** Scrapers that may be connected at once (Prometheus keeps one connection per target). */
const CONNECTIONS_MAX = 32;
const REQUEST_TIMEOUT_MS = 10_000;

export class MetricsServer<M extends Scrapeable = OrchestratorMetrics> {
  private closed = false;

  private constructor(
    readonly metrics: M,
    private readonly server: Server,
    /** The address it listens on, with the port the system chose for port 0. */
    readonly host: string,
    readonly port: number,
  ) {}

  /** http://host:port/metrics */
  get url(): string {
    return `http://${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}/metrics`;
  }

  /**
   * Listens on `options.address` and serves the metrics of `source`. Throws MetricsError for a bad
   * address, a non-loopback one without `insecure`, or one it cannot listen on.
   */
  static async start(
    source: MetricsSource & MetricsSourceConfig,
    options: MetricsServerOptions,
  ): Promise<MetricsServer> {
    parseMetricsAddress(options.address); // a bad address fails before the metrics attach
    return MetricsServer.serve(new OrchestratorMetrics(source, options), options);
  }

  /**
   * Listens on `options.address` and serves `metrics` (closed with the server, or here if the
   * server cannot listen). Throws MetricsError as start() does.
   */
  static async serve<M extends Scrapeable>(
    metrics: M,
    options: Omit<MetricsServerOptions, keyof MetricsOptions> & { log?: (line: string) => void },
  ): Promise<MetricsServer<M>> {
    const log = options.log ?? (() => {});
    let address: ReturnType<typeof parseMetricsAddress>;
    try {
      address = parseMetricsAddress(options.address);
      const warning = checkMetricsReach(address, options.address, options.insecure === true);
      if (warning !== null) log(`warning: ${warning}`);
    } catch (error) {
      metrics.close();
      throw error;
    }
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS });
    server.maxConnections = CONNECTIONS_MAX;
    server.keepAliveTimeout = 5000;
    server.on("request", (request, response) => void serve(metrics, request, response, log));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      metrics.close();
      throw new MetricsError(`metrics: cannot listen on ${options.address}: ${(error as Error).message}`);
    }
    // After listening, a server error (rare: accept failures) is logged, never thrown.
    server.on("error", (error) => log(`metrics: server error: ${error.message}`));
    const bound = server.address();
    const port = bound !== null && typeof bound === "object" ? bound.port : address.port;
    return new MetricsServer(metrics, server, address.host, port);
  }

  /** Stops listening, drops open connections and stops counting events. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.metrics.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function serve(
  metrics: Scrapeable,
  request: IncomingMessage,
  response: ServerResponse,
  log: (line: string) => void,
): Promise<void> {
  const path = (request.url ?? "").split("?")[0];
  if (path !== "/metrics") return reply(response, 404, "not found: the metrics are at /metrics\n");
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("Allow", "GET, HEAD");
    return reply(response, 405, "method not allowed: GET /metrics\n");
  }
  let body: string;
  try {
    body = await metrics.scrape();
  } catch (error) {
    log(`metrics: scrape failed: ${(error as Error).stack ?? error}`);
    return reply(response, 500, `scrape failed: ${(error as Error).message}\n`);
  }
  response.writeHead(200, { "Content-Type": metrics.contentType, "Cache-Control": "no-store" });
  response.end(request.method === "HEAD" ? undefined : body);
}

function reply(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(text);
}

/** What startMetrics needs of an orchestrator: its public status, events, config and stop(). */
export type MetricsTarget = MetricsSource & MetricsSourceConfig & { stop(): Promise<void> };

/**
 * Serves `orchestrator`'s metrics, and closes the server when the orchestrator stops: its stop()
 * (on this instance) first closes the server. The shell has no stop hook to listen to, and this
 * module stays outside it (docs/observability.md).
 */
export async function startMetrics(
  orchestrator: MetricsTarget,
  options: MetricsServerOptions,
): Promise<MetricsServer> {
  const server = await MetricsServer.start(orchestrator, options);
  const stop = orchestrator.stop;
  orchestrator.stop = async () => {
    await server.close();
    return stop.call(orchestrator);
  };
  return server;
}
