// `dsat keys gen NAME [--dir DIR]`: a CURVE key pair for an orchestrator, admin, client or satellite
// (docs/security.md). `dsat keys gen --host H`: host H's bundle for a multi-host fleet, its
// satellite key allowed in the topology's allow-list (docs/multi-host.md). `dsat keys reload`: the orchestrator re-reads its allow-lists now (an admin
// command). The CLI finds its own keys on a secured topology through DSAT_KEY, and DSAT_ADMIN_KEY
// for control commands (src/cli/control.ts).

import { join } from "node:path";
import { Command } from "commander";
import { generateHostKeys, generateKeyFiles } from "../security/index.ts";
import { loadTopology, satelliteInstances, serverPublicKeyFile } from "../topology/index.ts";
import { adminControl } from "./control.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

export function keysCommand(): Command {
  const keys = new Command("keys").description("CURVE keys for secured topologies (docs/security.md)");
  keys
    .command("gen")
    .description(
      "write NAME.key (key pair, mode 0600) and NAME.pub (public key); with --host, one host's bundle",
    )
    .argument("[name]", "key name, e.g. orchestrator, admin-ops (--dir keys/admins), client-web, sat-h1")
    .option("--dir <dir>", "directory to write to (default: ., with --host keys/hosts/HOST)")
    .option(
      "--host <host>",
      "the satellite key of this host of the topology (sat-HOST), allowed in its satellites directory",
    )
    .option("-t, --topology <file>", "with --host: the topology", process.env.DSAT_TOPOLOGY)
    .option("--force", "overwrite existing files")
    .action(
      (
        name: string | undefined,
        options: { dir?: string; host?: string; topology?: string; force?: boolean },
      ) => {
        if (options.host !== undefined) {
          if (name !== undefined) throw new UsageError("give a key NAME or --host HOST, not both");
          hostBundle(options.host, options);
          return;
        }
        if (name === undefined) throw new UsageError("missing the key NAME (or --host HOST)");
        // A KeyFileError (bad name, existing file) is a user error: main prints it as one line.
        const written = generateKeyFiles(name, options.dir ?? ".", { force: options.force === true });
        console.log(`wrote ${written.keyFile} (secret, 0600) and ${written.pubFile}`);
        console.log(`public key: ${written.publicKey}`);
      },
    );
  keys.addCommand(
    topologyOption(
      new Command("reload").description(
        "make the orchestrator re-read its key directories now (needs an admin key: DSAT_ADMIN_KEY)",
      ),
    ).action(async (options: { topology: string }) => {
      const reply = await adminControl(options.topology, { cmd: "reload-keys" });
      const problems = Array.isArray(reply.problems) ? (reply.problems as string[]) : [];
      if (reply.ok !== true) throw new UsageError(`reload-keys: ${problems.join("; ") || "refused"}`);
      console.log(
        `allowed keys: ${String(reply.admins)} admins, ${String(reply.clients)} clients, ${String(reply.satellites)} satellites`,
      );
      for (const problem of problems) console.log(`problem: ${problem}`);
    }),
  );
  return keys;
}

function hostBundle(host: string, options: { dir?: string; topology?: string; force?: boolean }): void {
  if (options.topology === undefined)
    throw new UsageError("--host needs the topology: -t FILE (or DSAT_TOPOLOGY)");
  const topology = loadTopology(options.topology);
  if (!Object.hasOwn(topology.hosts, host))
    throw new UsageError(
      `${topology.file}: host "${host}" is not under /hosts (${Object.keys(topology.hosts).join(", ")})`,
    );
  const security = topology.orchestrator.security;
  if (security === undefined)
    throw new UsageError(
      `${topology.file}: the topology has no orchestrator.security (CURVE is off): no keys needed`,
    );
  const dir = options.dir ?? join("keys", "hosts", host);
  const written = generateHostKeys({
    host,
    dir,
    allowDir: security.satellites,
    serverPublicKeyFile: serverPublicKeyFile(security),
    force: options.force === true,
  });
  console.log(`wrote ${written.keyFile} (secret, 0600), ${written.pubFile} and ${written.serverPubFile}`);
  console.log(`allowed: ${written.allowFile} (a running orchestrator picks it up by itself)`);
  console.log(`public key: ${written.publicKey}`);
  const types = [
    ...new Set(
      satelliteInstances(topology)
        .filter((i) => i.host === host)
        .map((i) => i.type),
    ),
  ];
  if (types.length > 0 && security.satelliteTypes?.[written.name] === undefined)
    console.log(
      `to allow it only the host's job types, add to orchestrator.security.satelliteTypes: "${written.name}": ${JSON.stringify(types)}`,
    );
  console.log(
    `on host ${host}: the topology, ${serverPublicKeyFile(security)} at the same path, and ${written.keyFile}; then`,
  );
  console.log(`  DSAT_KEY=${written.keyFile} DSAT_HOST=${host} dsat up ${options.topology}`);
}
