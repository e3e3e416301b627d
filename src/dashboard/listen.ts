// Where the dashboard listens: "host:port", loopback by default. The page names every satellite,
// its failure domain and its load, and with a token it can drain them, so a non-loopback address
// needs an admin token (admin actions stay behind it) or an explicit --insecure-listen.

/** A bad address, a refused bind, or a port already taken: one sentence for the operator. */
export class DashboardError extends Error {
  override name = "DashboardError";
}

export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/** "127.0.0.1:8080", "[::1]:8080", "localhost:8080" -> host, port, loopback; throws DashboardError. */
export function parseListen(text: string): ListenAddress {
  const expected = `dashboard --listen: expected host:port, like 127.0.0.1:8080 or [::1]:8080, got ${JSON.stringify(text)}`;
  const match = /^(\[([0-9A-Fa-f:.]+)\]|[^\s:[\]/]+):(\d{1,5})$/.exec(String(text));
  if (match === null) throw new DashboardError(expected);
  const host = (match[2] ?? match[1]).toLowerCase();
  const port = Number(match[3]);
  if (port > 65535) throw new DashboardError(`dashboard --listen: port ${port} is above 65535`);
  const ipv4 = IPV4.exec(host);
  if (ipv4?.slice(1).some((part) => Number(part) > 255))
    throw new DashboardError(`dashboard --listen: ${host} is not an IPv4 address`);
  if (match[2] === undefined && ipv4 === null && !HOST_NAME.test(host)) throw new DashboardError(expected);
  return { host, port, loopback: isLoopbackName(host) };
}

export function isLoopbackName(host: string): boolean {
  return (
    host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1" || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/** Throws unless the address stays on this host, or a token or `insecure` allows it; else the warning to log. */
export function checkListenReach(
  address: ListenAddress,
  text: string,
  hasToken: boolean,
  insecure: boolean,
): string | null {
  if (address.loopback) return null;
  const wildcard = ["0.0.0.0", "::", "0:0:0:0:0:0:0:0"].includes(address.host);
  const exposed = wildcard ? "binds every interface" : "is reachable from other hosts";
  if (!hasToken && !insecure)
    throw new DashboardError(
      `dashboard: ${text} ${exposed}, so anyone who can reach it sees every satellite, its failure domain and its load; bind it to 127.0.0.1 (and use a tunnel), or give --admin-token (admin actions need it) or --insecure-listen`,
    );
  return `dashboard ${text} ${exposed}: anyone who can reach it sees the fleet${hasToken ? "; admin actions need the token" : ""}`;
}
