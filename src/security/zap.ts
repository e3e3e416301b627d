// A ZAP handler (RFC 27) for the orchestrator's CURVE sockets: a ROUTER bound to
// inproc://zeromq.zap.01 in zeromq.js's default context. libzmq asks it about every CURVE
// handshake; it allows the public keys of the allow-lists (NAME.pub files of the admin, client and
// satellite directories) and refuses the others with 400. The reply's user id is the key's name.
// The directories are watched (debounced) and can be reloaded on demand (`reload-keys`).
import { type FSWatcher, watch } from "node:fs";
import { Router } from "zeromq";
import { readPublicKeyDir } from "./keys.ts";
import { z85Encode } from "./z85.ts";

export { z85Encode };

export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
export const ZAP_DOMAIN = "dsat";

export interface Refusal {
  mechanism: string;
  address: string;
  reason: string;
}

/** What an allow-listed key may do: admin keys run every control command (docs/security.md). */
export type KeyRole = "admin" | "client" | "satellite";

export interface ZapOptions {
  /** Directory of the admins' NAME.pub files (control commands that change or list jobs). */
  adminKeysDir?: string;
  clientKeysDir?: string;
  satelliteKeysDir?: string;
  onRefused?: (refusal: Refusal) => void;
  log?: (line: string) => void;
  /** Debounce of directory-change reloads, ms. Default 200. */
  reloadDelayMs?: number;
}

export class ZapHandler {
  private socket: Router | null = null;
  /** Public key -> name, per list. */
  admins = new Map<string, string>();
  clients = new Map<string, string>();
  satellites = new Map<string, string>();
  /** Keys that passed a handshake since start (satellite READY must name one of them). */
  readonly authenticated = new Set<string>();
  readonly counters = { allowed: 0, refused: 0, reloads: 0 };
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ZapOptions) {
    this.reload();
  }

  /** Re-reads the allow-lists; returns the problems found (unreadable or malformed .pub files). */
  reload(): string[] {
    const problems: string[] = [];
    const read = (dir: string | undefined) => {
      if (dir === undefined) return new Map<string, string>();
      try {
        return readPublicKeyDir(dir, problems);
      } catch (error) {
        problems.push((error as Error).message);
        return new Map<string, string>();
      }
    };
    this.admins = read(this.options.adminKeysDir);
    this.clients = read(this.options.clientKeysDir);
    this.satellites = read(this.options.satelliteKeysDir);
    this.counters.reloads++;
    for (const problem of problems) this.options.log?.(`security: ${problem}`);
    return problems;
  }

  async start(): Promise<void> {
    const socket = new Router({ linger: 0 });
    try {
      await socket.bind(ZAP_ENDPOINT);
    } catch (error) {
      socket.close();
      throw new Error(
        `cannot bind the ZAP handler at ${ZAP_ENDPOINT} (${(error as Error).message}): one CURVE orchestrator per process`,
      );
    }
    this.socket = socket;
    for (const dir of [
      this.options.adminKeysDir,
      this.options.clientKeysDir,
      this.options.satelliteKeysDir,
    ]) {
      if (dir === undefined) continue;
      try {
        const watcher = watch(dir, () => this.scheduleReload());
        watcher.on("error", () => {});
        this.watchers.push(watcher);
      } catch (error) {
        this.options.log?.(`security: cannot watch ${dir}: ${(error as Error).message}`);
      }
    }
    void this.loop(socket);
  }

  private scheduleReload(): void {
    if (this.reloadTimer !== null) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.reload();
    }, this.options.reloadDelayMs ?? 200);
    this.reloadTimer.unref?.();
  }

  private async loop(socket: Router): Promise<void> {
    try {
      for await (const frames of socket) {
        try {
          const reply = this.answer(frames.slice(2));
          if (reply !== null) await socket.send([frames[0], Buffer.alloc(0), ...reply]);
        } catch (error) {
          this.options.log?.(`security: ZAP handler error: ${(error as Error).message}`);
        }
      }
    } catch {
      // closed
    }
  }

  /** RFC 27: [version, requestId, domain, address, identity, mechanism, ...credentials]. */
  answer(request: Buffer[]): Buffer[] | null {
    const [version, requestId, domain, address, , mechanism, credential] = request;
    if (version === undefined || requestId === undefined) return null;
    const reply = (status: string, text: string, userId = "") => [
      Buffer.from("1.0"),
      requestId,
      Buffer.from(status),
      Buffer.from(text),
      Buffer.from(userId),
      Buffer.alloc(0),
    ];
    if (version.toString() !== "1.0") return reply("500", "unsupported ZAP version");
    const mechanismName = mechanism?.toString() ?? "";
    const addressText = address?.toString() ?? "";
    const refuse = (reason: string) => {
      this.counters.refused++;
      this.options.onRefused?.({ mechanism: mechanismName, address: addressText, reason });
      return reply("400", reason);
    };
    if (domain?.toString() !== ZAP_DOMAIN) return refuse(`unknown ZAP domain "${domain?.toString() ?? ""}"`);
    if (mechanismName !== "CURVE" || credential === undefined || credential.length !== 32)
      return refuse(`mechanism ${mechanismName || "?"} is not allowed`);
    const key = z85Encode(credential);
    const name = this.admins.get(key) ?? this.clients.get(key) ?? this.satellites.get(key);
    if (name === undefined) return refuse("unknown public key");
    this.counters.allowed++;
    this.authenticated.add(key);
    return reply("200", "OK", name);
  }

  /** The strongest role of an allow-listed key (a key in several lists), undefined for others. */
  roleOf(key: string): { role: KeyRole; name: string } | undefined {
    const admin = this.admins.get(key);
    if (admin !== undefined) return { role: "admin", name: admin };
    const client = this.clients.get(key);
    if (client !== undefined) return { role: "client", name: client };
    const satellite = this.satellites.get(key);
    if (satellite !== undefined) return { role: "satellite", name: satellite };
    return undefined;
  }

  async stop(): Promise<void> {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    if (this.reloadTimer !== null) clearTimeout(this.reloadTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket !== null && !socket.closed) {
      await socket.unbind(ZAP_ENDPOINT).catch(() => {});
      socket.close();
    }
  }
}
