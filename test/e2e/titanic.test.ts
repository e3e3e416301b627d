// 9/TSP (Titanic) from a plain Python MDP client against a durable `dsat orchestrator` process:
// the request is acknowledged once it is on disk, the orchestrator is killed with SIGKILL, and after
// a restart on the same journal titanic.reply still produces the result.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, exited, root, waitUntil } from "./harness.ts";

const CLIENT_PY = join(root, "test/interop/mdp_client.py");
const cluster = new Cluster();

/** One MDP request from Python; resolves with the reply's body frames. */
function mdp(service: string, ...body: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      "/usr/bin/python3",
      [CLIENT_PY, "--timeout-ms", "5000", cluster.endpoints.frontend, service, ...body],
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${service}: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout) as string[]);
      },
    );
  });
}

beforeAll(async () => {
  await cluster.write({
    orchestrator: { heartbeatMs: 200, journal: { dir: join(cluster.dir, "journal"), recoveryMs: 300 } },
    hierarchy: ["host"],
    hosts: { h1: {} },
    types: {
      slowraw: { module: join(root, "test/e2e/satellites/slow-raw.ts"), replicas: 1, timeoutMs: 30_000 },
    },
  });
  cluster.start("orchestrator-0", ["orchestrator"]);
  await cluster.waitForOrchestrator();
  cluster.start("slowraw@h1", ["satellite", "test/e2e/satellites/slow-raw.ts", "--host", "h1"]);
  await cluster.waitForSatellites(1);
}, 150_000);

afterAll(() => cluster.stop());

describe("Titanic (9/TSP) across an orchestrator kill -9", () => {
  it("request -> kill -9 -> restart -> reply 200 with the result -> close", async () => {
    // The job takes 1.5 s: the kill comes while it runs.
    const [code, uuid] = await mdp("titanic.request", "slowraw", "tsp-1");
    expect(code).toBe("200");
    expect(uuid).toMatch(/^[0-9a-f]{32}$/);
    const first = cluster.processes.get("orchestrator-0");
    first?.kill("SIGKILL");
    if (first !== undefined) await exited(first);
    cluster.start("orchestrator-1", ["orchestrator"]);
    await cluster.waitForOrchestrator();
    let reply: string[] = [];
    await waitUntil("titanic.reply 200", async () => {
      reply = await mdp("titanic.reply", uuid);
      expect(["200", "300"]).toContain(reply[0]);
      return reply[0] === "200";
    });
    expect(reply[0]).toBe("200");
    expect(reply.slice(1)).toEqual(["tsp-1"]);
    expect(await mdp("titanic.close", uuid)).toEqual(["200"]);
    expect(await mdp("titanic.reply", uuid)).toEqual(["400"]);
    expect((await mdp("titanic.request", "no-such-type", "x"))[0]).toBe("500");
  }, 120_000);
});
