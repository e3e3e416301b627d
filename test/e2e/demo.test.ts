// `npm start`'s demo, end to end: the demo topology under a real pm2 daemon (its own PM2_HOME),
// jobs sent, a satellite kill -9'd halfway, nothing lost, everything taken down; the dashboard's
// address printed near the top, and the page answering while the demo runs.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dsat, root } from "./harness.ts";

const home = mkdtempSync(join(tmpdir(), "dsat-demo-pm2-"));

afterAll(async () => {
  // The demo takes its topology down itself; this is for a run that failed half way.
  await new Promise((done) => {
    spawn(process.execPath, [dsat, "down"], {
      cwd: root,
      env: { ...process.env, DSAT_PM2_HOME: home },
      stdio: "ignore",
    }).on("exit", done);
  });
  rmSync(home, { recursive: true, force: true });
});

describe("the demo (npm start)", () => {
  it("runs the demo topology under pm2, survives a kill -9 and loses no job", async () => {
    let url = "";
    const probes: Promise<{ at: string; status: number; body: string }>[] = [];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
      let output = "";
      // While the demo runs: the page when the address is printed, the health figures at the kill.
      const onLine = (line: string) => {
        const address = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/) /.exec(line);
        if (address !== null) {
          url = address[1];
          probes.push(
            fetch(url).then(async (r) => ({ at: "start", status: r.status, body: await r.text() })),
          );
        }
        if (url !== "" && line.includes("kill -9"))
          probes.push(
            fetch(`${url}api/health`).then(async (r) => ({
              at: "kill",
              status: r.status,
              body: await r.text(),
            })),
          );
      };
      let pending = "";
      const child = spawn(process.execPath, [dsat, "demo", "--jobs", "400"], {
        cwd: root,
        env: { ...process.env, DSAT_PM2_HOME: home },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.on("data", (chunk) => {
        output += chunk;
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
      child.stderr.on("data", (chunk) => {
        output += chunk;
      });
      child.on("exit", (exitCode) => done({ code: exitCode, output }));
    });
    expect(code, output).toBe(0);
    // The address is the second line, before pm2 brings the fleet up.
    expect(output.split("\n")[1]).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(read-only/);
    const answers = await Promise.all(probes);
    expect(answers.map((a) => [a.at, a.status])).toEqual([
      ["start", 200],
      ["kill", 200],
    ]);
    expect(answers[0].body).toContain("dsat dashboard");
    expect((JSON.parse(answers[1].body) as { eventsSeen: number }).eventsSeen).toBeGreaterThan(0);
    // Closed with the demo.
    await expect(fetch(url)).rejects.toThrow();
    expect(output).toMatch(/12 satellites registered/);
    expect(output).toMatch(/kill -9 dsat-sat-echo-\S+ \(pid \d+\) at \d+\/400/);
    expect(output).toMatch(/dsat drain r1h1 \(echo@r1h1, wordcount@r1h1\) at \d+\/400/);
    expect(output).toMatch(/400\/400 ok/);
    expect(output).toMatch(/pm2 restarted dsat-sat-echo-\S+: \d+ restart/);
    expect(output).toMatch(/dsat undrain r1h1/);
    expect(output).toMatch(/no job lost: 400\/400 answered/);
    expect(output).toMatch(/everything is down/);
  }, 120_000);
});
