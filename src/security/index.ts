// Transport security: CURVE key files, the ZAP allow-list handler, satellites' READY proofs and
// signed control requests.

export { ControlProofVerifier, checkControlProof, controlProof } from "./control-proof.ts";
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
  z85Decode,
} from "./keys.ts";
export { checkReadyProof, readyProof } from "./proof.ts";
export {
  type KeyRole,
  type Refusal,
  RefusalLimiter,
  ZAP_DOMAIN,
  ZAP_ENDPOINT,
  ZapHandler,
  type ZapOptions,
  z85Encode,
} from "./zap.ts";
