// The dashboard's HTTP side (node:http): the page, its server-sent events stream, the job search,
// and admin actions behind a token. Bounded: few connections and streams, small request bodies,
// and a stream whose reader falls behind is closed (the page reconnects and gets a fresh snapshot).
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isLoopbackName, type ListenAddress } from "./listen.ts";

export interface DashboardHandlers {
  page(): string;
  snapshot(): unknown;
  job(id: string): Promise<unknown>;
  admin(action: AdminAction): Promise<{ status: number; body: unknown }>;
  health(): unknown;
}

export type AdminAction = { action: "drain" | "undrain"; target: string } | { action: "retry"; id: string };

export interface HttpOptions {
  address: ListenAddress;
  /** Admin actions need this token in the X-Dsat-Admin-Token header; none: read-only. */
  adminToken?: string;
  log: (line: string) => void;
}

const CONNECTIONS_MAX = 64;
const STREAMS_MAX = 32;
const BODY_MAX = 4096;
/** Bytes a stream may have unsent before its reader is judged too slow and the stream closed. */
const STREAM_BACKLOG_MAX = 8 * 1024 * 1024;
export const TOKEN_HEADER = "x-dsat-admin-token";
const TEXT_MAX = 512;

export class DashboardHttp {
  private readonly streams = new Set<ServerResponse>();
  private readonly tokenDigest: Buffer | null;
  port = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: HttpOptions,
    private readonly handlers: DashboardHandlers,
  ) {
    this.tokenDigest = options.adminToken === undefined ? null : digest(options.adminToken);
  }

  static async listen(options: HttpOptions, handlers: DashboardHandlers): Promise<DashboardHttp> {
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 });
    server.maxConnections = CONNECTIONS_MAX;
    const http = new DashboardHttp(server, options, handlers);
    server.on("request", (request, response) => {
      http.serve(request, response).catch((error: unknown) => {
        options.log(`dashboard: ${request.method} ${request.url}: ${(error as Error).message}`);
        if (!response.headersSent) json(response, 500, { error: (error as Error).message });
        else response.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.address.host, port: options.address.port, exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => options.log(`dashboard: server error: ${error.message}`));
    const bound = server.address();
    http.port = bound !== null && typeof bound === "object" ? bound.port : options.address.port;
    return http;
  }

  get url(): string {
    const host = this.options.address.host;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.port}/`;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Sends one server-sent event to every open stream (the same bytes to each). */
  broadcast(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of this.streams) {
      if (stream.writableLength > STREAM_BACKLOG_MAX) {
        this.streams.delete(stream);
        stream.destroy();
        continue;
      }
      stream.write(frame);
    }
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.destroy();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A page on another site reaching a loopback dashboard through a name of its own (DNS rebinding)
    // sends its own name as Host: only loopback names are served on a loopback address.
    if (this.options.address.loopback && !isLoopbackName(hostName(request.headers.host))) {
      json(response, 403, { error: "this dashboard answers loopback host names only" });
      return;
    }
    const url = new URL(request.url ?? "/", "http://dashboard");
    const method = request.method ?? "GET";
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case "GET /":
        response.writeHead(200, {
          "Content-Type": "text/html; charset=utf-8",
          "Cache-Control": "no-store",
          "Content-Security-Policy":
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          "X-Content-Type-Options": "nosniff",
          "Referrer-Policy": "no-referrer",
        });
        response.end(this.handlers.page());
        return;
      case "GET /events":
        this.openStream(response);
        return;
      case "GET /api/job": {
        const id = url.searchParams.get("id") ?? "";
        if (id === "" || id.length > TEXT_MAX) {
          json(response, 400, { error: `id: expected 1 to ${TEXT_MAX} characters` });
          return;
        }
        json(response, 200, await this.handlers.job(id));
        return;
      }
      case "GET /api/health":
        json(response, 200, this.handlers.health());
        return;
      case "POST /api/admin":
        await this.adminRequest(request, response);
        return;
    }
    if (["/", "/events", "/api/job", "/api/health", "/api/admin"].includes(url.pathname))
      json(response, 405, { error: `${method} is not allowed on ${url.pathname}` });
    else json(response, 404, { error: `no such page: ${url.pathname}` });
  }

  private openStream(response: ServerResponse): void {
    if (this.streams.size >= STREAMS_MAX) {
      json(response, 503, { error: `${STREAMS_MAX} pages are open already` });
      return;
    }
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    response.write(`retry: 2000\n\nevent: snapshot\ndata: ${JSON.stringify(this.handlers.snapshot())}\n\n`);
    this.streams.add(response);
    response.on("close", () => this.streams.delete(response));
  }

  private async adminRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.tokenDigest === null) {
      json(response, 403, {
        error: "read-only dashboard: start it with --admin-token (or DSAT_DASHBOARD_TOKEN) for admin actions",
      });
      return;
    }
    const given = request.headers[TOKEN_HEADER];
    if (typeof given !== "string" || !timingSafeEqual(digest(given), this.tokenDigest)) {
      json(response, 403, { error: "wrong or missing admin token" });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(request));
    } catch (error) {
      json(response, 400, { error: `the request is not JSON: ${(error as Error).message}` });
      return;
    }
    const action = parseAction(body);
    if (typeof action === "string") {
      json(response, 400, { error: action });
      return;
    }
    this.options.log(
      `dashboard: admin ${action.action} ${"target" in action ? action.target : action.id} from ${request.socket.remoteAddress}`,
    );
    const { status, body: reply } = await this.handlers.admin(action);
    json(response, status, reply);
  }
}

/** The action a request body asks for, or why it is refused. */
export function parseAction(body: unknown): AdminAction | string {
  if (typeof body !== "object" || body === null) return "expected {action, target} or {action: retry, id}";
  const { action, target, id } = body as Record<string, unknown>;
  const ok = (value: unknown): value is string =>
    typeof value === "string" && value.length > 0 && value.length <= TEXT_MAX;
  if (action === "drain" || action === "undrain") {
    if (!ok(target)) return `${action}: target: expected a satellite id, a location name or level=name`;
    return { action, target };
  }
  if (action === "retry") {
    if (!ok(id)) return "retry: id: expected a job id";
    return { action, id };
  }
  return `action: expected drain, undrain or retry, got ${JSON.stringify(action)?.slice(0, 40)}`;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_MAX) {
        reject(new Error(`over ${BODY_MAX} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
  });
  response.end(JSON.stringify(body));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The host name of a Host header, without the port or the IPv6 brackets. */
function hostName(host: string | undefined): string {
  if (host === undefined) return "";
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(host);
  if (bracketed !== null) return bracketed[1].toLowerCase();
  return host.replace(/:\d+$/, "").toLowerCase();
}
