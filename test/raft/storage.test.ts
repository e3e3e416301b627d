import { describe } from "vitest";
import { MemoryStorage } from "../../src/raft/index.ts";
import { storageContract } from "./storage-contract.ts";

describe("MemoryStorage", () => {
  storageContract(async (config) => MemoryStorage.bootstrap(config));
});
