// Issue 12, item 16: 8/MMI and 9/TSP as their RFCs promise, with plain Python peers. mmi.service
// answers 200 for the services the orchestrator serves itself; a worker may not register one of
// them (refused with a reason, not silently shadowed); a Titanic request for a service with no
// worker yet is stored and served when one arrives; Titanic answers with TSP's codes only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/client/index.ts";
import { Orchestrator } from "../../src/orchestrator/index.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { PythonPeers, waitForLine } from "../helpers/python.ts";
import { sleep, until } from "../helpers/wait.ts";

const CLIENT_PY = fileURLToPath(new URL("./mdp_client.py", import.meta.url));
const WORKER_PY = fileURLToPath(new URL("./mdp_worker.py", import.meta.url));

const peers = new PythonPeers();
let orchestrator: Orchestrator;
const refusals: string[] = [];

async function mdp(service: string, ...body: string[]): Promise<string[]> {
  const result = await peers.run(
    CLIENT_PY,
    ["--timeout-ms", "5000", orchestrator.config.frontend[0], service, ...body],
    10_000,
  );
  if (result.code !== 0) throw new Error(`${service}: exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

beforeAll(async () => {
  const [frontend] = await freeEndpoints(1);
  orchestrator = new Orchestrator({
    frontend,
    hierarchy: ["host"],
    types: { later: {}, echo: {} },
    // Other jobs give up on a missing satellite after 500 ms; a Titanic request does not.
    limits: { heartbeatMs: 200, plainHeartbeatMs: 500, noSatelliteWaitMs: 500 },
    tracker: { backoffBaseMs: 50, backoffMaxMs: 200 },
    log: () => {},
  });
  orchestrator.onEvent((topic, event) => {
    if (topic === "satellite.refused") refusals.push(String(event.reason));
  });
  await orchestrator.start();
});

afterAll(async () => {
  peers.killAll();
  await orchestrator?.stop();
});

describe("8/MMI", () => {
  it("mmi.service answers 200 for the services the orchestrator serves itself", async () => {
    for (const service of ["titanic.request", "titanic.reply", "titanic.close", "mmi.service", "dsat.cancel"])
      expect(await mdp("mmi.service", service)).toEqual(["200"]);
    expect(await mdp("mmi.service", "later")).toEqual(["404"]); // declared, no worker yet
  });

  it("a worker registering a reserved service is refused with a reason, not silently shadowed", async () => {
    const child = peers.spawn(WORKER_PY, [
      "--heartbeat-ms",
      "500",
      orchestrator.config.frontend[0],
      "titanic.request",
    ]);
    await waitForLine(child, /^ready$/);
    await until(() => refusals.length > 0, 5000, "the refusal");
    expect(refusals[0]).toMatch(/serves itself/);
    expect(orchestrator.registry.size).toBe(0);
    expect(orchestrator.status().counters.satellitesRefused).toBeGreaterThanOrEqual(1);
    child.kill("SIGKILL");
  });
});

describe("9/TSP", () => {
  it("a request for a service with no worker yet is stored, then served once a worker arrives", async () => {
    const [code, uuid] = await mdp("titanic.request", "later", "patience");
    expect(code).toBe("200");
    expect(uuid).toMatch(/^[0-9a-f]{32}$/);
    await sleep(1500); // three times noSatelliteWaitMs

    expect(await mdp("titanic.reply", uuid)).toEqual(["300"]);
    const worker = peers.spawn(WORKER_PY, [
      "--heartbeat-ms",
      "500",
      orchestrator.config.frontend[0],
      "later",
    ]);
    await waitForLine(worker, /^ready$/);
    let reply: string[] = ["300"];
    for (let tries = 0; tries < 50 && reply[0] === "300"; tries++) {
      await sleep(100);
      reply = await mdp("titanic.reply", uuid);
    }
    expect(reply).toEqual(["200", "patience"]);
    expect(await mdp("titanic.close", uuid)).toEqual(["200"]);
    expect(await mdp("titanic.reply", uuid)).toEqual(["400"]);
  }, 30_000);

  it("answers with TSP's status codes only: an unknown titanic service gets 500", async () => {
    const [code] = await mdp("titanic.nosuch", "x");
    expect(code).toBe("500");
  });

  it("refuses a request for a service nobody declared (no dynamicTypes) with 500 and a reason", async () => {
    const [code, reason] = await mdp("titanic.request", "nosuchservice", "x");
    expect(code).toBe("500");
    expect(reason).toMatch(/does not declare/);
  });

  it("titanic.reply and titanic.close see only Titanic's own jobs: another client's kept result gets 400 and stays", async () => {
    // A durable orchestrator keeps every client's results: the ones Titanic must not hand out.
    const dir = mkdtempSync(join(tmpdir(), "dsat-titanic-owner-"));
    const [frontend] = await freeEndpoints(1);
    const durable = new Orchestrator({
      frontend,
      hierarchy: ["host"],
      types: { echo: {} },
      limits: { heartbeatMs: 200, plainHeartbeatMs: 500 },
      journal: { dir },
      log: () => {},
    });
    await durable.start();
    const worker = peers.spawn(WORKER_PY, ["--heartbeat-ms", "500", frontend, "echo"]);
    const client = await connect(frontend, { timeoutMs: 10_000 });
    const tsp = async (service: string, id: string) => {
      const result = await peers.run(CLIENT_PY, ["--timeout-ms", "5000", frontend, service, id], 10_000);
      return JSON.parse(result.stdout) as string[];
    };
    try {
      await waitForLine(worker, /^ready$/);
      expect(await client.request("echo", "secret", { id: "mine" })).toBe("secret");
      expect(durable.status().journal).toMatchObject({ finishedKept: 1 });
      expect(await tsp("titanic.reply", "mine")).toEqual(["400"]);
      expect(await tsp("titanic.close", "mine")).toEqual(["200"]);
      expect(durable.status().counters.security.foreignJobRefused).toBe(2);
      // Its owner's resend is still answered from the kept result, not run again.
      expect(durable.status().journal).toMatchObject({ finishedKept: 1 });
      expect(await client.request("echo", "another", { id: "mine" })).toBe("secret");
    } finally {
      await client.close();
      worker.kill("SIGKILL");
      await durable.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
