// Where the control socket may listen without CURVE. Without CURVE every peer that connects to
// control runs every command (retry, jobs, reload-keys), so it may only be reachable from this
// host: ipc:// (chmod 0600), inproc://, or TCP on a loopback address. Anything else (a wildcard, a
// LAN address, an interface name) is refused unless the operator says --insecure / insecureControl,
// which starts it with a warning (docs/security.md, "Control roles").

/** How far a bound endpoint reaches. */
export type EndpointReach = "local" | "loopback" | "wildcard" | "network";

const WILDCARDS = new Set(["*", "0.0.0.0", "[::]", "::", "[0:0:0:0:0:0:0:0]"]);
const LOOPBACK_NAMES = new Set(["localhost", "lo", "[::1]", "::1"]);

/** tcp://127.0.0.1:5558 -> "loopback", tcp://*:5558 -> "wildcard", ipc://... -> "local". */
export function endpointReach(endpoint: string): EndpointReach {
  if (endpoint.startsWith("ipc://") || endpoint.startsWith("inproc://")) return "local";
  if (!endpoint.startsWith("tcp://")) return "network";
  const address = endpoint.slice("tcp://".length);
  const host = address.slice(0, Math.max(0, address.lastIndexOf(":"))).toLowerCase();
  if (WILDCARDS.has(host)) return "wildcard";
  if (LOOPBACK_NAMES.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return "loopback";
  return "network";
}

/**
 * The first control endpoint another host could reach, in a sentence, or null when every one
 * stays on this host. Only meaningful without CURVE (with CURVE, roles decide).
 */
export function exposedControl(endpoints: readonly string[]): string | null {
  for (const endpoint of endpoints) {
    const reach = endpointReach(endpoint);
    if (reach === "wildcard") return `${endpoint} binds every interface`;
    if (reach === "network") return `${endpoint} is reachable from other hosts`;
  }
  return null;
}
