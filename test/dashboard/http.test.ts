// The dashboard's HTTP side against a real in-process orchestrator on loopback: what it serves,
// what it refuses (foreign Host names, admin actions without the right token, bad bodies), and the
// address and token rules it starts with.
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkListenReach, Dashboard, parseAction, parseListen } from "../../src/dashboard/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";

const cleanups = new Cleanups();
afterEach(() => cleanups.run());
const TOKEN = "a-token-of-sixteen-or-more";

async function start(adminToken?: string): Promise<{ dashboard: Dashboard; control: string }> {
  const [frontend, events, control] = await freeEndpoints(3);
  const orchestrator = new Orchestrator({ frontend, events, control, types: { echo: {} } });
  await orchestrator.start();
  cleanups.push(() => orchestrator.stop());
  const dashboard = await Dashboard.start({
    control,
    events,
    listen: "127.0.0.1:0",
    adminToken,
    intervalMs: 200,
  });
  cleanups.push(() => dashboard.close());
  return { dashboard, control };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with full control of the headers (fetch would not let a test set Host). */
function send(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; firstChunk?: boolean } = {},
): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: Number(port),
        path,
        method: options.method ?? "GET",
        headers: options.headers,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
          // An event stream never ends: the snapshot is enough.
          if (options.firstChunk && body.includes("\n\n", body.indexOf("event: snapshot"))) {
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
            req.destroy();
          }
        });
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const admin = (url: string, body: unknown, token?: string) =>
  send(url, "/api/admin", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token !== undefined ? { "X-Dsat-Admin-Token": token } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("dashboard HTTP", () => {
  it("serves the self-contained page and a stream that opens with a snapshot", async () => {
    const { dashboard } = await start();
    const page = await send(dashboard.url, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toContain("uPlot");
    expect(page.body).not.toMatch(/<(script|link|img)\b[^>]*\s(src|href)=/i);
    const stream = await send(dashboard.url, "/events", { firstChunk: true });
    expect(stream.headers["content-type"]).toContain("text/event-stream");
    const data = /event: snapshot\ndata: (.*)\n\n/.exec(stream.body)?.[1];
    expect(JSON.parse(data ?? "null")).toMatchObject({
      admin: false,
      intervalMs: 200,
      tree: { name: "fleet" },
    });
    expect((await send(dashboard.url, "/nope")).status).toBe(404);
    expect((await send(dashboard.url, "/", { method: "PUT" })).status).toBe(405);
    expect((await send(dashboard.url, "/api/job")).status).toBe(400);
    const job = JSON.parse((await send(dashboard.url, "/api/job?id=never")).body);
    expect(job).toMatchObject({ id: "never", inWindow: false, orchestrator: null, orchestratorError: null });
  });

  it("answers loopback host names only (no DNS rebinding)", async () => {
    const { dashboard } = await start();
    for (const host of ["evil.example", "evil.example:8090", "10.0.0.1"])
      expect((await send(dashboard.url, "/", { headers: { Host: host } })).status).toBe(403);
    for (const host of ["localhost:1234", "127.0.0.1", "[::1]:80"])
      expect((await send(dashboard.url, "/", { headers: { Host: host } })).status).toBe(200);
  });

  it("refuses admin actions when read-only", async () => {
    const { dashboard } = await start();
    const answer = await admin(dashboard.url, { action: "drain", target: "r1" }, TOKEN);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error).toContain("read-only dashboard");
  });

  it("with a token: refuses a wrong one and bad bodies, and runs drain and undrain", async () => {
    const { dashboard } = await start(TOKEN);
    expect((await admin(dashboard.url, { action: "drain", target: "r1" })).status).toBe(403);
    expect((await admin(dashboard.url, { action: "drain", target: "r1" }, `${TOKEN}x`)).status).toBe(403);
    expect((await admin(dashboard.url, "{not json", TOKEN)).status).toBe(400);
    expect(JSON.parse((await admin(dashboard.url, { action: "reboot" }, TOKEN)).body).error).toContain(
      "expected drain, undrain or retry",
    );
    const big = await admin(dashboard.url, { action: "drain", target: "x".repeat(5000) }, TOKEN).catch(
      (error: Error) => ({ status: -1, body: error.message, headers: {} }),
    );
    expect(big.status).not.toBe(200);
    const drained = await admin(dashboard.url, { action: "drain", target: "r1" }, TOKEN);
    expect(drained.status, drained.body).toBe(200);
    expect(JSON.parse(drained.body)).toMatchObject({ ok: true, satellites: [] });
    expect((await admin(dashboard.url, { action: "undrain", target: "r1" }, TOKEN)).status).toBe(200);
    // The orchestrator's refusal comes back as it is.
    const retry = await admin(dashboard.url, { action: "retry", id: "never-ran" }, TOKEN);
    expect(retry.status).toBe(409);
    expect(JSON.parse(retry.body).ok).toBe(false);
  });

  it("starts only where it should: loopback, or with a token or the explicit flag", async () => {
    expect(() => checkListenReach(parseListen("0.0.0.0:8090"), "0.0.0.0:8090", false, false)).toThrow(
      /binds every interface.*--admin-token.*--insecure-listen/,
    );
    expect(checkListenReach(parseListen("0.0.0.0:8090"), "0.0.0.0:8090", true, false)).toContain(
      "need the token",
    );
    expect(checkListenReach(parseListen("10.1.2.3:8090"), "10.1.2.3:8090", false, true)).toContain(
      "sees the fleet",
    );
    expect(checkListenReach(parseListen("[::1]:8090"), "[::1]:8090", false, false)).toBeNull();
    for (const bad of ["8090", "host:", "1.2.3.456:80", "a b:80", "127.0.0.1:70000"])
      expect(() => parseListen(bad)).toThrow(/--listen|port/);
    const [, events, control] = await freeEndpoints(3);
    await expect(Dashboard.start({ control, events, listen: "10.255.255.1:0" })).rejects.toThrow(
      /reachable from other hosts/,
    );
    await expect(
      Dashboard.start({ control, events, listen: "127.0.0.1:0", adminToken: "short" }),
    ).rejects.toThrow(/at least 16/);
    // A port already taken: one sentence, before any socket connects.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    await expect(Dashboard.start({ control, events, listen: `127.0.0.1:${port}` })).rejects.toThrow(
      /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });

  it("parses admin actions strictly", () => {
    expect(parseAction({ action: "drain", target: "rack=r1" })).toEqual({
      action: "drain",
      target: "rack=r1",
    });
    expect(parseAction({ action: "retry", id: "j1" })).toEqual({ action: "retry", id: "j1" });
    for (const bad of [
      null,
      [],
      { action: "drain" },
      { action: "drain", target: "" },
      { action: "retry", id: 3 },
    ])
      expect(typeof parseAction(bad)).toBe("string");
  });
});
