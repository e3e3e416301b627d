// Structured logs (docs/observability.md, "Logs"): JSON lines with level, time, name and msg; the
// level from DSAT_LOG_LEVEL at start and changed at run time over control (`log-level`, and
// `dsat log-level`). The orchestrator is a real `dsat orchestrator` process; its stdout is read.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/client/index.ts";
import { createLogger, levelFromEnv } from "../../src/log/index.ts";
import { ROOT, runDsat } from "../cli/helpers.ts";
import { freePorts } from "../helpers/ports.ts";
import { TempDirs } from "../helpers/temp-dirs.ts";
import { until } from "../helpers/wait.ts";

interface Line {
  level: number;
  time: number;
  name: string;
  msg: string;
  [field: string]: unknown;
}

const temp = new TempDirs("dsat-logs-");
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await temp.removeAll();
});

describe("createLogger", () => {
  it("writes one JSON line per record: level, time, name, msg and the fields given", () => {
    const written: string[] = [];
    const logger = createLogger({
      name: "satellite",
      level: "info",
      fields: { satellite: "echo@h1" },
      destination: { write: (line) => written.push(line) },
    });
    logger.info("registered");
    logger.debug("not at info");
    logger.line("warning: control binds every interface");
    logger.line("orchestrator: error handling a frontend message: boom");
    const lines = written.map((line) => JSON.parse(line) as Line);
    expect(lines.map(({ level, name, msg, satellite }) => ({ level, name, msg, satellite }))).toEqual([
      { level: 30, name: "satellite", msg: "registered", satellite: "echo@h1" },
      { level: 40, name: "satellite", msg: "warning: control binds every interface", satellite: "echo@h1" },
      {
        level: 50,
        name: "satellite",
        msg: "orchestrator: error handling a frontend message: boom",
        satellite: "echo@h1",
      },
    ]);
    for (const line of lines) expect(Math.abs(line.time - Date.now())).toBeLessThan(60_000);
    logger.level = "debug";
    logger.debug("now at debug");
    expect(JSON.parse(written.at(-1) as string)).toMatchObject({ level: 20, msg: "now at debug" });
  });

  it("takes DSAT_LOG_LEVEL, and falls back to info for a value that is not a level", () => {
    expect(levelFromEnv({ DSAT_LOG_LEVEL: "debug" })).toBe("debug");
    expect(levelFromEnv({ DSAT_LOG_LEVEL: "WARN" })).toBe("warn");
    expect(levelFromEnv({})).toBe("info");
    expect(levelFromEnv({ DSAT_LOG_LEVEL: "loud" })).toBe("info");
  });
});

describe("dsat orchestrator's log", () => {
  it("is JSON lines, and a level set over control takes effect at once", async () => {
    const [frontend, control] = await freePorts(2);
    const controlEndpoint = `tcp://127.0.0.1:${control}`;
    const file = join(await temp.make(), "topology.json");
    writeFileSync(
      file,
      JSON.stringify({
        orchestrator: { frontend: `tcp://127.0.0.1:${frontend}`, control: controlEndpoint },
        hierarchy: ["host"],
        hosts: { h1: {} },
        types: { echo: { module: join(ROOT, "satellites/echo.ts") } },
      }),
    );
    const child = spawn(process.execPath, ["bin/dsat", "orchestrator", "-t", file], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, DSAT_LOG_LEVEL: "info" },
    });
    children.push(child);
    const raw: string[] = [];
    let partial = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split("\n");
      partial = parts.pop() ?? "";
      raw.push(...parts.filter((line) => line !== ""));
    });
    const lines = () => raw.map((line) => JSON.parse(line) as Line);
    const has = (text: string) => lines().some((line) => line.msg.includes(text));
    await until(() => has("orchestrator: frontend"), 20_000, "the orchestrator's start line");
    // Every line on stdout is a JSON record of the orchestrator.
    for (const line of lines()) {
      expect(line.name).toBe("orchestrator");
      expect(typeof line.time).toBe("number");
      expect(line.level).toBeGreaterThanOrEqual(30);
    }
    const start = lines().find((line) => line.msg.includes("orchestrator: frontend"));
    expect(start?.level).toBe(30);

    expect(await controlRequest(controlEndpoint, { cmd: "ping" }, 5000)).toEqual({ ok: true });
    expect(await controlRequest(controlEndpoint, { cmd: "log-level" }, 5000)).toEqual({
      ok: true,
      level: "info",
    });
    expect(await controlRequest(controlEndpoint, { cmd: "log-level", level: "debug" }, 5000)).toEqual({
      ok: true,
      level: "debug",
      previous: "info",
    });
    // The change's own line comes after anything the first ping logged: stdout keeps the order.
    await until(() => has("log level info -> debug"), 5_000, "the level change line");
    expect(has("control: ping answered")).toBe(false);
    await controlRequest(controlEndpoint, { cmd: "ping" }, 5000);
    await until(() => has("control: ping answered"), 5_000, "the debug line of a ping");
    expect(lines().find((line) => line.msg === "control: ping answered")?.level).toBe(20);

    // The CLI: read, set, and a level that does not exist.
    const read = await runDsat(["log-level", "-t", file]);
    expect(read.stdout.toString()).toBe("log level: debug\n");
    const set = await runDsat(["log-level", "warn", "-t", file]);
    expect(set.stdout.toString()).toBe("log level: debug -> warn\n");
    const bad = await runDsat(["log-level", "loud", "-t", file]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.toString()).toContain("expected one of fatal, error, warn, info, debug, trace, silent");
    expect(await controlRequest(controlEndpoint, { cmd: "log-level", level: "loud" }, 5000)).toMatchObject({
      ok: false,
      error: expect.stringContaining('unknown log level "loud"'),
    });
    child.kill("SIGTERM");
  }, 60_000);
});
