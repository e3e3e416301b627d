// The control socket's client: one request, one reply (docs/protocol.md, "control"). Used by the
// CLI (status, jobs, retry, keys reload), pm2's status view and the demo.
import { randomBytes } from "node:crypto";
import { Dealer } from "zeromq";
import { decode, encode } from "../protocol/index.ts";
import { type CurveOptions, controlProof, curveClientOptions } from "../security/index.ts";
import { endpointList } from "../transport/index.ts";

/** The control socket did not answer (down, wrong endpoint, or CURVE keys it refuses). */
export class ControlError extends Error {
  override name = "ControlError";
}

/**
 * Endpoints are bound as given; clients connect to the same address, with wildcards made local
 * (each of a comma-separated list: a replicated set's).
 */
export function connectAddress(endpoint: string): string {
  return endpoint.replaceAll("://*:", "://127.0.0.1:").replaceAll("://0.0.0.0:", "://127.0.0.1:");
}

export type ControlCommandRequest = { cmd: string } & Record<string, unknown>;

/** A fresh routing id for one control socket: 32 hex characters (never a leading zero byte). */
export function controlRoutingId(): string {
  return randomBytes(16).toString("hex");
}

/**
 * `request` signed for a socket whose routing id is `routingId` (docs/security.md, "Control
 * roles"): `key` names the sender's public key, `proof` shows it holds the secret key, on this
 * connection only.
 */
export function signControlRequest(
  request: ControlCommandRequest,
  curve: CurveOptions,
  routingId: string,
): ControlCommandRequest {
  return { ...request, key: curve.publicKey, proof: controlProof(curve, curve.serverPublicKey, routingId) };
}

/**
 * One request/reply on the control socket. On a secured topology pass `curve` (curveFromEnv):
 * without it a CURVE orchestrator refuses the handshake and this times out. With it the request is
 * signed, so the orchestrator knows the key's role: commands that list or change jobs need an
 * admin key (security.admins); a refusal is the reply `{ ok: false, error, code: "DSAT_ERR_FORBIDDEN" }`.
 */
export async function controlRequest(
  endpoint: string,
  command: string | ControlCommandRequest,
  timeoutMs = 3000,
  curve?: CurveOptions,
): Promise<unknown> {
  const routingId = controlRoutingId();
  const endpoints = endpointList(endpoint);
  const socket = new Dealer({
    linger: 0,
    receiveTimeout: timeoutMs,
    sendTimeout: timeoutMs,
    routingId,
    // Replicated orchestrators (a list): only the leader binds control; ask whichever answers.
    immediate: endpoints.length > 1,
    ...curveClientOptions(curve),
  });
  for (const each of endpoints) socket.connect(each);
  // msgpackr writes `undefined` as an extension, which the orchestrator refuses in a control
  // request (src/protocol/input-shapes.ts): absent is what an undefined field means.
  const request =
    typeof command === "string"
      ? { cmd: command }
      : (Object.fromEntries(
          Object.entries(command).filter(([, value]) => value !== undefined),
        ) as ControlCommandRequest);
  try {
    await socket.send(encode(curve === undefined ? request : signControlRequest(request, curve, routingId)));
    const [reply] = await socket.receive();
    return decode(reply);
  } catch (error) {
    throw new ControlError(
      `no answer from the orchestrator's control socket ${endpoint}: ${(error as Error).message}`,
    );
  } finally {
    socket.close();
  }
}
