// A client's or satellite's CURVE keys on a secured topology: its own from $DSAT_KEY, the
// orchestrator's public key from the .pub next to the topology's serverKey.
import { type CurveOptions, KeyFileError, readKeyPair, readPublicKey } from "../security/index.ts";
import { serverPublicKeyFile, type Topology } from "./topology.ts";

/** undefined when `topology` is not secured; throws KeyFileError when the keys cannot be read. */
export function curveFromEnv(topology: Topology, keyFile = process.env.DSAT_KEY): CurveOptions | undefined {
  const security = topology.orchestrator.security;
  if (security === undefined) return undefined;
  if (keyFile === undefined || keyFile === "")
    throw new KeyFileError(
      `${topology.file}: the topology turns security on: set DSAT_KEY to this program's NAME.key (dsat keys gen NAME)`,
    );
  const own = readKeyPair(keyFile);
  return { ...own, serverPublicKey: readPublicKey(serverPublicKeyFile(security)) };
}
