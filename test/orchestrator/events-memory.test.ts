// Memory an events subscriber can make the orchestrator hold (issue 12, item 7). libzmq keeps every
// subscription in the XPUB's prefix trie at ~50 bytes per byte of prefix: before the caps, 2,000
// distinct 4 KB subscriptions grew the orchestrator by ~390 MiB (20,000 by 3.9 GB). The orchestrator
// runs in its own process here so its RSS is its own; the subscriber is a hand-written ZMTP peer
// (zmtp-peer.ts), which, unlike a zmq SUB, keeps no trie of its own in the test process.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Subscriber } from "zeromq";
import { freeEndpoints } from "../helpers/ports.ts";
import { sleep, until } from "../helpers/wait.ts";
import { type ZmtpSubscriber, zmtpSubscriber } from "./zmtp-peer.ts";

const MiB = 1024 * 1024;

interface Status {
  rss: number;
  dropped: number;
  malformed: number;
}

interface Running {
  child: ChildProcess;
  events: string;
  status(): Promise<Status>;
  publish(): void;
}

const started: ChildProcess[] = [];

async function startOrchestrator(limits: Record<string, number> = {}): Promise<Running> {
  const [frontend, events] = await freeEndpoints(2);
  const child = fork(
    fileURLToPath(new URL("./events-orchestrator.process.ts", import.meta.url)),
    [frontend, events, JSON.stringify(limits)],
    { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] },
  );
  started.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the orchestrator process did not start")), 20_000);
    child.once("message", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    child,
    events,
    status: () =>
      new Promise((resolve) => {
        child.once("message", (message) => resolve(message as Status));
        child.send("status");
      }),
    publish: () => child.send("publish"),
  };
}

afterEach(() => {
  for (const child of started.splice(0)) child.kill("SIGKILL");
});

/** RSS once it stopped growing (two reads 300 ms apart within 1 MiB), at most ~15 s. */
async function settledRss(running: Running): Promise<number> {
  let last = (await running.status()).rss;
  for (let i = 0; i < 50; i++) {
    await sleep(300);
    const now = (await running.status()).rss;
    if (Math.abs(now - last) < MiB) return now;
    last = now;
  }
  return last;
}

/** `count` subscriptions of `bytes` bytes each, distinct in their first bytes (the trie's worst case). */
async function subscribeMany(peer: ZmtpSubscriber, count: number, bytes: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const prefix = Buffer.alloc(bytes, 0x61);
    prefix.write(i.toString(36).padStart(6, "0"));
    peer.send(1, prefix);
    if (i % 500 === 499) await peer.flush();
  }
  await peer.flush();
}

/** A zmq SUB subscribed to `test.` that counts the `test.ping` events it gets. */
function listener(events: string): { received: () => number; close: () => void } {
  const subscriber = new Subscriber({ linger: 0 });
  subscriber.connect(events);
  subscriber.subscribe("test.");
  let received = 0;
  void (async () => {
    try {
      for await (const _ of subscriber) received++;
    } catch {
      // closed
    }
  })();
  return { received: () => received, close: () => subscriber.close() };
}

async function expectEventsFlow(running: Running, subscriber: { received: () => number }): Promise<void> {
  const before = subscriber.received();
  const deadline = Date.now() + 10_000;
  while (subscriber.received() === before && Date.now() < deadline) {
    running.publish();
    await sleep(50);
  }
  expect(subscriber.received()).toBeGreaterThan(before);
}

describe("events subscriptions: orchestrator memory", () => {
  it("2,000 subscriptions of 4 KB (longer than any topic) cost it almost nothing", async () => {
    const running = await startOrchestrator();
    const good = listener(running.events);
    await expectEventsFlow(running, good);
    const before = await settledRss(running);
    const peer = await zmtpSubscriber(running.events);
    await subscribeMany(peer, 2000, 4000);
    const after = await settledRss(running);
    const growthMiB = (after - before) / MiB;
    console.log(
      `4 KB subscriptions x 2000: orchestrator RSS ${(before / MiB).toFixed(0)} -> ${(after / MiB).toFixed(0)} MiB`,
    );
    expect(growthMiB).toBeLessThan(40);
    await expectEventsFlow(running, good);
    peer.close();
    good.close();
  });

  it("20,000 distinct short subscriptions are capped: every subscriber is dropped, and comes back", async () => {
    const running = await startOrchestrator();
    const good = listener(running.events);
    await expectEventsFlow(running, good);
    const before = await settledRss(running);
    const peer = await zmtpSubscriber(running.events);
    await subscribeMany(peer, 20_000, 300);
    await until(() => peer.closed, 10_000, "the orchestrator to drop the subscriber");
    const after = await settledRss(running);
    const status = await running.status();
    console.log(
      `300 B subscriptions x 20000: orchestrator RSS ${(before / MiB).toFixed(0)} -> ${(after / MiB).toFixed(0)} MiB, ${status.dropped} drop(s)`,
    );
    expect(status.dropped).toBeGreaterThanOrEqual(1);
    expect((after - before) / MiB).toBeLessThan(150);
    // The well-behaved subscriber reconnects and subscribes again by itself.
    await expectEventsFlow(running, good);
    good.close();
  });
});
