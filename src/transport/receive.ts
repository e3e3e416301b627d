// Receive loops: one awaited receive() per message (zeromq.js's async iterator costs three promise
// hops per message), and after each message the caller hears whether more are waiting: if none,
// `drained` sends what the messages produced at once, instead of a setImmediate at the end of the
// turn (4-15 µs per process and job at 1 in flight, docs/performance.md); if some, `pending` lets
// the batch grow until the end of the turn, as before.

/** The part of a zeromq.js socket a receive loop uses. */
export interface ReceivingSocket {
  readonly closed: boolean;
  /** Whether a message waits to be read now (libzmq's ZMQ_EVENTS). */
  readonly readable: boolean;
  receive(): Promise<Buffer[]>;
}

export interface AfterEachMessage {
  /**
   * No other message waits. Called once the promise callbacks queued while handling have run
   * (handlers that finished at once, callers resuming on a result and asking again), before the
   * next receive is armed.
   */
  drained(): void;
  /** Another message waits: what this one produced may wait for the end of the turn. */
  pending(): void;
}

/**
 * Calls `handle` with each message of `socket` until the socket closes (then resolves); rejects
 * if a receive fails otherwise, or if `handle` or `after` throws.
 */
export async function receiveEach(
  socket: ReceivingSocket,
  handle: (frames: Buffer[]) => void,
  after?: AfterEachMessage,
): Promise<void> {
  while (!socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (error) {
      // A close while a receive waits rejects it with EAGAIN (as zeromq.js's iterator ends then).
      if (socket.closed) return;
      throw error;
    }
    handle(frames);
    if (after === undefined || socket.closed) continue;
    if (socket.readable) after.pending();
    else {
      await undefined; // one promise hop: behind the callbacks this message's handling queued
      after.drained();
    }
  }
}
