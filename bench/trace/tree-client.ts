// A client keeping `window` requests in flight for warm-up + seconds (tree given first); prints
// JSON: jobs/s over the whole run and over the part after the warm-up.
const [tree, endpoint, windowText, secondsText, warmText] = process.argv.slice(2);
const { connect } = await import(`${tree}/src/client/index.ts`);
const window = Number(windowText);
const client = await connect(endpoint, { inFlightMax: window + 1, timeoutMs: 600_000 });
const payload = Buffer.alloc(64, 7);
await new Promise((resolve) => setTimeout(resolve, 300));
const started = performance.now();
const warmEnd = started + Number(warmText) * 1000;
const deadline = warmEnd + Number(secondsText) * 1000;
let completed = 0;
let afterWarm = 0;
let failed = 0;
const worker = async () => {
  while (performance.now() < deadline) {
    try {
      await client.request("echo", payload);
      completed++;
      if (performance.now() >= warmEnd) afterWarm++;
    } catch {
      failed++;
    }
  }
};
await Promise.all(Array.from({ length: window }, worker));
const end = performance.now();
console.log(
  JSON.stringify({
    whole: completed / ((end - started) / 1000),
    steady: afterWarm / ((end - warmEnd) / 1000),
    failed,
  }),
);
await client.close();
process.exit(0);
