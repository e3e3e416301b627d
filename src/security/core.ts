// The pure part of src/security (no sockets, no files): READY proofs, Z85, refusal rate limits.
// What the orchestrator's router may use; everything else is in index.ts.
export type { KeyPair } from "./keys.ts";
export { checkReadyProof, readyProof } from "./proof.ts";
export { RefusalLimiter } from "./refusal-limiter.ts";
export { isZ85Key, z85Decode, z85Encode } from "./z85.ts";
