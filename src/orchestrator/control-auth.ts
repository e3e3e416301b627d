// Who may run which control command (docs/security.md, "Control roles").
//
// Without CURVE every peer is an admin (the binding rules in control-binding.ts keep such a socket
// on this host). With CURVE, a request names its key and proves it for its connection
// (src/security/control-proof.ts): the key's allow-list gives the role. A request that is not
// signed comes from some allow-listed key (it passed the handshake) but nobody knows which: it
// gets the role "peer", the read-only commands.
import type { ControlProofVerifier, KeyRole, ZapHandler } from "../security/index.ts";
import { CONTROL_COMMANDS, type ControlRequest } from "./control.ts";

export type ControlRole = KeyRole | "peer";

export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

const EVERYONE: readonly ControlRole[] = ["admin", "client", "satellite", "peer"];
const ADMINS: readonly ControlRole[] = ["admin"];

/**
 * The roles allowed each command. Read-only views for every authenticated peer; listing or
 * re-running jobs, reloading keys, and `memory` (a forced full GC stalls the loop) for admins.
 */
export const CONTROL_ROLES: Readonly<Record<ControlCommand, readonly ControlRole[]>> = {
  ping: EVERYONE,
  status: EVERYONE,
  satellites: EVERYONE,
  stats: EVERYONE,
  memory: ADMINS,
  jobs: ADMINS,
  retry: ADMINS,
  drain: ADMINS,
  undrain: ADMINS,
  "score-lock": ADMINS,
  "cache-flush": ADMINS,
  rebalance: ADMINS,
  "score-unlock": ADMINS,
  "config-get": EVERYONE,
  "config-set": ADMINS,
  "reload-keys": ADMINS,
  // Reading it is harmless, but debug and trace lines cost the orchestrator and fill the disk.
  "log-level": ADMINS,
};

/** A refused control request: what the reply and the `security.refused` event say. */
export interface ControlRefusal {
  role: ControlRole | "unknown";
  /** The key's name when the request named an allow-listed key. */
  keyName: string | null;
  reason: string;
}

export const CONTROL_FORBIDDEN = "DSAT_ERR_FORBIDDEN";

/** The reply to a refused request. */
export function forbiddenReply(refusal: ControlRefusal): { ok: false; error: string; code: string } {
  return { ok: false, error: refusal.reason, code: CONTROL_FORBIDDEN };
}

function isControlCommand(command: string): command is ControlCommand {
  return (CONTROL_COMMANDS as readonly string[]).includes(command);
}

/** Security on: the allow-lists (ZAP) and the proof checker with the orchestrator's key. */
export interface ControlKeys {
  zap: ZapHandler;
  verifier: ControlProofVerifier;
}

/**
 * null when `request` may run, else why not. `keys` is null without security (every peer is an
 * admin). Unknown commands pass: they are answered with the list of known ones.
 */
export function authorizeControl(keys: ControlKeys | null, request: ControlRequest): ControlRefusal | null {
  if (keys === null || !isControlCommand(request.command)) return null;
  const identity = identify(keys, request);
  if ("reason" in identity) return identity;
  if (CONTROL_ROLES[request.command].includes(identity.role)) return null;
  const allowed = CONTROL_ROLES[request.command].join(", ");
  const hint = identity.role === "peer" ? "; sign the request with an admin key" : "";
  return {
    ...identity,
    reason: `control command "${request.command}" is not allowed for role ${identity.role} (allowed: ${allowed})${hint}`,
  };
}

function identify(
  { zap, verifier }: ControlKeys,
  { route, fields }: ControlRequest,
): { role: ControlRole; keyName: string | null } | ControlRefusal {
  const { key, proof } = fields;
  if (key === undefined && proof === undefined) return { role: "peer", keyName: null };
  const refuse = (reason: string, keyName: string | null = null): ControlRefusal => ({
    role: "unknown",
    keyName,
    reason,
  });
  if (typeof key !== "string" || typeof proof !== "string")
    return refuse("a signed control request needs both key and proof as strings");
  const known = zap.roleOf(key);
  if (known === undefined) return refuse("the request's key is in no allow-list");
  if (!zap.authenticated.has(key))
    return refuse(`key "${known.name}" never passed a CURVE handshake`, known.name);
  if (!verifier.check(key, route, proof))
    return refuse(`key "${known.name}": the proof does not hold for this connection`, known.name);
  return { role: known.role, keyName: known.name };
}
