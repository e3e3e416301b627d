// Where /metrics listens: "host:port", loopback unless the operator says otherwise. The figures name
// every satellite, its failure domain and its load, so like control (orchestrator/control-binding.ts)
// the server stays on this host unless `insecure` (--insecure-metrics, insecureMetrics) is given.

/** A bad metrics address, a refused bind, or a port already taken: one sentence for the operator. */
export class MetricsError extends Error {
  override name = "MetricsError";
}

/** How far a listening address reaches. */
export type AddressReach = "loopback" | "wildcard" | "network";

export interface MetricsAddress {
  /** What node:http listens on: an IPv4 address, an IPv6 address (no brackets) or a host name. */
  host: string;
  /** 0 lets the system choose (tests); MetricsServer.port says which. */
  port: number;
  reach: AddressReach;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);
const LOOPBACKS = new Set(["localhost", "::1", "0:0:0:0:0:0:0:1"]);
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/** "127.0.0.1:9464", "[::1]:9464", "localhost:9464" -> host, port and reach; throws MetricsError. */
export function parseMetricsAddress(text: string): MetricsAddress {
  const expected = `expected host:port, like 127.0.0.1:9464 or [::1]:9464, got ${JSON.stringify(text)}`;
  if (typeof text !== "string") throw new MetricsError(`metrics address: ${expected}`);
  const match = /^(\[([0-9A-Fa-f:.]+)\]|[^\s:[\]/]+):(\d{1,5})$/.exec(text);
  if (match === null) throw new MetricsError(`metrics address: ${expected}`);
  const host = (match[2] ?? match[1]).toLowerCase();
  const port = Number(match[3]);
  if (port > 65535) throw new MetricsError(`metrics address: port ${port} is above 65535`);
  const ipv4 = IPV4.exec(host);
  if (ipv4?.slice(1).some((part) => Number(part) > 255))
    throw new MetricsError(`metrics address: ${host} is not an IPv4 address`);
  if (match[2] === undefined && ipv4 === null && !HOST_NAME.test(host))
    throw new MetricsError(`metrics address: ${expected}`);
  return { host, port, reach: reachOf(host, ipv4 !== null) };
}

function reachOf(host: string, ipv4: boolean): AddressReach {
  if (WILDCARDS.has(host)) return "wildcard";
  if (LOOPBACKS.has(host) || (ipv4 && host.startsWith("127."))) return "loopback";
  return "network";
}

/** Throws unless `address` stays on this host or `insecure` allows it; the warning to log, or null. */
export function checkMetricsReach(address: MetricsAddress, text: string, insecure: boolean): string | null {
  if (address.reach === "loopback") return null;
  const exposed = address.reach === "wildcard" ? "binds every interface" : "is reachable from other hosts";
  if (!insecure)
    throw new MetricsError(
      `metrics: ${text} ${exposed}, so anyone who can reach it sees every satellite, its failure domain and its load; bind it to 127.0.0.1 (a scraper on this host, or a tunnel), or start with --insecure-metrics (insecureMetrics: true)`,
    );
  return `metrics ${text} ${exposed} (insecureMetrics): anyone who can reach it can read the fleet's figures`;
}
