// Transport security: CURVE key files, the ZAP allow-list handler, satellites' READY proofs and
// signed control requests.

export { ControlProofVerifier, checkControlProof, controlProof } from "./control-proof.ts";
export { generateHostKeys, type HostKeys, type HostKeysOptions, hostKeyName } from "./host-keys.ts";
export {
  type CurveOptions,
  checkKeyName,
  curveClientOptions,
  generateKeyFiles,
  isZ85Key,
  KeyFileError,
  type KeyPair,
  keyName,
  readKeyPair,
  readPublicKey,
  readPublicKeyDir,
} from "./keys.ts";
export { checkReadyProof, readyProof } from "./proof.ts";
export { RefusalLimiter } from "./refusal-limiter.ts";
export { z85Decode, z85Encode } from "./z85.ts";
export {
  type KeyRole,
  type Refusal,
  ZAP_DOMAIN,
  ZAP_ENDPOINT,
  ZapHandler,
  type ZapOptions,
} from "./zap.ts";
