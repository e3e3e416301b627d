// Sockets' send side: one writer per socket, per-peer backlogs.

export { EndOfTurn } from "./end-of-turn.ts";
export { type DropReason, SocketWriter, type SocketWriterOptions } from "./writer.ts";
