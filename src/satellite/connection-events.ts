// What a satellite's socket monitor tells it. Listen before connect(): libzmq's monitor misses the
// events from before it exists. Events of a socket already replaced (a reconnect) are ignored.
import type { Dealer } from "zeromq";

export interface ConnectionListener {
  connected(): void;
  disconnected(): void;
  /** The broker refused our CURVE key: libzmq gives up on the connection, so reconnect by hand. */
  refused(): void;
}

export function followConnection(socket: Dealer, current: () => boolean, on: ConnectionListener): void {
  socket.events.on("connect", () => {
    if (current()) on.connected();
  });
  socket.events.on("disconnect", () => {
    if (current()) on.disconnected();
  });
  socket.events.on("handshake:error:auth", () => {
    setImmediate(() => {
      if (current()) on.refused();
    });
  });
}
