// The control socket's client: one request, one reply (docs/protocol.md, "control"). Used by the
// CLI (status, jobs, retry), pm2's status view and the demo.
import { Dealer } from "zeromq";
import { decode, encode } from "../protocol/index.ts";
import { type CurveOptions, curveClientOptions } from "../security/index.ts";

/** The control socket did not answer (down, wrong endpoint, or CURVE keys it refuses). */
export class ControlError extends Error {
  override name = "ControlError";
}

/** Endpoints are bound as given; clients connect to the same address, with wildcards made local. */
export function connectAddress(endpoint: string): string {
  return endpoint.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:");
}

/**
 * One request/reply on the control socket. On a secured topology pass `curve` (curveFromEnv):
 * without it a CURVE orchestrator refuses the handshake and this times out.
 */
export async function controlRequest(
  endpoint: string,
  command: string | ({ cmd: string } & Record<string, unknown>),
  timeoutMs = 3000,
  curve?: CurveOptions,
): Promise<unknown> {
  const socket = new Dealer({
    linger: 0,
    receiveTimeout: timeoutMs,
    sendTimeout: timeoutMs,
    ...curveClientOptions(curve),
  });
  socket.connect(endpoint);
  try {
    await socket.send(encode(typeof command === "string" ? { cmd: command } : command));
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
