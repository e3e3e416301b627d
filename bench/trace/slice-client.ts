// A client that measures on command: for each IPC message {window, ms} it keeps `window` echo
// requests in flight for `ms` and answers {perSecond, p50, p90} (µs). argv: tree|raw, endpoint.
import { Dealer } from "zeromq";

const [tree, endpoint] = process.argv.slice(2);
const payload = Buffer.alloc(64, 7);
type Slice = { window: number; ms: number };

let runSlice: (slice: Slice) => Promise<{ count: number; latencies: number[] }>;
if (tree === "raw") {
  const dealer = new Dealer({ sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
  dealer.connect(endpoint);
  const sentAt = new Map<number, number>();
  let next = 0;
  let onReply = null as ((id: number) => void) | null;
  void (async () => {
    for await (const [tag] of dealer) onReply?.(tag.readUInt32LE());
  })();
  const send = () => {
    const id = next++;
    const tag = Buffer.allocUnsafe(4);
    tag.writeUInt32LE(id);
    sentAt.set(id, performance.now());
    dealer.send([tag, payload]).catch(() => {});
  };
  runSlice = ({ window, ms }) =>
    new Promise((resolve) => {
      const latencies: number[] = [];
      const deadline = performance.now() + ms;
      let count = 0;
      onReply = (id) => {
        const now = performance.now();
        latencies.push(now - (sentAt.get(id) ?? now));
        sentAt.delete(id);
        count++;
        if (now < deadline) send();
        else if (sentAt.size === 0) {
          onReply = null;
          resolve({ count, latencies });
        }
      };
      for (let i = 0; i < window; i++) send();
    });
} else {
  const { connect } = await import(`${tree}/src/client/index.ts`);
  const client = await connect(endpoint, { inFlightMax: 2000, timeoutMs: 600_000 });
  runSlice = async ({ window, ms }) => {
    const latencies: number[] = [];
    const deadline = performance.now() + ms;
    let count = 0;
    const worker = async () => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        await client.request("echo", payload);
        latencies.push(performance.now() - sent);
        count++;
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    return { count, latencies };
  };
}
await new Promise((resolve) => setTimeout(resolve, 300));
process.on("message", async (slice: Slice) => {
  const started = performance.now();
  const { count, latencies } = await runSlice(slice);
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const q = (f: number) =>
    (latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0) * 1000;
  process.send?.({ perSecond: (count * 1000) / elapsed, p50: q(0.5), p90: q(0.9) });
});
process.send?.("ready");
