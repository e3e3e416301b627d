// The control socket's loop body: a request parsed (control.ts), its sender's role checked
// (control-auth.ts), refusals counted and announced (rate-limited), and the answer sent. The
// answers themselves come from the orchestrator's handlers: read-only snapshots, and the commands
// that change something (retry, drain) stepped through the router.
import type { Logger } from "../log/index.ts";
import type { InputLimits } from "../protocol/index.ts";
import type { RefusalLimiter } from "../security/index.ts";
import { answerControl, type ControlHandlers, controlReplyFrames, parseControlRequest } from "./control.ts";
import { authorizeControl, type ControlKeys, forbiddenReply } from "./control-auth.ts";
import type { RouterCounters } from "./router/types.ts";

export interface ControlPortDeps {
  limits: InputLimits;
  handlers: ControlHandlers;
  /** Allow-lists and proof checker (null without security: every peer is an admin). */
  keys: () => ControlKeys | null;
  counters: RouterCounters;
  refusals: RefusalLimiter;
  publish: (topic: "security.refused", fields: Record<string, unknown>) => void;
  send: (frames: Buffer[]) => void;
  /** The orchestrator's leveled logger: each command answered is a debug line (null: none). */
  logger?: Logger | null;
}

export function controlPort(deps: ControlPortDeps): (frames: Buffer[]) => void {
  return (frames) => {
    const request = parseControlRequest(frames, deps.limits);
    if (request === null) {
      deps.counters.malformed.control++;
      return;
    }
    const refusal = authorizeControl(deps.keys(), request);
    if (refusal === null) {
      deps.send(controlReplyFrames(request, answerControl(deps.handlers, request)));
      if (deps.logger?.enabled("debug"))
        deps.logger.debug(`control: ${request.command || "(no cmd)"} answered`);
      return;
    }
    deps.counters.security.controlRefused++;
    // Rate-limited like handshake refusals, per key (or role when the request named none).
    const muted = deps.refusals.allow(`control ${refusal.keyName ?? refusal.role}`);
    if (muted !== null)
      deps.publish("security.refused", {
        mechanism: "CURVE",
        address: "control",
        reason: refusal.reason,
        command: request.command,
        role: refusal.role,
        key: refusal.keyName,
        muted,
      });
    deps.send(controlReplyFrames(request, forbiddenReply(refusal)));
  };
}
