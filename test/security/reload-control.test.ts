// Key rotation through the control socket: on a CURVE orchestrator a client key that is not in the
// clients directory is refused (frontend and control); its .pub is copied in and `reload-keys` is
// sent with controlRequest, signed with an admin key (security.adminKeysDir; control is CURVE too,
// and reload-keys is an admin command: docs/security.md, "Control roles"); the reply's counts say what was
// loaded, and the new client is served. A satellite with an unknown key does not register, the
// refusal is counted (control `status`) and `security.refused` arrives on the events socket; once
// its key is added and reloaded, the same satellite and a waiting client get in by themselves.
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, controlRequest, type OrchestratorEvent } from "../../src/client/index.ts";
import type { Orchestrator } from "../../src/orchestrator/index.ts";
import { defineSatellite } from "../../src/satellite/index.ts";
import { generateKeyFiles, readKeyPair } from "../../src/security/index.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { sleep, until } from "../helpers/wait.ts";

const echo = (concurrency: number) =>
  defineSatellite({ type: "echo", concurrency, handle: (payload: unknown) => payload });

interface ReloadReply {
  ok: boolean;
  admins: number;
  clients: number;
  satellites: number;
  problems: string[];
}

interface StatusReply {
  ok: boolean;
  satellites: Array<{ id: string }>;
  counters: { security: { refused: number; satelliteKeyRefused: number } };
}

describe("reload-keys over the control socket (CURVE)", () => {
  const keys = new TestKeys("dsat-reload-control-");
  const { clientsDir, satellitesDir, otherDir } = keys;
  const adminsDir = join(keys.dir, "admins");
  const clients: Client[] = [];
  const events: OrchestratorEvent[] = [];
  let secure: SecureOrchestrator;
  let orchestrator: Orchestrator;
  let frontend: string;
  let control: string;
  let eventsClient: Client;
  let eventsLoop: Promise<void> = Promise.resolve();

  const control_ = <T>(command: string, curve = keys.curve("client-ok"), timeoutMs = 3000) =>
    controlRequest(control, command, timeoutMs, curve) as Promise<T>;
  const reloadKeys = () => {
    const admin = readKeyPair(join(adminsDir, "admin.key"));
    return control_<ReloadReply>("reload-keys", { ...admin, serverPublicKey: keys.server.publicKey });
  };
  const client = async (name: string, timeoutMs: number) => {
    const made = await connect(frontend, { curve: keys.curve(name), timeoutMs });
    clients.push(made);
    return made;
  };
  /** Log lines of the satellite whose key (sat-new) is not in the satellites directory at first. */
  const newSatelliteLog: string[] = [];
  /** Waits (at most 10 s) until no handshake has been refused for `quietMs`. */
  const quietRefusals = async (quietMs: number) => {
    const refused = () => orchestrator.status().counters.security.refused;
    const end = Date.now() + 10_000;
    let last = refused();
    let since = Date.now();
    while (Date.now() - since < quietMs) {
      if (Date.now() > end) throw new Error(`refusals did not stop for ${quietMs} ms`);
      await sleep(50);
      if (refused() !== last) {
        last = refused();
        since = Date.now();
      }
    }
  };
  const registered = async () =>
    (await control_<StatusReply>("satellites")).satellites.map((entry) => entry.id);

  beforeAll(async () => {
    keys.add("client-ok", "clients");
    keys.add("sat-ok", "satellites");
    // Keys nobody listed yet.
    keys.add("client-new", "other");
    keys.add("sat-new", "other");
    generateKeyFiles("admin", adminsDir);
    secure = await startSecureOrchestrator(
      keys,
      { limits: { heartbeatMs: 200, noSatelliteWaitMs: 300 } },
      { adminKeysDir: adminsDir },
    );
    ({ orchestrator, frontend, control } = secure);
    // Every event the events socket carries, read as an allowed client would.
    eventsClient = await connect(frontend, { curve: keys.curve("client-ok"), events: secure.events });
    eventsLoop = (async () => {
      for await (const event of eventsClient.events("")) events.push(event);
    })().catch(() => {});
    await secure.satellite(echo(4), "sat-ok-1", "sat-ok", { location: [["host", "h1"]] });
    await until(() => orchestrator.status().satellites.length === 1, 5000, "sat-ok-1 to register");
  });

  afterAll(async () => {
    for (const made of clients) await made.close();
    await eventsClient?.close();
    await eventsLoop;
    await secure?.stop();
    keys.remove();
  });

  it("answers control requests with an allowed key and starts with one key per list", async () => {
    expect(await control_("ping")).toEqual({ ok: true });
    expect(await reloadKeys()).toEqual({
      ok: true,
      admins: 1,
      clients: 1,
      satellites: 1,
      problems: [],
    });
    const allowed = await client("client-ok", 3000);
    expect(await allowed.request("echo", { n: 1 })).toEqual({ n: 1 });
  });

  it("refuses a client key that is not in the clients directory (frontend and control)", async () => {
    const stranger = await client("client-new", 500);
    await expect(stranger.request("echo", 1)).rejects.toThrow();
    await expect(control_("ping", keys.curve("client-new"), 500)).rejects.toThrow(/no answer/);
    await stranger.close();
  });

  it("reload-keys admits the key once its .pub is copied in; the reply counts the keys", async () => {
    copyFileSync(join(otherDir, "client-new.pub"), join(clientsDir, "client-new.pub"));
    // Sent at once: the directory watcher's own reload waits 200 ms, so these counts are the command's.
    const reply = await reloadKeys();
    expect(reply).toEqual({ ok: true, admins: 1, clients: 2, satellites: 1, problems: [] });
    const fresh = await client("client-new", 3000);
    expect(await fresh.request("echo", { n: 2 })).toEqual({ n: 2 });
    // Control answers the new key too.
    expect(await control_("ping", keys.curve("client-new"))).toEqual({ ok: true });
  });

  it("reload-keys reports a malformed .pub as a problem and keeps the good keys", async () => {
    const bad = join(clientsDir, "broken.pub");
    writeFileSync(bad, "public-key = not-a-key\n");
    try {
      const reply = await reloadKeys();
      expect(reply.ok).toBe(true);
      expect(reply.clients).toBe(2);
      expect(reply.satellites).toBe(1);
      expect(reply.problems).toHaveLength(1);
      expect(reply.problems[0]).toContain("broken.pub");
      expect(reply.problems[0]).toMatch(/not a 40-character Z85 key/);
    } finally {
      rmSync(bad);
    }
    expect(await reloadKeys()).toMatchObject({ clients: 2, problems: [] });
  });

  it("does not register a satellite with an unknown key, counts the refusal and publishes security.refused", async () => {
    // security.refused events are limited to one a second per address, and every peer here is
    // 127.0.0.1: wait until a second has passed without a refusal, so this one is not muted.
    await quietRefusals(1100);
    const before = (await control_<StatusReply>("status")).counters.security;
    const startedAt = Date.now();
    await secure.satellite(echo(1), "sat-new-1", "sat-new", {
      location: [["host", "h3"]],
      log: (line) => newSatelliteLog.push(line),
    });
    // Its handshake is refused by ZAP: counted, and published on the events socket.
    await until(
      () =>
        events.some(
          (event) =>
            event.topic === "security.refused" &&
            (event.at as number) >= startedAt &&
            event.reason === "unknown public key",
        ),
      5000,
      "security.refused on the events socket",
    );
    const refusedEvent = events.find(
      (event) => event.topic === "security.refused" && (event.at as number) >= startedAt,
    );
    expect(refusedEvent).toMatchObject({ mechanism: "CURVE", reason: "unknown public key" });
    expect(typeof refusedEvent?.address).toBe("string");
    expect(typeof refusedEvent?.muted).toBe("number");
    const after = (await control_<StatusReply>("status")).counters.security;
    expect(after.refused).toBeGreaterThan(before.refused);
    // The same count in process (control's reply is not a stale copy).
    expect(orchestrator.status().counters.security.refused).toBeGreaterThanOrEqual(after.refused);
    // The satellite has since tried again (reconnectMs 100) and been refused again, its second
    // handshake answered like the first: nothing more is coming that could register it.
    await until(
      () => newSatelliteLog.filter((line) => line.includes("refused this satellite's CURVE key")).length >= 2,
      5000,
      "sat-new-1 to be refused twice",
    );
    expect(await registered()).not.toContain("sat-new-1");
    expect(
      events.some((event) => event.topic === "satellite.registered" && event.satellite === "sat-new-1"),
    ).toBe(false);
  });

  it("the refused satellite registers by itself once its key is copied in and reloaded", async () => {
    copyFileSync(join(otherDir, "sat-new.pub"), join(satellitesDir, "sat-new.pub"));
    const reply = await reloadKeys();
    expect(reply).toEqual({ ok: true, admins: 1, clients: 2, satellites: 2, problems: [] });
    // libzmq gives up on a refused handshake; the satellite connects again with backoff (at most
    // reconnectMaxMs, 500 ms here), so the same runtime gets in: no restart.
    const deadline = Date.now() + 10_000;
    while (!(await registered()).includes("sat-new-1")) {
      if (Date.now() > deadline) throw new Error("timed out waiting for sat-new-1 to register");
      await sleep(50);
    }
    expect(
      events.some((event) => event.topic === "satellite.registered" && event.satellite === "sat-new-1"),
    ).toBe(true);
    const served = await client("client-ok", 3000);
    expect(await served.request("echo", "after rotation")).toBe("after rotation");
  });

  it("a refused client gets in by itself once its key is listed: its waiting request is answered", async () => {
    keys.add("client-late", "other");
    const late = await client("client-late", 10_000);
    const refusals: number[] = [];
    late.on("auth:refused", (retryMs) => refusals.push(retryMs));
    const answer = late.request("echo", "late but served");
    await until(() => refusals.length >= 2, 5000, "the client to be refused and retry");
    expect(refusals[1]).toBeGreaterThan(refusals[0]); // backoff
    copyFileSync(join(otherDir, "client-late.pub"), join(clientsDir, "client-late.pub"));
    expect(await reloadKeys()).toMatchObject({ clients: 3, problems: [] });
    expect(await answer).toBe("late but served");
  });
});
