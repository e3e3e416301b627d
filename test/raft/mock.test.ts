// RaftMock in process: three nodes with CURVE between them (key files as `dsat keys gen` writes them),
// the command set, and bad commands answered with an error rather than taking the node down.
import { afterEach, describe, expect, test } from "vitest";
import { RaftMock } from "../../src/raft/node/index.ts";
import { generateKeyFiles } from "../../src/security/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freePorts } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { until } from "../helpers/wait.ts";

const temp = new TempDirs("dsat-raft-mockp-");
const cleanups = new Cleanups();
afterEach(async () => {
  await cleanups.run();
  await temp.removeAll();
});

describe("RaftMock", () => {
  test("three CURVE nodes: append, get, log, status, mode, transfer; bad commands get an error", async () => {
    const ports = await freePorts(6);
    const keys = await temp.make();
    for (const port of ports.slice(0, 3)) generateKeyFiles(String(port), keys);
    const mocks: RaftMock[] = [];
    for (let i = 0; i < 3; i += 1) {
      const mock = await RaftMock.start({
        mode: "active",
        node: String(ports[i]),
        neighbours: ports.slice(0, 3).map(String),
        commandPort: String(ports[3 + i]),
        reduction: 5,
        level: "error",
        dir: await temp.make(),
        tickMs: 20,
        electionTicks: 10,
        appendTimeoutMs: 3000,
        curveDir: keys,
      });
      cleanups.push(() => mock.stop());
      mocks.push(mock);
    }
    let leader: RaftMock | undefined;
    await until(
      () => (leader = mocks.find((mock) => mock.node.raft.role === "leader")) !== undefined,
      10_000,
      "a leader",
    );
    const lead = leader!;
    for (let i = 0; i < 7; i += 1) {
      expect(await lead.command(`append k${i} a value with spaces ${i}`)).toMatchObject({ ok: true });
    }
    expect(await lead.command("get k6")).toMatchObject({ ok: true, value: "a value with spaces 6" });
    const log = await lead.command("log");
    expect(log).toMatchObject({ ok: true });
    expect((log.snapshot as { index: number }).index).toBeGreaterThanOrEqual(5); // -r 5: log reduction ran
    expect((log.entries as { key?: string }[]).some((entry) => entry.key === "k6")).toBe(true);
    const status = await lead.command("status");
    expect(status).toMatchObject({
      ok: true,
      role: "leader",
      leader: lead.node.id,
      voters: expect.any(Array),
    });
    expect((status.transport as { refusedHandshakes: number }).refusedHandshakes).toBe(0);

    for (const bad of ["frobnicate", "append onlykey", "get", "mode lazy", "transfer", "transfer nowhere"]) {
      expect(await lead.command(bad), bad).toMatchObject({ ok: false, error: expect.any(String) });
    }
    expect(await lead.command(`transfer 127.0.0.1:1`)).toMatchObject({ ok: false, error: "unknown-node" });

    const target = mocks.find((mock) => mock !== lead)!;
    expect(await target.command("mode passive")).toMatchObject({ ok: true, mode: "passive" });
    await until(
      () => lead.node.raft.status().progress?.[target.node.id]?.mode === "passive",
      5000,
      "passive seen",
    );
    expect(await lead.command(`transfer ${target.node.id}`)).toMatchObject({ ok: false, error: "passive" });
    expect(await target.command("mode active")).toMatchObject({ ok: true });
    await until(
      () => lead.node.raft.status().progress?.[target.node.id]?.mode === "active",
      5000,
      "the mode seen",
    );
    expect(await lead.command(`transfer ${target.node.id}`)).toMatchObject({ ok: true });
    await until(() => target.node.raft.role === "leader", 5000, "the transfer");
    await until(() => mocks.every((mock) => mock.node.applied === target.node.applied), 5000, "all applied");
    for (const mock of mocks)
      expect(await mock.command("get k3")).toMatchObject({ value: "a value with spaces 3" });
  }, 30_000);
});
