// CURVE keys for tests, in a temp dir laid out as a secured topology expects: the orchestrator's
// server.key, clients/ and satellites/ (the allow-lists), and other/ (keys nobody listed).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OrchestratorConfig } from "../../src/orchestrator/index.ts";
import { type CurveOptions, generateKeyFiles, type KeyPair, readKeyPair } from "../../src/security/index.ts";

export type KeyPlace = "clients" | "satellites" | "other";

export class TestKeys {
  readonly dir: string;
  readonly clientsDir: string;
  readonly satellitesDir: string;
  readonly otherDir: string;
  readonly server: KeyPair;
  private readonly pairs = new Map<string, KeyPair>();

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.clientsDir = join(this.dir, "clients");
    this.satellitesDir = join(this.dir, "satellites");
    this.otherDir = join(this.dir, "other");
    generateKeyFiles("server", this.dir);
    this.server = readKeyPair(join(this.dir, "server.key"));
  }

  /** Writes NAME.key and NAME.pub into `place`; returns the pair. */
  add(name: string, place: KeyPlace): KeyPair {
    const where = join(this.dir, place);
    generateKeyFiles(name, where);
    const pair = readKeyPair(join(where, `${name}.key`));
    this.pairs.set(name, pair);
    return pair;
  }

  pair(name: string): KeyPair {
    const pair = this.pairs.get(name);
    if (pair === undefined) throw new Error(`no test key "${name}"`);
    return pair;
  }

  /** A client's or satellite's CURVE options with key `name`. */
  curve(name: string): CurveOptions {
    return { ...this.pair(name), serverPublicKey: this.server.publicKey };
  }

  /** The orchestrator's `security` section over these directories. */
  security(extra: Partial<NonNullable<OrchestratorConfig["security"]>> = {}): OrchestratorConfig["security"] {
    return {
      serverKey: join(this.dir, "server.key"),
      clientKeysDir: this.clientsDir,
      satelliteKeysDir: this.satellitesDir,
      ...extra,
    };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
