// A hand-written ZMTP 3.0 SUB peer (RFC 23, NULL mechanism) over a plain TCP socket: it sends
// whatever (un)subscriptions a test asks for, including ones a zmq SUB/XSUB would never send (an
// unsubscription of a prefix it does not hold), and keeps no trie of its own.
import { connect, type Socket } from "node:net";

const SIGNATURE = Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f]);

function greeting(): Buffer {
  const bytes = Buffer.alloc(64);
  SIGNATURE.copy(bytes, 0);
  bytes[10] = 3; // version 3.0
  bytes[11] = 0;
  bytes.write("NULL", 12, "ascii"); // mechanism, zero-padded to 20 bytes; as-server 0; filler
  return bytes;
}

/** One ZMTP frame: flags (0x02 long, 0x04 command), size, body. */
function frame(body: Buffer, command: boolean): Buffer {
  const flags = command ? 0x04 : 0x00;
  if (body.length < 256) return Buffer.concat([Buffer.from([flags, body.length]), body]);
  const head = Buffer.alloc(9);
  head[0] = flags | 0x02;
  head.writeBigUInt64BE(BigInt(body.length), 1);
  return Buffer.concat([head, body]);
}

function readyCommand(): Buffer {
  const name = Buffer.from("Socket-Type");
  const value = Buffer.from("SUB");
  const valueSize = Buffer.alloc(4);
  valueSize.writeUInt32BE(value.length);
  return frame(
    Buffer.concat([
      Buffer.from([5]),
      Buffer.from("READY"),
      Buffer.from([name.length]),
      name,
      valueSize,
      value,
    ]),
    true,
  );
}

export interface ZmtpSubscriber {
  /** Queues "1<prefix>" (subscribe) or "0<prefix>" (unsubscribe). */
  send(flag: 0 | 1, prefix: Buffer | string): void;
  /** Queues a message as it is (not a subscription unless it starts with byte 0 or 1). */
  sendMessage(body: Buffer): void;
  /** Resolves once everything queued was handed to the kernel. */
  flush(): Promise<void>;
  /** Has the other side closed the connection (as libzmq does after a too-large message)? */
  readonly closed: boolean;
  close(): void;
}

/** Connects to `endpoint` (tcp://host:port) and completes the NULL handshake. */
export async function zmtpSubscriber(endpoint: string): Promise<ZmtpSubscriber> {
  const match = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (match === null) throw new Error(`not a tcp endpoint: ${endpoint}`);
  const socket: Socket = connect(Number(match[2]), match[1]);
  let closed = false;
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(Buffer.concat([greeting(), readyCommand()]));
  // The peer's greeting (64 bytes) and READY come back; nothing else will.
  await new Promise<void>((resolve) => {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > 64) {
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
  });
  socket.on("data", () => {});
  const sendMessage = (body: Buffer) => {
    if (!closed) socket.write(frame(body, false));
  };
  return {
    send: (flag, prefix) => sendMessage(Buffer.concat([Buffer.from([flag]), Buffer.from(prefix)])),
    sendMessage,
    flush() {
      return new Promise((resolve) => (closed ? resolve() : socket.write(Buffer.alloc(0), () => resolve())));
    },
    get closed() {
      return closed;
    },
    close() {
      socket.destroy();
    },
  };
}
