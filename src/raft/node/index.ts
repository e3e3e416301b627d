// A Raft node with real I/O around the pure core (src/raft/index.ts): disk storage, a ZeroMQ transport,
// the runner that performs each Ready in order, and the `dsat raft mock` key/value demo. Kept apart
// from the core so that importing the core never pulls in fs or zeromq. See docs/raft.md.

export { DiskStorage, type DiskStorageOptions } from "./disk-storage.ts";
export {
  LOG_LEVELS,
  type LogLevel,
  type MockOptions,
  MockUsageError,
  normaliseAddress,
  RaftMock,
} from "./mock.ts";
export { type Proposal, ProposalLost, RaftNode, type RaftNodeOptions } from "./node.ts";
export {
  type DropReason,
  RaftTransport,
  type TransportCurve,
  type TransportOptions,
  type TransportStats,
} from "./transport.ts";
