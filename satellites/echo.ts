// echo: returns the payload as it came. The smallest satellite there is.
import { defineSatellite } from "../src/index.ts";

export default defineSatellite({
  type: "echo",
  concurrency: 64,
  handle: (payload) => payload,
});
