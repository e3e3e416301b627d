// Small pieces shared by several modules.
export { DeadlineHeap } from "./deadline-heap.ts";
export { seededRandom } from "./random.ts";
export { formatTable } from "./table.ts";
