// The dashboard against a CURVE orchestrator: with a client key it reads status and events; admin
// actions and the job lookup need an admin key too (the token only opens the page's side); with no
// key the page says the orchestrator does not answer.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dashboard, type DashboardOptions } from "../../src/dashboard/index.ts";
import { type CurveOptions, generateKeyFiles, readKeyPair } from "../../src/security/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { until } from "../helpers/wait.ts";

const TOKEN = "secure-test-token-123456";
const keys = new TestKeys("dsat-dashboard-keys-");
const cleanups = new Cleanups();
let secure: SecureOrchestrator;
let boss: CurveOptions;

beforeAll(async () => {
  keys.add("viewer", "clients");
  keys.add("sat1", "satellites");
  const adminKeysDir = join(keys.dir, "admins");
  generateKeyFiles("boss", adminKeysDir);
  boss = { ...readKeyPair(join(adminKeysDir, "boss.key")), serverPublicKey: keys.server.publicKey };
  secure = await startSecureOrchestrator(keys, { types: { echo: {} } }, { adminKeysDir });
  cleanups.push(() => secure.stop());
});

afterAll(async () => {
  await cleanups.run();
  keys.remove();
});

async function start(options: Partial<DashboardOptions>): Promise<Dashboard> {
  const dashboard = await Dashboard.start({
    control: secure.control,
    events: secure.events,
    listen: "127.0.0.1:0",
    adminToken: TOKEN,
    intervalMs: 200,
    ...options,
  });
  cleanups.push(() => dashboard.close());
  return dashboard;
}

async function drain(
  dashboard: Dashboard,
): Promise<{ status: number; body: { ok?: boolean; code?: string } }> {
  const response = await fetch(`${dashboard.url}api/admin`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Dsat-Admin-Token": TOKEN },
    body: JSON.stringify({ action: "drain", target: "sat-1" }),
  });
  return { status: response.status, body: (await response.json()) as { ok?: boolean; code?: string } };
}

describe("dashboard on a secured orchestrator", () => {
  it("reads with a client key, and acts only with an admin key", async () => {
    const viewer = await start({ curve: keys.curve("viewer") });
    const admin = await start({ curve: keys.curve("viewer"), adminCurve: boss });
    await secure.satellite({ type: "echo", handle: (payload: unknown) => payload }, "sat-1", "sat1", {
      location: [["host", "h1"]],
    });
    // Both see the satellite register over the CURVE events socket, and status answers.
    await until(() => viewer.aggregator.eventsSeen > 0 && admin.aggregator.eventsSeen > 0, 10_000, "events");
    await until(() => viewer.aggregator.tick().control.ok, 10_000, "status");
    const refused = await drain(viewer);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("DSAT_ERR_FORBIDDEN");
    const lookup = (await (await fetch(`${viewer.url}api/job?id=x`)).json()) as { orchestratorError: string };
    expect(lookup.orchestratorError).toMatch(/admin/i);
    const done = await drain(admin);
    expect(done.status).toBe(200);
    expect(done.body.ok).toBe(true);
  }, 30_000);

  it("shows that the orchestrator does not answer when it has no key", async () => {
    const keyless = await start({});
    await until(
      () => {
        const control = keyless.aggregator.tick().control;
        return !control.ok && /no answer/.test(control.error ?? "");
      },
      10_000,
      "the control error",
    );
    expect(keyless.aggregator.eventsSeen).toBe(0);
  }, 15_000);
});
