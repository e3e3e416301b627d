// Sockets' send side: one writer per socket, per-peer backlogs.
export { type DropReason, SocketWriter, type SocketWriterOptions } from "./writer.ts";
