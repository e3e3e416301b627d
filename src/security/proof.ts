// Proof that a satellite's READY comes from the holder of the key it names, made over a nonce the
// orchestrator sent to that connection (CHALLENGE), so a READY cannot be replayed on another one.
//
// zeromq.js does not expose per-message metadata (ZMQ "User-Id"), and libzmq's ZAP request carries
// the server socket's identity, not the peer's routing id: the orchestrator cannot tell from the
// ROUTER frames which CURVE key a peer authenticated with. So a satellite puts its public key in
// READY (hello.key) with hello.proof = HMAC-SHA256(X25519(satellite secret, orchestrator public),
// "dsat-ready/1" + id + key). Only the holder of the satellite's secret key (or of the
// orchestrator's) can compute it; READY travels inside the CURVE session, so nobody else sees it.
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from "node:crypto";
import { z85Decode } from "./z85.ts";

function privateKey(publicKey: string, secretKey: string) {
  return createPrivateKey({
    key: {
      kty: "OKP",
      crv: "X25519",
      x: z85Decode(publicKey).toString("base64url"),
      d: z85Decode(secretKey).toString("base64url"),
    },
    format: "jwk",
  });
}

function publicKeyObject(publicKey: string) {
  return createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: z85Decode(publicKey).toString("base64url") },
    format: "jwk",
  });
}

function mac(shared: Buffer, nonce: string, satelliteId: string, satelliteKey: string): string {
  return createHmac("sha256", shared)
    .update(`dsat-ready/2\0${nonce}\0${satelliteId}\0${satelliteKey}`)
    .digest("hex");
}

/** The satellite side: proof for its READY, over the nonce of the orchestrator's CHALLENGE. */
export function readyProof(
  own: { publicKey: string; secretKey: string },
  serverPublicKey: string,
  satelliteId: string,
  nonce: string,
): string {
  const shared = diffieHellman({
    privateKey: privateKey(own.publicKey, own.secretKey),
    publicKey: publicKeyObject(serverPublicKey),
  });
  return mac(shared, nonce, satelliteId, own.publicKey);
}

/** The orchestrator side: true when `proof` was made with the secret key of `satelliteKey`. */
export function checkReadyProof(
  server: { publicKey: string; secretKey: string },
  satelliteKey: string,
  satelliteId: string,
  nonce: string,
  proof: string,
): boolean {
  try {
    const shared = diffieHellman({
      privateKey: privateKey(server.publicKey, server.secretKey),
      publicKey: publicKeyObject(satelliteKey),
    });
    const expected = Buffer.from(mac(shared, nonce, satelliteId, satelliteKey), "hex");
    const given = Buffer.from(proof, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  } catch {
    return false;
  }
}
