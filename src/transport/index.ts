// Sockets' send side: one writer per socket, per-peer backlogs; receive loops that say whether
// their socket is drained.

export { EndOfTurn } from "./end-of-turn.ts";
export { endpointList } from "./endpoints.ts";
export { type AfterEachMessage, type ReceivingSocket, receiveEach } from "./receive.ts";
export { type DropReason, SocketWriter, type SocketWriterOptions } from "./writer.ts";
