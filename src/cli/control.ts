// The CLI's control requests (dsat jobs, retry, keys reload): to the topology's control endpoint,
// signed on a secured topology with the key in $DSAT_ADMIN_KEY, else $DSAT_KEY. Commands that list
// or change jobs need an admin key (docs/security.md, "Control roles").
import { connectAddress, controlRequest } from "../client/index.ts";
import type { CurveOptions } from "../security/index.ts";
import { curveFromEnv, loadTopology, type Topology } from "../topology/index.ts";
import { UsageError } from "./errors.ts";
import { need } from "./messaging.ts";

/** The CURVE keys control commands sign with: $DSAT_ADMIN_KEY when set, else $DSAT_KEY. */
export function adminCurveFromEnv(topology: Topology): CurveOptions | undefined {
  const adminKey = process.env.DSAT_ADMIN_KEY;
  return curveFromEnv(topology, adminKey !== undefined && adminKey !== "" ? adminKey : process.env.DSAT_KEY);
}

/** Sends `request`; a DSAT_ERR_FORBIDDEN reply becomes a one-line UsageError that says which key to set. */
export async function adminControl(
  file: string,
  request: { cmd: string } & Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const topology = loadTopology(file);
  const reply = (await controlRequest(
    need(topology.orchestrator.control, "control", topology),
    request,
    5000,
    adminCurveFromEnv(topology),
  )) as Record<string, unknown>;
  if (reply.ok === false && reply.code === "DSAT_ERR_FORBIDDEN")
    throw new UsageError(
      `${request.cmd}: ${String(reply.error)}; set DSAT_ADMIN_KEY to a NAME.key whose NAME.pub is in the topology's security.admins directory`,
    );
  return reply;
}

/**
 * The running orchestrator's registered satellites (control `satellites`), for `--live`; `needs`
 * names what needs them in the error when the topology has no control endpoint.
 */
export async function registeredSatellites<Satellite>(
  file: string,
  topology: Topology,
  needs: string,
): Promise<Satellite[]> {
  const control = topology.orchestrator.control;
  if (control === undefined) throw new UsageError(`${file}: ${needs} needs /orchestrator/control`);
  const reply = (await controlRequest(
    connectAddress(control),
    "satellites",
    3000,
    curveFromEnv(topology),
  ).catch((error: unknown) => {
    throw new UsageError(`the orchestrator at ${control} did not answer: ${(error as Error).message}`);
  })) as { satellites?: Satellite[] };
  return reply.satellites ?? [];
}
