// The router's effects as script lines: frames are decoded with src/protocol's parsers so a line
// says what a peer gets (`s1 <- REQUEST echo j1#1 ...`, `C1 <- reply c1 j1 ok "hi"`), not bytes.
import type { JournalRecord } from "../../../src/journal/core.ts";
import type { RouterEffect } from "../../../src/orchestrator/router/types.ts";
import {
  BATCH_SERVICE,
  DSAT_BATCH_MARK,
  DSAT_MARK,
  decode,
  isJobEntry,
  isReplyEntry,
  type JobEntry,
  MDP_CLIENT,
  MDP_WORKER,
  parseJobRequest,
  type ReplyEntry,
  WorkerCommand,
} from "../../../src/protocol/index.ts";
import { show, showFrame, showJson } from "./script-args.ts";

/** What a script prints besides the effects it always shows. */
export interface Shown {
  log: boolean;
  heartbeat: boolean;
  stats: boolean;
}

/** An effect as lines (none for one a script hides); `peer` names a routing id. */
export function formatEffect(effect: RouterEffect, peer: (route: Buffer) => string, shown: Shown): string[] {
  switch (effect.kind) {
    case "send":
      return formatSend(effect.frames, peer, shown);
    case "publish": {
      if (effect.topic === "stats" && !shown.stats) return [];
      const fields = Object.entries(effect.fields)
        .filter(([key]) => key !== "at")
        .map(([key, value]) => `${key}=${show(value)}`);
      return [["event", effect.topic, ...fields].join(" ")];
    }
    case "journal-append":
      return [`append #${effect.seq} ${formatRecord(effect.record)}`];
    case "journal-commit":
      return ["commit"];
    case "log":
      return shown.log ? [`log ${effect.line}`] : [];
    case "span": {
      // The parent's span id stands for the traceparent; attributes without their `dsat.` prefix.
      const attributes = Object.entries(effect.attributes).map(
        ([key, value]) => `${key.replace(/^dsat\./, "")}=${show(value)}`,
      );
      const parent = effect.traceparent.slice(36, 52);
      return [
        `span ${effect.name} ${effect.startMs}..${effect.endMs} parent=${parent} ${attributes.join(" ")}`,
      ];
    }
  }
}

function formatRecord(record: JournalRecord): string {
  switch (record.k) {
    case "accepted": {
      const step = record.step > 0 ? ` step=${record.step}` : "";
      return `accepted ${record.id} ${record.type}${step} origin=${record.origin.kind}${recordInputs(record)}`;
    }
    case "dispatched":
      return `dispatched ${record.id} step=${record.step} attempt=${record.attempt} ${record.satelliteId}`;
    case "completed": {
      const outcome =
        record.status === "ok"
          ? `ok ${(record.result ?? []).map((frame) => (record.raw ? showFrame(frame) : showPayload(frame))).join(" ")}`
          : `${record.status} ${JSON.stringify(record.message)}`;
      return `completed ${record.id} ${outcome} attempts=${record.attempts}${recordInputs(record)}`;
    }
    case "forgotten":
      return `forgotten ${record.id}`;
    case "operator":
      return `operator ${record.command} ${record.target}${record.value === null || record.value === undefined ? "" : ` ${JSON.stringify(record.value)}`}`;
  }
}

function formatSend(frames: Buffer[], peer: (route: Buffer) => string, shown: Shown): string[] {
  const to = `${peer(frames[0])} <-`;
  const message = frames.slice(1);
  const protocol = message[1];
  if (protocol?.equals(MDP_CLIENT)) return formatClientReply(to, message);
  if (protocol?.equals(MDP_WORKER)) return formatWorkerCommand(to, message, shown);
  return [`${to} ${message.map(showFrame).join(" ")}`];
}

function formatClientReply(to: string, message: Buffer[]): string[] {
  const service = message[2];
  if (service.equals(BATCH_SERVICE) && message[3]?.equals(DSAT_BATCH_MARK)) {
    const entries = decode(message[4]) as unknown[];
    const lines: string[] = [];
    let offset = 0;
    for (const entry of entries) {
      if (!isReplyEntry(entry)) {
        lines.push(`malformed reply entry ${showJson(entry)}`);
        continue;
      }
      const payload = message[5].subarray(offset, offset + entry[3]);
      offset += entry[3];
      lines.push(replyLine(entry, payload));
    }
    return batchLines(to, "reply", lines);
  }
  if (message[3]?.equals(DSAT_MARK)) {
    const header = decode(message[4]) as { c: number; id: string; s: string; e?: string };
    const entry: ReplyEntry = [header.c, header.id, header.s, message[5].length, header.e ?? null];
    return [`${to} single-reply ${replyLine(entry, message[5])}`];
  }
  return [`${to} mdp ${service.toString()} ${message.slice(3).map(showFrame).join(" ")}`.trimEnd()];
}

function replyLine([correlation, id, status, , error]: ReplyEntry, payload: Buffer): string {
  const job = id === "" ? "-" : id;
  if (status === "ok") return `c${correlation} ${job} ok ${showPayload(payload)}`;
  return `c${correlation} ${job} ${status} ${JSON.stringify(error ?? "")}`;
}

function formatWorkerCommand(to: string, message: Buffer[], shown: Shown): string[] {
  const command = message[2][0];
  switch (command) {
    case WorkerCommand.request:
      return [`${to} REQUEST ${requestLine(message)}`];
    case WorkerCommand.requestBatch: {
      const entries = decode(message[3]) as unknown[];
      const lines: string[] = [];
      let offset = 0;
      for (const entry of entries) {
        if (!isJobEntry(entry)) {
          lines.push(`malformed job entry ${showJson(entry)}`);
          continue;
        }
        const payload = message[4].subarray(offset, offset + entry[3]);
        offset += entry[3];
        lines.push(jobEntryLine(entry, payload));
      }
      return batchLines(to, "REQUEST-BATCH", lines);
    }
    case WorkerCommand.cancel:
      return [`${to} CANCEL ${message[3].toString()}`];
    case WorkerCommand.heartbeat:
      return shown.heartbeat ? [`${to} HEARTBEAT`] : [];
    case WorkerCommand.disconnect:
      return [`${to} DISCONNECT`];
    case WorkerCommand.challenge:
      return [`${to} CHALLENGE ${message[3].toString("hex")}`];
    default:
      return [`${to} worker command 0x${command.toString(16)} ${message.slice(3).map(showFrame).join(" ")}`];
  }
}

/** A REQUEST: dsat (header decoded) or plain (the body frames as they are). */
function requestLine(message: Buffer[]): string {
  const address = message[3].toString();
  const job = parseJobRequest(message);
  if (job === null) return `${address} plain ${message.slice(5).map(showFrame).join(" ")}`.trimEnd();
  const { header, payload } = job;
  const options = [
    `d=${header.d}`,
    ...(header.k !== undefined ? [`k=${show(header.k)}`] : []),
    ...(header.tp !== undefined ? [`tp=${header.tp.slice(36, 52)}`] : []),
    ...(header.in !== undefined ? [`in=${showInputs(header.in)}`] : []),
  ];
  const body =
    header.raw !== undefined
      ? `raw ${payload.map(showFrame).join(" ")}`.trimEnd()
      : payload.map((frame) => showPayload(frame)).join(" ");
  return `${header.type} ${address} ${options.join(" ")} ${body}`.trimEnd();
}

function jobEntryLine(
  [id, attempt, type, , , deadline, key, raw, tp, inputs]: JobEntry,
  payload: Buffer,
): string {
  // A traceparent shows as its parent span id.
  const options = [
    `d=${deadline}`,
    ...(key !== null ? [`k=${show(key)}`] : []),
    ...(typeof tp === "string" ? [`tp=${tp.slice(36, 52)}`] : []),
    ...(inputs instanceof Uint8Array ? [`in=${showInputs(inputs)}`] : []),
  ];
  const body = raw !== null ? `raw ${showFrame(payload)}` : showPayload(payload);
  return `${type} ${id}#${attempt} ${options.join(" ")} ${body}`;
}

/** One line for a batch of one; a header and indented entries for more. */
function batchLines(to: string, what: string, lines: string[]): string[] {
  if (lines.length === 1) return [`${to} ${what} ${lines[0]}`];
  return [`${to} ${what} of ${lines.length}`, ...lines.map((line) => `  ${line}`)];
}

/** A MessagePack payload decoded and shown as JSON; anything else as a raw frame. */
export function showPayload(frame: Buffer): string {
  try {
    return showJson(decode(frame));
  } catch {
    return showFrame(frame);
  }
}

/** ` in=...` for a record that keeps inputs, else nothing. */
function recordInputs(record: { inputs?: Buffer | null }): string {
  return record.inputs === undefined || record.inputs === null ? "" : ` in=${showInputs(record.inputs)}`;
}

/** A job's inputs as a script writes them: `a,b;c`. */
function showInputs(bytes: Uint8Array): string {
  const inputs = decode(bytes);
  return Array.isArray(inputs) ? inputs.map((replicas) => (replicas as string[]).join(",")).join(";") : "?";
}
