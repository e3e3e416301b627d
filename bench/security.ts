// What CURVE costs: jobs/s through orchestrator + satellite + client with security off and on,
// same run, same process (all three parties' encryption on one thread, so the ratio is an upper
// bound of the cost a distributed deployment sees per process). 1024 jobs in flight.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CurveOptions, generateKeyFiles, readKeyPair } from "../src/security/keys.ts";
import { echoRound, IN_FLIGHT } from "./echo-round.ts";
import { type BenchResult, median } from "./stats.ts";

function round(jobs: number, secure: { dir: string; client: CurveOptions; satellite: CurveOptions } | null) {
  if (secure === null) return echoRound(jobs);
  return echoRound(jobs, {
    orchestrator: {
      security: {
        serverKey: join(secure.dir, "server.key"),
        clientKeysDir: join(secure.dir, "clients"),
        satelliteKeysDir: join(secure.dir, "satellites"),
      },
    },
    client: { curve: secure.client },
    satelliteCurve: secure.satellite,
  });
}

export async function benchSecurity(quick: boolean): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "dsat-bench-security-"));
  try {
    generateKeyFiles("server", dir);
    generateKeyFiles("client", join(dir, "clients"));
    generateKeyFiles("satellite", join(dir, "satellites"));
    const server = readKeyPair(join(dir, "server.key"));
    const secure = {
      dir,
      client: { ...readKeyPair(join(dir, "clients", "client.key")), serverPublicKey: server.publicKey },
      satellite: {
        ...readKeyPair(join(dir, "satellites", "satellite.key")),
        serverPublicKey: server.publicKey,
      },
    };
    const jobs = quick ? 20_000 : 100_000;
    const rounds = quick ? 1 : 3;
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate, so drift (thermal, GC) hits both modes alike.
      off.push(await round(jobs, null));
      on.push(await round(jobs, secure));
    }
    const offRate = median(off);
    const onRate = median(on);
    return [
      {
        name: `security: echo jobs/s, ${IN_FLIGHT} in flight, in-process, CURVE off`,
        value: offRate,
        unit: "jobs/s",
      },
      {
        name: `security: echo jobs/s, ${IN_FLIGHT} in flight, in-process, CURVE on`,
        value: onRate,
        unit: "jobs/s",
      },
      { name: "security: CURVE on / off", value: onRate / offRate, unit: "x" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node --import tsx bench/security.ts [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatResult } = await import("./stats.ts");
  for (const result of await benchSecurity(process.argv.includes("--quick")))
    console.log(formatResult(result));
}
