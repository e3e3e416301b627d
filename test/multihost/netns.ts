// Real hosts on one machine for tests: Linux network namespaces that the test creates and removes
// itself. One namespace holds a bridge (the "switch"); each host is a namespace with `eth0`, one end
// of a veth pair whose other end is a port of that bridge; the test process itself (root
// namespace) gets a port too, so its clients reach the hosts by address. Every name starts with
// `dsat-<pid>-`, the addresses are a /24 of 10/8 that no route of this machine uses, and removing
// the namespaces removes every link in them (a veth pair dies with either end).
//
//   partition   cut(host): the host's bridge port down, both directions fail
//   asymmetric  blackhole(host, to): the host's packets to `to` are dropped, `to`'s still arrive
//   slow link   delay(host, ms): tc netem on the host's eth0 (when the kernel has netem)
//
// Needs root and iproute2 (`ip`); netemSupport() says whether delay() can work. Cleanup also runs
// on process exit and on SIGINT/SIGTERM: processes left in our namespaces are killed (they are
// ours: nothing else runs in a namespace named after this pid), then the namespaces are deleted.
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from "node:child_process";
import { randomInt } from "node:crypto";

export interface Support {
  ok: boolean;
  /** Why not, when !ok. */
  reason: string;
}

function run(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function quiet(args: string[]): boolean {
  try {
    run(args);
    return true;
  } catch {
    return false;
  }
}

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let cachedSupport: Support | undefined;

/** Whether this process may create namespaces, bridges and veth pairs (root, Linux, `ip`). */
export function netnsSupport(): Support {
  if (cachedSupport !== undefined) return cachedSupport;
  const probe = `dsat-${process.pid}-probe`;
  if (process.platform !== "linux") cachedSupport = { ok: false, reason: "not Linux" };
  else if (process.getuid?.() !== 0) cachedSupport = { ok: false, reason: "not root (needs ip netns add)" };
  else if (!hasCommand("ip")) cachedSupport = { ok: false, reason: "no `ip` command (iproute2)" };
  else if (!quiet(["netns", "add", probe]))
    cachedSupport = { ok: false, reason: "`ip netns add` failed (no CAP_SYS_ADMIN?)" };
  else {
    const veth = quiet(["-n", probe, "link", "add", "a0", "type", "veth", "peer", "name", "a1"]);
    const bridge = quiet(["-n", probe, "link", "add", "b0", "type", "bridge"]);
    quiet(["netns", "del", probe]);
    cachedSupport =
      veth && bridge
        ? { ok: true, reason: "" }
        : { ok: false, reason: `the kernel lacks ${veth ? "bridge" : "veth"} support` };
  }
  return cachedSupport;
}

let cachedNetem: Support | undefined;

/** Whether `tc qdisc ... netem` works in a namespace (module sch_netem). */
export function netemSupport(): Support {
  if (cachedNetem !== undefined) return cachedNetem;
  const base = netnsSupport();
  if (!base.ok) return (cachedNetem = base);
  if (!hasCommand("tc")) return (cachedNetem = { ok: false, reason: "no `tc` command (iproute2)" });
  const probe = `dsat-${process.pid}-netem`;
  quiet(["netns", "add", probe]);
  try {
    execFileSync(
      "ip",
      ["netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    cachedNetem = { ok: true, reason: "" };
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    cachedNetem = {
      ok: false,
      reason: `tc netem is not available in this kernel (${stderr || "tc failed"})`,
    };
  } finally {
    quiet(["netns", "del", probe]);
  }
  return cachedNetem;
}

export interface Host {
  name: string;
  /** Its namespace. */
  ns: string;
  /** Its address on the bridge. */
  address: string;
  /** Its bridge port (in the bridge's namespace). */
  port: string;
}

const live = new Set<Network>();
let hooked = false;

function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const network of live) network.destroy();
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const network of live) network.destroy();
      process.kill(process.pid, signal);
    });
  }
}

/** A /24 of 10/8 that no address or route of the root namespace overlaps. */
function privateSubnet(): string {
  const used = `${run(["-4", "route", "show", "table", "all"])}\n${run(["-4", "addr"])}`;
  for (let tries = 0; tries < 100; tries++) {
    const subnet = `10.${randomInt(64, 250)}.${randomInt(1, 250)}`;
    if (!used.includes(`${subnet}.`) && !used.includes(`${subnet.split(".").slice(0, 2).join(".")}.0.0/16`))
      return subnet;
  }
  throw new Error("no free 10.x.y.0/24 found");
}

export class Network {
  readonly prefix = `dsat-${process.pid}-${randomInt(1000, 9999)}`;
  readonly subnet = privateSubnet();
  readonly bridgeNs = `${this.prefix}-net`;
  readonly hosts = new Map<string, Host>();
  /** The root namespace's address on the bridge (the test process's clients use it). */
  readonly rootAddress = `${this.subnet}.254`;
  private readonly rootLink = `dsat${process.pid % 1_000_000}r${randomInt(10, 99)}`;
  private readonly namespaces: string[] = [];
  private destroyed = false;

  constructor() {
    hookProcessExit();
    live.add(this);
    this.addNamespace(this.bridgeNs);
    run(["-n", this.bridgeNs, "link", "add", "br0", "type", "bridge"]);
    run(["-n", this.bridgeNs, "link", "set", "br0", "up"]);
    // The test process's own port: created in the root namespace, its peer moved to the bridge.
    run(["link", "add", this.rootLink, "type", "veth", "peer", "name", "root", "netns", this.bridgeNs]);
    run(["-n", this.bridgeNs, "link", "set", "root", "master", "br0", "up"]);
    run(["addr", "add", `${this.rootAddress}/24`, "dev", this.rootLink]);
    run(["link", "set", this.rootLink, "up"]);
  }

  private addNamespace(ns: string): void {
    run(["netns", "add", ns]);
    this.namespaces.push(ns);
    run(["-n", ns, "link", "set", "lo", "up"]);
  }

  /** A host namespace on the bridge, with address <subnet>.<n> (n = 1, 2, ... in order of adding). */
  addHost(name: string): Host {
    if (!/^[a-z0-9]{1,12}$/.test(name)) throw new Error(`host name "${name}": 1-12 of a-z, 0-9`);
    const index = this.hosts.size + 1;
    const host: Host = {
      name,
      ns: `${this.prefix}-${name}`,
      address: `${this.subnet}.${index}`,
      port: `p${index}`,
    };
    this.addNamespace(host.ns);
    run([
      "-n",
      this.bridgeNs,
      "link",
      "add",
      host.port,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      host.ns,
    ]);
    run(["-n", this.bridgeNs, "link", "set", host.port, "master", "br0", "up"]);
    run(["-n", host.ns, "addr", "add", `${host.address}/24`, "dev", "eth0"]);
    run(["-n", host.ns, "link", "set", "eth0", "up"]);
    this.hosts.set(name, host);
    return host;
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  /** Starts `command` inside the host's namespace (`ip netns exec`, which execs it: same pid). */
  spawn(name: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    return spawn("ip", ["netns", "exec", this.host(name).ns, command, ...args], options);
  }

  /** Runs `command` inside the host's namespace to the end; its stdout. */
  exec(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync("ip", ["netns", "exec", this.host(name).ns, command, ...args], {
      encoding: "utf8",
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /**
   * Partition: nothing passes between the host and the others either way until heal().
   * "switch" (default): the bridge stops forwarding the host's port; the host keeps its carrier,
   * as when a link beyond its own NIC fails (its TCP connects then wait out SYN retransmits).
   * "cable": the port is taken down; the host sees NO-CARRIER, as when its cable is pulled.
   */
  cut(name: string, how: "switch" | "cable" = "switch"): void {
    const port = this.host(name).port;
    if (how === "cable") run(["-n", this.bridgeNs, "link", "set", port, "down"]);
    else
      execFileSync("ip", [
        "netns",
        "exec",
        this.bridgeNs,
        "bridge",
        "link",
        "set",
        "dev",
        port,
        "state",
        "0",
      ]);
  }

  heal(name: string): void {
    const port = this.host(name).port;
    run(["-n", this.bridgeNs, "link", "set", port, "up"]);
    // 3: forwarding (the bridge runs no STP, so the state is ours to set).
    execFileSync("ip", ["netns", "exec", this.bridgeNs, "bridge", "link", "set", "dev", port, "state", "3"]);
  }

  /**
   * Permanent neighbour (ARP) entries between every two hosts and the root: a cut then fails only
   * IP traffic, never address resolution (whose own timeouts would change what TCP sees).
   */
  pinNeighbours(): void {
    const mac = (ns: string | null, dev: string) =>
      (
        JSON.parse(run([...(ns === null ? [] : ["-n", ns]), "-j", "link", "show", dev])) as Array<{
          address: string;
        }>
      )[0].address;
    const ends = [
      { ns: null as string | null, dev: this.rootLink, address: this.rootAddress },
      ...[...this.hosts.values()].map((h) => ({
        ns: h.ns as string | null,
        dev: "eth0",
        address: h.address,
      })),
    ].map((end) => ({ ...end, mac: mac(end.ns, end.dev) }));
    for (const from of ends) {
      for (const to of ends) {
        if (from === to) continue;
        const args = ["neigh", "replace", to.address, "lladdr", to.mac, "dev", from.dev, "nud", "permanent"];
        run(from.ns === null ? args : ["-n", from.ns, ...args]);
      }
    }
  }

  /** Asymmetric: what `name` sends to `to` is dropped (a blackhole route); `to` still reaches `name`. */
  blackhole(name: string, to: string): void {
    run(["-n", this.host(name).ns, "route", "add", "blackhole", `${this.host(to).address}/32`]);
  }

  unblackhole(name: string, to: string): void {
    run(["-n", this.host(name).ns, "route", "del", "blackhole", `${this.host(to).address}/32`]);
  }

  /** Slow link: every packet leaving the host waits `ms` (needs netemSupport()). */
  delay(name: string, ms: number): void {
    this.exec(name, "tc", ["qdisc", "replace", "dev", "eth0", "root", "netem", "delay", `${ms}ms`]);
  }

  /**
   * Slow link without netem: a token bucket (tc tbf, in every kernel with traffic control) lets
   * `kbit` through; what the host sends beyond that waits in the queue (up to `latencyMs`).
   */
  throttle(name: string, kbit: number, latencyMs: number): void {
    this.exec(name, "tc", [
      ...["qdisc", "replace", "dev", "eth0", "root", "tbf"],
      ...["rate", `${kbit}kbit`, "burst", "1600", "latency", `${latencyMs}ms`],
    ]);
  }

  undelay(name: string): void {
    this.exec(name, "tc", ["qdisc", "del", "dev", "eth0", "root"]);
  }

  /** Pids of the processes in the host's namespace. */
  pids(name: string): number[] {
    return pidsIn(this.host(name).ns);
  }

  /**
   * Kills what still runs in our namespaces (SIGKILL: by now everything had its chance to stop)
   * and deletes them; the root's veth goes with its peer. Synchronous, so it can run at exit.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const ns of this.namespaces) {
      for (const pid of pidsIn(ns)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
    for (const ns of this.namespaces.reverse()) quiet(["netns", "del", ns]);
    quiet(["link", "del", this.rootLink]);
  }
}

function pidsIn(ns: string): number[] {
  try {
    return run(["netns", "pids", ns])
      .split(/\s+/)
      .filter((word) => word !== "")
      .map(Number)
      .filter((pid) => pid > 0 && pid !== process.pid);
  } catch {
    return [];
  }
}
