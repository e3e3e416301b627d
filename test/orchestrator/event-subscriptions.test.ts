// EventSubscriptions (src/orchestrator/event-subscriptions.ts) on a real XPUB with real peers: the
// counts follow subscribe, unsubscribe and disconnect (so the caps never lock out subscribers
// over time), a cap passed drops every subscriber and they come back, and a hand-written peer
// cannot hide prefixes from the caps with unsubscriptions of prefixes it never held.
import { afterEach, describe, expect, it } from "vitest";
import { Subscriber, XPublisher } from "zeromq";
import {
  EVENTS_UPSTREAM_BYTES_MAX,
  EVENTS_UPSTREAM_HWM,
  EventSubscriptions,
  isSubscription,
} from "../../src/orchestrator/event-subscriptions.ts";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";
import { type ZmtpSubscriber, zmtpSubscriber } from "./zmtp-peer.ts";

interface Rig {
  xpub: XPublisher;
  endpoint: string;
  subscriptions: EventSubscriptions;
  drops: string[];
  malformed: () => number;
}

const cleanup: Array<() => void> = [];

afterEach(() => {
  for (const close of cleanup.splice(0).reverse()) close();
});

/** An XPUB as the orchestrator makes its events socket, with EventSubscriptions reading it. */
async function rig(subscriptionsMax: number, subscriptionBytesMax = 1 << 20): Promise<Rig> {
  const [endpoint] = await freeEndpoints(1);
  const xpub = new XPublisher({
    linger: 0,
    sendTimeout: 0,
    maxMessageSize: EVENTS_UPSTREAM_BYTES_MAX,
    receiveHighWaterMark: EVENTS_UPSTREAM_HWM,
  });
  await xpub.bind(endpoint);
  const drops: string[] = [];
  let malformed = 0;
  const subscriptions = new EventSubscriptions({
    socket: xpub,
    endpoints: [endpoint],
    rebind: (again) => xpub.bind(again),
    subscriptionsMax,
    subscriptionBytesMax,
    onDrop: (reason) => drops.push(reason),
    log: () => {},
  });
  void subscriptions.run(() => malformed++);
  cleanup.push(() => {
    subscriptions.close();
    xpub.close();
  });
  return { xpub, endpoint, subscriptions, drops, malformed: () => malformed };
}

function subscriber(endpoint: string, ...prefixes: string[]): Subscriber {
  const socket = new Subscriber({ linger: 0 });
  socket.connect(endpoint);
  socket.subscribe(...prefixes);
  cleanup.push(() => {
    if (!socket.closed) socket.close();
  });
  return socket;
}

async function raw(endpoint: string): Promise<ZmtpSubscriber> {
  const peer = await zmtpSubscriber(endpoint);
  cleanup.push(() => peer.close());
  return peer;
}

/** Does `socket` get a message published on `topic` (published until one arrives, at most 5 s)? */
async function receives(xpub: XPublisher, socket: Subscriber, topic: string): Promise<boolean> {
  const received = socket.receive().then(
    () => true,
    () => false,
  );
  const deadline = Date.now() + 5000;
  let done = false;
  void received.then(() => {
    done = true;
  });
  while (!done && Date.now() < deadline) {
    try {
      await xpub.send([topic, "x"]);
    } catch {
      // EBUSY while a reset binds: try again
    }
    await sleep(20);
  }
  return done && (await received);
}

describe("isSubscription", () => {
  it("is one frame of byte 0 or 1 and a prefix (possibly empty)", () => {
    expect(isSubscription([Buffer.from([1])])).toBe(true);
    expect(isSubscription([Buffer.from("\x00job.")])).toBe(true);
    expect(isSubscription([Buffer.from("\x02job.")])).toBe(false);
    expect(isSubscription([Buffer.alloc(0)])).toBe(false);
    expect(isSubscription([Buffer.from([1]), Buffer.from([1])])).toBe(false);
  });
});

describe("EventSubscriptions on a real XPUB", () => {
  it("counts distinct prefixes through subscribe, unsubscribe and disconnect, back to zero", async () => {
    const { endpoint, subscriptions, drops } = await rig(100);
    const a = subscriber(endpoint, "job.", "result.echo");
    const b = subscriber(endpoint, "job.");
    const c = subscriber(endpoint, "satellite.");
    await until(() => subscriptions.count === 3, 5000, "3 distinct prefixes");
    expect(subscriptions.bytes).toBe("job.".length + "result.echo".length + "satellite.".length);
    b.unsubscribe("job."); // a still holds it
    await sleep(100);
    expect(subscriptions.count).toBe(3);
    a.close(); // its prefixes leave with it: libzmq sends their unsubscriptions
    await until(() => subscriptions.count === 1, 5000, "a's prefixes to leave");
    c.close();
    b.close();
    await until(() => subscriptions.count === 0 && subscriptions.bytes === 0, 5000, "every prefix to leave");
    // Many subscribers coming and going leave nothing counted.
    for (let i = 0; i < 20; i++) {
      const passing = subscriber(endpoint, "job.", `result.t${i}`);
      await until(() => subscriptions.count === 2, 5000, "a passing subscriber's prefixes");
      passing.close();
      await until(() => subscriptions.count === 0, 5000, "a passing subscriber to leave");
    }
    expect(drops).toEqual([]);
  });

  it("counts anything else on the socket as malformed", async () => {
    const { endpoint, malformed } = await rig(100);
    const peer = await raw(endpoint);
    peer.send(1, "ok");
    await peer.flush();
    // A message without the 0/1 flag reaches the application as it is.
    peer.sendMessage(Buffer.from("\x05hello"));
    await peer.flush();
    await until(() => malformed() === 1, 5000, "the malformed message to be counted");
  });

  it("past subscriptionsMax drops every subscriber; well-behaved ones come back", async () => {
    const { xpub, endpoint, subscriptions, drops } = await rig(50);
    const good = subscriber(endpoint, "ev.");
    expect(await receives(xpub, good, "ev.1")).toBe(true);
    const greedy = await raw(endpoint);
    for (let i = 0; i < 60; i++) greedy.send(1, `greedy.${i}`);
    await greedy.flush();
    await until(() => drops.length >= 1, 5000, "the cap to drop everyone");
    expect(drops[0]).toMatch(/more than 50/);
    await until(() => greedy.closed, 5000, "the greedy connection to be closed");
    // The zmq SUB reconnects and subscribes again by itself.
    expect(await receives(xpub, good, "ev.2")).toBe(true);
    await until(() => subscriptions.count === 1, 5000, "only the good prefix to be counted");
  });

  it("past subscriptionBytesMax drops every subscriber too", async () => {
    const { endpoint, drops } = await rig(1000, 1000);
    const peer = await raw(endpoint);
    for (let i = 0; i < 5; i++) peer.send(1, `${i}${"x".repeat(250)}`);
    await peer.flush();
    await until(() => drops.length >= 1, 5000, "the bytes cap to drop everyone");
    expect(drops[0]).toMatch(/bytes of subscriptions, more than 1000/);
  });

  it("refuses a subscription longer than any topic: libzmq closes that connection", async () => {
    const { endpoint, subscriptions } = await rig(1000);
    const peer = await raw(endpoint);
    peer.send(1, "short");
    await peer.flush();
    await until(() => subscriptions.count === 1, 5000, "the short subscription");
    peer.send(1, "x".repeat(EVENTS_UPSTREAM_BYTES_MAX));
    await peer.flush();
    await until(() => peer.closed, 5000, "libzmq to close the connection");
    await until(() => subscriptions.count === 0, 5000, "its prefixes to leave");
  });

  it("a peer cannot hide prefixes behind unsubscriptions of prefixes it never held", async () => {
    const { endpoint, subscriptions, drops } = await rig(20);
    const holder = await raw(endpoint);
    const hider = await raw(endpoint);
    let hiddenMax = 0;
    for (let i = 0; i < 60; i++) {
      holder.send(1, `hidden.${i}`);
      await holder.flush();
      // libzmq tells the application of this "unsubscription" although the prefix stays held.
      hider.send(0, `hidden.${i}`);
      await hider.flush();
      await sleep(5);
      if (drops.length > 0) break;
      hiddenMax = Math.max(hiddenMax, subscriptions.bound - subscriptions.count);
    }
    expect(hiddenMax).toBeGreaterThan(20); // the notifications alone would never have passed the cap
    await until(() => drops.length >= 1, 5000, "libzmq's own count to catch the hidden prefixes");
    expect(drops[0]).toMatch(/libzmq holds \d+ subscriptions since the last reset, more than twice 20/);
    expect(subscriptions.count).toBeLessThanOrEqual(20);
  });

  it("libzmq's count drifts with subscribers that leave; a reset rebases it and nobody stays locked out", async () => {
    const { xpub, endpoint, subscriptions, drops } = await rig(5);
    // Each passing subscriber leaves one more prefix in libzmq's count (libzmq 4.3.5 does not
    // lower ZMQ_TOPICS_COUNT for a connection that goes), never in ours.
    for (let i = 0; drops.length === 0 && i < 20; i++) {
      const passing = subscriber(endpoint, `t${i}`);
      await until(() => subscriptions.count === 1 || drops.length > 0, 5000, "the passing subscription");
      passing.close();
      await until(() => subscriptions.count === 0, 5000, "the passing subscriber to leave");
    }
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatch(/more than twice 5/);
    await until(() => subscriptions.bound <= 1, 5000, "the reset to rebase libzmq's count");
    const later = subscriber(endpoint, "later.");
    expect(await receives(xpub, later, "later.1")).toBe(true);
    expect(drops).toHaveLength(1);
  });
});
