// Shape checks for messages from the network. A peer's bug or a bad frame must never throw inside the
// core: `step` drops what fails here and counts it.

import type { ConfigState, Entry, Message, Snapshot } from "./types.ts";
import { MESSAGE_TYPES } from "./types.ts";

const MODES = new Set(["active", "reluctant", "passive"]);
const CHANGE_TYPES = new Set(["add-learner", "add-voter", "remove"]);

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isId = (value: unknown): value is string => typeof value === "string" && value.length > 0;
const isIdList = (value: unknown): boolean => Array.isArray(value) && value.every(isId);

function checkConfig(config: ConfigState | undefined): string | null {
  if (typeof config !== "object" || config === null) return "config is missing";
  if (!isIdList(config.voters) || !isIdList(config.learners)) return "config lists must hold node ids";
  return null;
}

function checkEntry(entry: Entry, index: number, term: number): string | null {
  if (typeof entry !== "object" || entry === null) return "entry is not an object";
  if (entry.index !== index) return `entry index ${String(entry.index)} where ${index} was expected`;
  if (!isIndex(entry.term) || entry.term > term) return `entry ${index} has a bad term`;
  switch (entry.kind) {
    case "normal":
      return entry.data instanceof Uint8Array ? null : `entry ${index} has no data bytes`;
    case "noop":
      return null;
    case "config":
      if (typeof entry.change !== "object" || entry.change === null) return `entry ${index} has no change`;
      if (!CHANGE_TYPES.has(entry.change.type) || !isId(entry.change.node))
        return `entry ${index} has a bad change`;
      return checkConfig(entry.config);
    default:
      return `entry ${index} has an unknown kind`;
  }
}

function checkSnapshot(snapshot: Snapshot): string | null {
  if (typeof snapshot !== "object" || snapshot === null) return "snapshot is missing";
  if (!isIndex(snapshot.index) || !isIndex(snapshot.term)) return "snapshot index and term must be integers";
  if (!(snapshot.data instanceof Uint8Array)) return "snapshot has no data bytes";
  return checkConfig(snapshot.config);
}

function checkBody(message: Message): string | null {
  switch (message.type) {
    case "append": {
      if (!isIndex(message.prevIndex) || !isIndex(message.prevTerm) || !isIndex(message.commit)) {
        return "append positions must be integers";
      }
      if (!Array.isArray(message.entries)) return "append entries must be an array";
      for (let i = 0; i < message.entries.length; i += 1) {
        const problem = checkEntry(message.entries[i], message.prevIndex + 1 + i, message.term);
        if (problem !== null) return problem;
      }
      return null;
    }
    case "append-response":
      if (!isIndex(message.index) || !isIndex(message.rejectHint) || !isIndex(message.rejectTerm)) {
        return "append-response positions must be integers";
      }
      if (typeof message.reject !== "boolean" || !MODES.has(message.mode))
        return "append-response is malformed";
      return null;
    case "heartbeat":
      return isIndex(message.commit) ? null : "heartbeat commit must be an integer";
    case "heartbeat-response":
      return MODES.has(message.mode) ? null : "heartbeat-response mode is unknown";
    case "vote":
    case "pre-vote":
      if (!isIndex(message.lastIndex) || !isIndex(message.lastTerm)) return "vote positions must be integers";
      if (typeof message.transfer !== "boolean" || !MODES.has(message.mode))
        return "vote request is malformed";
      return null;
    case "vote-response":
    case "pre-vote-response":
      return typeof message.reject === "boolean" ? null : "vote response has no verdict";
    case "snapshot":
      return checkSnapshot(message.snapshot);
    case "timeout-now":
      return null;
  }
}

/** Null when `message` is well formed, else what is wrong with it. */
export function checkMessage(message: Message): string | null {
  if (typeof message !== "object" || message === null) return "message is not an object";
  if (!MESSAGE_TYPES.includes(message.type)) return `unknown message type ${String(message.type)}`;
  if (!isId(message.from) || !isId(message.to)) return "from and to must be node ids";
  if (!isIndex(message.term)) return "term must be a non-negative integer";
  return checkBody(message);
}
