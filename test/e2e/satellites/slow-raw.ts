// Test satellite for plain MDP clients: waits 1.5 s, then returns the request's bytes as they came.
import { defineSatellite } from "../../../src/index.ts";

export default defineSatellite({
  type: "slowraw",
  concurrency: 4,
  async handle(payload) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return payload;
  },
});
