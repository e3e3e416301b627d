// wordcount: counts words in a text, e.g. "the cat the hat" -> { the: 2, cat: 1, hat: 1 }.
import { defineSatellite, NonRetryableError } from "../src/index.ts";

export default defineSatellite<unknown, Record<string, number>>({
  type: "wordcount",
  concurrency: 16,
  handle(payload) {
    if (typeof payload !== "string") throw new NonRetryableError("wordcount expects a string payload");
    const counts: Record<string, number> = {};
    for (const word of payload.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [])
      counts[word] = (counts[word] ?? 0) + 1;
    return counts;
  },
});
