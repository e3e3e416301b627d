// Small pieces shared by several modules.
export { DeadlineHeap } from "./deadline-heap.ts";
export { formatTable } from "./table.ts";
