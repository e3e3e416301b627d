// The Raft core: a pure state machine (step / tick / ready / advance), with storage and randomness
// injected. See docs/raft.md.

export { RaftAssertionError } from "./assert.ts";
export type { RaftConfig } from "./config.ts";
export { defaultRaftConfig, RaftConfigError, validateRaftConfig } from "./config.ts";
export type { TransferRefusal } from "./leader.ts";
export type { ChangeRefusal } from "./membership.ts";
export { applyChange, isLearner, isMember, isVoter, makeConfig } from "./membership.ts";
export type { ProgressState } from "./progress.ts";
export type {
  CampaignKind,
  ProgressStatus,
  ProposeRefusal,
  ProposeResult,
  RaftStatus,
  TransferResult,
} from "./raft.ts";
export { Raft } from "./raft.ts";
export type { Random } from "./random.ts";
export { randomInt, seededRandom } from "./random.ts";
export type { Ready, SoftState } from "./ready.ts";
export type { Storage } from "./storage.ts";
export { MemoryStorage, StorageError, StoredLog } from "./storage.ts";
export type {
  AppendMessage,
  AppendResponseMessage,
  ConfigChange,
  ConfigEntry,
  ConfigState,
  Entry,
  HardState,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
  MessageType,
  Mode,
  NodeId,
  NoopEntry,
  NormalEntry,
  Role,
  Snapshot,
  SnapshotMessage,
  TimeoutNowMessage,
  VoteMessage,
  VoteResponseMessage,
} from "./types.ts";
export { EMPTY_CONFIG, entriesBytes, entryBytes, MESSAGE_TYPES } from "./types.ts";
export { checkMessage } from "./validate.ts";
