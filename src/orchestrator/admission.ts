// Who may register as a satellite, decided from its READY alone (docs/security.md, "Threats"):
// reserved service names, the types the topology declares, hierarchy levels, registry and type
// bounds, a capped weight and, on a CURVE topology, a key proven over a nonce sent to that very
// connection and bound to the satellite id for as long as the id is live.
import { randomBytes } from "node:crypto";
import type { Limits, SatelliteHello } from "../protocol/index.ts";
import { checkReadyProof, type KeyPair } from "../security/core.ts";
import { RecencyMap } from "../util/index.ts";
import type { SatelliteInfo } from "./registry.ts";

/** Service names the orchestrator serves itself: no worker may register them. */
export function isReservedService(name: string): boolean {
  return name.startsWith("mmi.") || name.startsWith("titanic.") || name.startsWith("dsat.");
}

export type Admission =
  /** `security`: counted as a refused key (counters.security.satelliteKeyRefused). */
  | { kind: "refuse"; reason: string; security: boolean }
  /** Prove the key over this nonce first (WorkerCommand.challenge). */
  | { kind: "challenge"; nonce: Buffer }
  | { kind: "admit"; hello: SatelliteHello; key: string | null; heartbeatMs: number };

export interface AdmissionContext {
  limits: Limits;
  hierarchy: readonly string[];
  /** Declared in the topology. */
  declaresType(type: string): boolean;
  /** Satellites may bring undeclared types. */
  dynamicTypes: boolean;
  /** Types learnt from satellites so far (counted against limits.dynamicTypesMax). */
  dynamicTypesKnown(): number;
  /** Known already (declared or learnt). */
  knowsType(type: string): boolean;
  /** The live satellite with this id, if any. */
  liveSatellite(id: string): SatelliteInfo | undefined;
  /** Why the registry cannot take one more (null when it can). */
  registryRefusal(id: string): string | null;
  /** CURVE (null when off): the orchestrator's key, the allow-list and who passed ZAP. */
  curve: {
    serverKey: KeyPair;
    satelliteKeyName(key: string): string | undefined;
    authenticated(key: string): boolean;
    typesAllowed(keyName: string): ReadonlySet<string> | undefined;
  } | null;
}

/** Nonces given to connections, until they answer with a proven READY (bounded, expiring). */
export class ChallengeBook {
  /** By connection, oldest first (RecencyMap: forgetting the oldest is O(1) under a flood of READYs). */
  private readonly nonces = new RecencyMap<string, { nonce: string; at: number }>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    /** Unpredictable bytes (crypto's randomBytes; a seeded source in simulations). */
    private readonly random: (bytes: number) => Buffer = randomBytes,
  ) {}

  issue(routingKey: string, nowMs: number): Buffer {
    const nonce = this.random(16);
    this.nonces.delete(routingKey);
    if (this.nonces.size >= this.max) this.nonces.deleteOldest();
    this.nonces.set(routingKey, { nonce: nonce.toString("hex"), at: nowMs });
    return nonce;
  }

  /** The nonce this connection was given (hex), if still valid. */
  nonceOf(routingKey: string, nowMs: number): string | undefined {
    const entry = this.nonces.get(routingKey);
    if (entry === undefined || nowMs - entry.at > this.ttlMs) return undefined;
    return entry.nonce;
  }

  forget(routingKey: string): void {
    this.nonces.delete(routingKey);
  }

  sweep(nowMs: number): void {
    for (const [key, entry] of this.nonces) if (nowMs - entry.at > this.ttlMs) this.nonces.delete(key);
  }

  get size(): number {
    return this.nonces.size;
  }
}

/**
 * The verdict on a READY from `routingKey`: `hello` is null for a plain MDP worker (whose id and
 * single type the caller made up as `plain`).
 */
export function admit(
  context: AdmissionContext,
  challenges: ChallengeBook,
  routingKey: string,
  plain: SatelliteHello,
  hello: SatelliteHello | null,
  nowMs: number,
): Admission {
  const info = hello ?? plain;
  const shape = shapeProblem(context, info);
  if (shape !== null) return { kind: "refuse", reason: shape, security: false };
  let key: string | null = null;
  if (context.curve !== null) {
    const verdict = keyVerdict(context.curve, challenges, routingKey, info, hello, nowMs);
    if (verdict.kind !== "admit") return verdict;
    key = verdict.key;
  }
  const live = context.liveSatellite(info.id);
  if (live !== undefined && live.key !== key)
    return {
      kind: "refuse",
      reason: `satellite id "${info.id}" is live under another key`,
      security: true,
    };
  const full = context.registryRefusal(info.id);
  if (full !== null) return { kind: "refuse", reason: full, security: false };
  const weight = Math.min(info.weight, context.limits.satelliteWeightMax);
  const location = withInnermostLevel(info.location, context.hierarchy, info.id);
  const heartbeatMs =
    hello === null ? context.limits.plainHeartbeatMs : (hello.heartbeatMs ?? context.limits.heartbeatMs);
  return { kind: "admit", hello: { ...info, weight, location }, key, heartbeatMs };
}

/**
 * A location that ends at the hierarchy's innermost level: one that stops short (a plain MDP
 * worker has none at all) gets a bucket of its own there, named after the satellite. CRUSH's
 * chooseleaf skips a device met where it looks for a bucket of the failure domain's type, so a
 * device hanging above that level would leave some keys with no candidate at all.
 */
export function withInnermostLevel(
  location: ReadonlyArray<readonly [string, string]>,
  hierarchy: readonly string[],
  satelliteId: string,
): Array<[string, string]> {
  const copy = location.map(([level, name]): [string, string] => [level, name]);
  const innermost = hierarchy.at(-1);
  if (innermost === undefined || copy.some(([level]) => level === innermost)) return copy;
  copy.push([innermost, satelliteId]);
  return copy;
}

/** Service names, type bounds and location levels. */
function shapeProblem(context: AdmissionContext, info: SatelliteHello): string | null {
  const reserved = info.types.find(isReservedService);
  if (reserved !== undefined)
    return `"${reserved}" is a service the orchestrator serves itself (mmi.*, titanic.*, dsat.*)`;
  const limits = context.limits;
  if (info.types.length > limits.typesPerSatelliteMax)
    return `${info.types.length} job types, more than the limit of ${limits.typesPerSatelliteMax}`;
  const undeclared = info.types.filter((type) => !context.declaresType(type));
  if (undeclared.length > 0 && !context.dynamicTypes)
    return `job type${undeclared.length > 1 ? "s" : ""} ${undeclared.map((type) => `"${type}"`).join(", ")} not declared in the topology (set dynamicTypes to accept them)`;
  const fresh = undeclared.filter((type) => !context.knowsType(type)).length;
  if (fresh > 0 && context.dynamicTypesKnown() + fresh > limits.dynamicTypesMax)
    return `${fresh} new job types would pass limits.dynamicTypesMax (${limits.dynamicTypesMax})`;
  const unknownLevel = info.location.find(([level]) => !context.hierarchy.includes(level));
  if (unknownLevel !== undefined)
    return `location level "${unknownLevel[0]}" is not in the hierarchy (${context.hierarchy.join(" > ")})`;
  return null;
}

/**
 * On a CURVE topology the hello must name a satellite key of the allow-list that passed ZAP,
 * prove it holds that key's secret over this connection's nonce (src/security/proof.ts), and
 * announce only types the key is allowed.
 */
function keyVerdict(
  curve: NonNullable<AdmissionContext["curve"]>,
  challenges: ChallengeBook,
  routingKey: string,
  info: SatelliteHello,
  hello: SatelliteHello | null,
  nowMs: number,
): Admission | { kind: "admit"; key: string } {
  const refuse = (reason: string): Admission => ({ kind: "refuse", reason, security: true });
  if (hello === null) return refuse("plain MDP workers cannot prove a satellite key on a CURVE topology");
  if (hello.key === undefined) return refuse("READY carries no satellite key");
  const name = curve.satelliteKeyName(hello.key);
  if (name === undefined) return refuse("the key in READY is not in the satellite allow-list");
  if (!curve.authenticated(hello.key)) return refuse(`key "${name}" never passed a CURVE handshake`);
  const nonce = challenges.nonceOf(routingKey, nowMs);
  // First READY of this connection (or a stale nonce): ask for a proof over a fresh one.
  if (nonce === undefined || hello.proof === undefined)
    return { kind: "challenge", nonce: challenges.issue(routingKey, nowMs) };
  challenges.forget(routingKey); // one proof per nonce
  if (!checkReadyProof(curve.serverKey, hello.key, info.id, nonce, hello.proof))
    return refuse(`READY does not prove holding key "${name}" (over this connection's nonce)`);
  const allowed = curve.typesAllowed(name);
  const denied = allowed === undefined ? [] : info.types.filter((type) => !allowed.has(type));
  if (denied.length > 0)
    return refuse(`key "${name}" may not serve ${denied.map((type) => `"${type}"`).join(", ")}`);
  return { kind: "admit", key: hello.key };
}
