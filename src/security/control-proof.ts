// Proof that a control request comes from the holder of the key it names, on this connection.
//
// As for satellites' READY (proof.ts), the orchestrator cannot learn from the ROUTER frames which
// CURVE key a peer authenticated with (zeromq.js exposes no "User-Id"; a ZAP request carries no
// routing id). So the control client sets its own routing id, fresh and random per socket, and
// signs each request: key = its public key, proof = HMAC-SHA256(X25519(client secret, orchestrator
// public), "dsat-control/1\0" + routing id + "\0" + key). The orchestrator recomputes it with its
// own secret and the route frame the request arrived with. A request copied onto another live
// connection arrives with another route frame (a ROUTER refuses a second peer with a routing id in
// use), so its proof no longer holds.
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from "node:crypto";
import { type KeyPair, z85Decode } from "./keys.ts";

const CONTROL_PROOF_PREFIX = Buffer.from("dsat-control/1\0");
const SEPARATOR = Buffer.from([0]);

function sharedSecret(own: KeyPair, peerPublicKey: string): Buffer {
  const privateKey = createPrivateKey({
    key: {
      kty: "OKP",
      crv: "X25519",
      x: z85Decode(own.publicKey).toString("base64url"),
      d: z85Decode(own.secretKey).toString("base64url"),
    },
    format: "jwk",
  });
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: z85Decode(peerPublicKey).toString("base64url") },
    format: "jwk",
  });
  return diffieHellman({ privateKey, publicKey });
}

/** The key is the last 40 bytes, so any routing id (even one holding a zero byte) reads one way. */
function mac(shared: Buffer, routingId: Buffer, clientKey: string): Buffer {
  return createHmac("sha256", shared)
    .update(CONTROL_PROOF_PREFIX)
    .update(routingId)
    .update(SEPARATOR)
    .update(clientKey)
    .digest();
}

/** The client side: the proof (hex) for requests sent from a socket whose routing id is `routingId`. */
export function controlProof(own: KeyPair, serverPublicKey: string, routingId: Buffer | string): string {
  const route = typeof routingId === "string" ? Buffer.from(routingId) : routingId;
  return mac(sharedSecret(own, serverPublicKey), route, own.publicKey).toString("hex");
}

/**
 * The orchestrator side: true when `proof` was made with the secret key of `clientKey` for the
 * connection whose route frame is `route`. False for anything malformed, never a throw.
 */
export function checkControlProof(server: KeyPair, clientKey: string, route: Buffer, proof: string): boolean {
  return new ControlProofVerifier(server, 0).check(clientKey, route, proof);
}

/**
 * checkControlProof with the X25519 secret of each client key remembered: the key agreement costs
 * ~90 us and the HMAC a few, so a peer sending signed requests in a loop costs little. Callers pass
 * only allow-listed keys; `keysMax` bounds the memory anyway (the cache is emptied when full).
 */
export class ControlProofVerifier {
  private readonly secrets = new Map<string, Buffer>();

  constructor(
    private readonly server: KeyPair,
    private readonly keysMax = 4096,
  ) {}

  check(clientKey: string, route: Buffer, proof: string): boolean {
    try {
      let shared = this.secrets.get(clientKey);
      if (shared === undefined) {
        shared = sharedSecret(this.server, clientKey);
        if (this.secrets.size >= this.keysMax) this.secrets.clear();
        if (this.keysMax > 0) this.secrets.set(clientKey, shared);
      }
      const expected = mac(shared, route, clientKey);
      const given = Buffer.from(proof, "hex");
      return given.length === expected.length && timingSafeEqual(given, expected);
    } catch {
      return false;
    }
  }
}
