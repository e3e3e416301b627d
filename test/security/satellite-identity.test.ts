// Issue 12, item 3: on a CURVE topology a satellite id is bound to the key that proved it. Another
// key claiming a live id is refused and counted; the same key on a new connection fences the old
// one; a READY captured from one connection (its proof is over that connection's nonce) is refused
// on another.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import type { Orchestrator } from "../../src/orchestrator/index.ts";
import { type SatelliteHello, WorkerCommand, workerReadyFrames } from "../../src/protocol/index.ts";
import { defineSatellite } from "../../src/satellite/index.ts";
import { curveClientOptions, readyProof } from "../../src/security/index.ts";
import { TestKeys } from "../helpers/curve-keys.ts";
import { type SecureOrchestrator, startSecureOrchestrator } from "../helpers/secure-orchestrator.ts";
import { until } from "../helpers/wait.ts";

const echo = defineSatellite({ type: "echo", concurrency: 2, handle: (payload: unknown) => payload });

describe("satellite ids bound to keys", () => {
  const keys = new TestKeys("dsat-identity-");
  let secure: SecureOrchestrator;
  let orchestrator: Orchestrator;
  let frontend: string;
  const sockets: Dealer[] = [];
  /** The reasons of the satellite.refused events so far. */
  const refusals = () =>
    secure.published
      .filter((event) => event.topic === "satellite.refused")
      .map((event) => String(event.reason));

  const satellite = (id: string, keyName: string) => secure.satellite(echo, id, keyName);

  /** A raw CURVE DEALER with key `keyName`, speaking the worker protocol by hand. */
  const rawPeer = (keyName: string) => {
    const socket = new Dealer({ ...curveClientOptions(keys.curve(keyName)), linger: 0 });
    socket.connect(frontend);
    sockets.push(socket);
    const received: Buffer[][] = [];
    void (async () => {
      for await (const frames of socket) received.push(frames);
    })().catch(() => {});
    return { socket, received };
  };

  const hello = (id: string, keyName: string, proof?: string): SatelliteHello => ({
    id,
    types: ["echo"],
    location: [["host", "h1"]],
    capacity: 1,
    weight: 1,
    key: keys.pair(keyName).publicKey,
    ...(proof !== undefined ? { proof } : {}),
  });

  const challengeOf = (received: Buffer[][]) =>
    received.find((frames) => frames[2]?.[0] === WorkerCommand.challenge)?.[3];

  beforeAll(async () => {
    for (const name of ["sat-a", "sat-b"]) keys.add(name, "satellites");
    secure = await startSecureOrchestrator(keys, { types: { echo: {} } });
    ({ orchestrator, frontend } = secure);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await secure?.stop();
    keys.remove();
  });

  const registered = () => orchestrator.status().satellites.map((entry) => String(entry.id));

  it("registers a satellite that proves its key over the connection's nonce", async () => {
    await satellite("echo@h1", "sat-a");
    await until(() => registered().includes("echo@h1"), 5000, "echo@h1 to register");
  });

  it("refuses another key claiming a live id, and counts it", async () => {
    const before = orchestrator.status().counters.security.satelliteKeyRefused;
    const intruder = rawPeer("sat-b");
    await intruder.socket.send(workerReadyFrames("echo", hello("echo@h1", "sat-b")));
    await until(() => challengeOf(intruder.received) !== undefined, 5000, "a challenge");
    const nonce = (challengeOf(intruder.received) as Buffer).toString("hex");
    const proof = readyProof(keys.curve("sat-b"), keys.server.publicKey, "echo@h1", nonce);
    await intruder.socket.send(workerReadyFrames("echo", hello("echo@h1", "sat-b", proof)));
    await until(
      () => orchestrator.status().counters.security.satelliteKeyRefused > before,
      5000,
      "the refusal to be counted",
    );
    expect(refusals().at(-1)).toMatch(/live under another key/);
    expect(registered()).toEqual(["echo@h1"]);
  });

  it("the same key on a new connection fences the old one", async () => {
    const first = orchestrator.status().satellites.find((entry) => entry.id === "echo@h1");
    const lostBefore = orchestrator.status().counters.satellitesLost;
    const second = rawPeer("sat-a");
    await second.socket.send(workerReadyFrames("echo", hello("echo@h1", "sat-a")));
    await until(() => challengeOf(second.received) !== undefined, 5000, "a challenge");
    const nonce = (challengeOf(second.received) as Buffer).toString("hex");
    const proof = readyProof(keys.curve("sat-a"), keys.server.publicKey, "echo@h1", nonce);
    await second.socket.send(workerReadyFrames("echo", hello("echo@h1", "sat-a", proof)));
    await until(() => orchestrator.status().counters.satellitesLost > lostBefore, 5000, "the old one fenced");
    expect(first).toBeDefined();
    // The old runtime was sent DISCONNECT; it reconnects and fences the raw peer in turn: either
    // way exactly one connection holds the id.
    expect(registered().filter((id) => id === "echo@h1")).toHaveLength(1);
  });

  it("a READY captured from one connection is refused on another", async () => {
    const first = rawPeer("sat-a");
    await first.socket.send(workerReadyFrames("echo", hello("replay@h2", "sat-a")));
    await until(() => challengeOf(first.received) !== undefined, 5000, "a challenge");
    const nonce = (challengeOf(first.received) as Buffer).toString("hex");
    const proof = readyProof(keys.curve("sat-a"), keys.server.publicKey, "replay@h2", nonce);
    const captured = workerReadyFrames("echo", hello("replay@h2", "sat-a", proof));
    // The same bytes from another connection (which was given another nonce, or none).
    const other = rawPeer("sat-a");
    await other.socket.send(workerReadyFrames("echo", hello("replay@h2", "sat-a")));
    await until(() => challengeOf(other.received) !== undefined, 5000, "a second challenge");
    const before = orchestrator.status().counters.security.satelliteKeyRefused;
    await other.socket.send(captured);
    await until(
      () => orchestrator.status().counters.security.satelliteKeyRefused > before,
      5000,
      "the replay to be refused",
    );
    expect(refusals().at(-1)).toMatch(/does not prove holding key/);
    expect(registered()).not.toContain("replay@h2");
  });
});
