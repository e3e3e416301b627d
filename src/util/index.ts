// Small pieces shared by several modules.
export { DeadlineHeap } from "./deadline-heap.ts";
export { seededRandom } from "./random.ts";
export { RecencyMap } from "./recency-map.ts";
export { formatTable } from "./table.ts";
