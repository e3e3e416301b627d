// The bench's echo satellite, from the source tree given first.
const [tree, endpoint, id, rack, concurrencyText] = process.argv.slice(2);
const { defineSatellite, runSatellite } = await import(`${tree}/src/satellite/index.ts`);
await runSatellite(
  defineSatellite({
    type: ["echo"],
    concurrency: Number(concurrencyText),
    handle: (payload: unknown) => payload,
  }),
  {
    endpoint,
    id,
    location: [
      ["rack", rack],
      ["host", id],
    ],
    heartbeatMs: 1000,
    log: () => {},
  },
);
process.send?.("ready");
process.on("SIGINT", () => process.exit(0));
