// The layout most multi-satellite tests run on: three racks of one host each (r1/h1, r2/h2, r3/h3),
// so that a type with replicas 3 and failureDomain "rack" has one candidate on every host.

/** The hosts, in rack order. */
export const THREE_HOSTS = ["h1", "h2", "h3"];

/** A topology file's `hierarchy` and `hosts` for the three racks (spread into the topology). */
export const THREE_RACKS = {
  hierarchy: ["rack", "host"],
  hosts: { h1: { rack: "r1" }, h2: { rack: "r2" }, h3: { rack: "r3" } },
};

/** Rack r<n>, host h<n>: a satellite's location in an in-process stack laid out the same way. */
export function rackAndHost(n: number): Array<[string, string]> {
  return [
    ["rack", `r${n}`],
    ["host", `h${n}`],
  ];
}
