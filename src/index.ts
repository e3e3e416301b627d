// dsat's public API.
export * from "./crush/index.ts";
