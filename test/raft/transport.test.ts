// RaftTransport over real ZeroMQ sockets on loopback: delivery, what is dropped and counted on the way
// in (malformed, spoofed, oversized) and out (dead peer, too large), and CURVE with a peer allow-list.
import { afterEach, describe, expect, test } from "vitest";
import { curveKeyPair, Dealer } from "zeromq";
import type { HeartbeatMessage, Message } from "../../src/raft/index.ts";
import { pack } from "../../src/raft/node/codec.ts";
import { RaftTransport, type TransportOptions } from "../../src/raft/node/index.ts";
import { Cleanups } from "../helpers/cleanups.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { normal } from "./helpers.ts";

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

const heartbeat = (from: string, to: string, commit = 1): HeartbeatMessage => ({
  type: "heartbeat",
  from,
  to,
  term: 2,
  commit,
});

async function start(options: Omit<TransportOptions, "onMessage">, inbox: Message[]): Promise<RaftTransport> {
  const transport = await RaftTransport.start({ ...options, onMessage: (message) => inbox.push(message) });
  cleanups.push(() => transport.close());
  return transport;
}

async function rawDealer(
  routingId: string,
  endpoint: string,
  options: Record<string, unknown> = {},
): Promise<Dealer> {
  const dealer = new Dealer({ routingId, linger: 0, ...options });
  dealer.connect(endpoint);
  cleanups.push(() => dealer.close());
  return dealer;
}

describe("RaftTransport", () => {
  test("delivers messages both ways, in MessagePack, entries' bytes intact", async () => {
    const [ea, eb] = await freeEndpoints(2);
    const inA: Message[] = [];
    const inB: Message[] = [];
    const a = await start({ id: "a", bind: ea, peers: { b: eb } }, inA);
    const b = await start({ id: "b", bind: eb, peers: { a: ea } }, inB);
    const append: Message = {
      type: "append",
      from: "a",
      to: "b",
      term: 2,
      prevIndex: 1,
      prevTerm: 1,
      commit: 1,
      entries: [normal(2, 2, "hello")],
    };
    await until(
      () => {
        if (inB.length === 0) a.send(append);
        return inB.length > 0;
      },
      5000,
      "a message from a to b",
    );
    b.send(heartbeat("b", "a"));
    await until(() => inA.length > 0, 5000, "a message from b to a");
    const got = inB[0] as Extract<Message, { type: "append" }>;
    expect(got).toMatchObject({ type: "append", from: "a", to: "b", prevIndex: 1 });
    expect(Buffer.from((got.entries[0] as { data: Uint8Array }).data).toString()).toBe("hello");
    expect(inA[0]).toEqual(heartbeat("b", "a"));
  });

  test("unreadable, malformed, misaddressed, spoofed and multi-frame messages are counted and dropped", async () => {
    const [eb] = await freeEndpoints(1);
    const inB: Message[] = [];
    const b = await start(
      { id: "b", bind: eb, peers: { a: "tcp://127.0.0.1:9" }, maxMessageBytes: 4096 },
      inB,
    );
    const dealer = await rawDealer("a", eb);
    await dealer.send(Buffer.from([0xc1])); // not MessagePack
    await dealer.send(pack({ type: "heartbeat", from: "a", to: "b", term: -1, commit: 0 })); // malformed
    await dealer.send(pack(heartbeat("a", "c"))); // not for b
    await dealer.send(pack(heartbeat("c", "b"))); // from c on a's connection
    await dealer.send([pack(heartbeat("a", "b")), Buffer.from("x")]); // two frames
    await dealer.send(pack({ ...heartbeat("a", "b"), pad: "x".repeat(4500) })); // over maxMessageBytes (under libzmq's cut, which has a margin)
    await dealer.send(pack(heartbeat("a", "b", 7))); // fine
    await until(() => inB.length === 1, 5000, "the one good message");
    expect(inB[0]).toMatchObject({ commit: 7 });
    expect(b.stats.malformed).toBe(6);
  });

  test("a dead peer costs nothing: messages to it are dropped and reported at once", async () => {
    const [ea, nobody] = await freeEndpoints(2);
    const dropped: string[] = [];
    const a = await RaftTransport.start({
      id: "a",
      bind: ea,
      peers: { b: nobody },
      sendQueue: 10,
      onMessage: () => {},
      onDropped: (peer, _message, reason) => dropped.push(`${peer}:${reason}`),
    });
    cleanups.push(() => a.close());
    for (let i = 0; i < 5000; i += 1) a.send(heartbeat("a", "b", i));
    a.send(heartbeat("a", "z"));
    await until(() => dropped.length === 5001, 5000, "every message reported dropped");
    expect(a.stats.sent).toBe(0);
    expect(a.stats.dropped["queue-full"]).toBe(5000);
    expect(a.stats.dropped["unknown-peer"]).toBe(1);
  });

  test("a message over maxMessageBytes is not sent", async () => {
    const [ea, eb] = await freeEndpoints(2);
    const a = await start({ id: "a", bind: ea, peers: { b: eb }, maxMessageBytes: 1000 }, []);
    a.send({
      type: "append",
      from: "a",
      to: "b",
      term: 2,
      prevIndex: 1,
      prevTerm: 1,
      commit: 1,
      entries: [normal(2, 2, "x".repeat(2000))],
    });
    expect(a.stats.dropped["too-large"]).toBe(1);
  });

  test("CURVE: peers talk, a stranger's key is refused", async () => {
    const [ea, eb] = await freeEndpoints(2);
    const keyA = curveKeyPair();
    const keyB = curveKeyPair();
    const stranger = curveKeyPair();
    const inA: Message[] = [];
    const inB: Message[] = [];
    const a = await start(
      { id: "a", bind: ea, peers: { b: eb }, curve: { ...keyA, peers: { b: keyB.publicKey } } },
      inA,
    );
    const b = await start(
      { id: "b", bind: eb, peers: { a: ea }, curve: { ...keyB, peers: { a: keyA.publicKey } } },
      inB,
    );
    await until(
      () => {
        if (inB.length === 0) a.send(heartbeat("a", "b"));
        return inB.length > 0;
      },
      5000,
      "an encrypted message from a to b",
    );
    const intruder = await rawDealer("a", eb, {
      curveServerKey: keyB.publicKey,
      curvePublicKey: stranger.publicKey,
      curveSecretKey: stranger.secretKey,
    });
    void intruder.send(pack(heartbeat("a", "b", 99))).catch(() => {});
    await until(() => b.stats.refusedHandshakes > 0, 5000, "the stranger's handshake refused");
    expect(inB.some((message) => (message as HeartbeatMessage).commit === 99)).toBe(false);
    expect(a.stats.refusedHandshakes).toBe(0);
  });
});
