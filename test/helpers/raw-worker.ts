// A fake satellite: a raw DEALER on an orchestrator's frontend speaking the worker protocol by hand
// (no runtime), so that a test sends exactly the frames it means to, and reads what it is sent.
import { Dealer } from "zeromq";
import {
  decode,
  type SatelliteHello,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../../src/protocol/index.ts";

const MDP_CLIENT = Buffer.from("MDPC01");

export class RawWorker {
  readonly socket: Dealer;

  /** `sendHighWaterMark` 0 lets a test queue any number of frames (zeromq's default is 1000). */
  constructor(endpoint: string, options: { sendHighWaterMark?: number } = {}) {
    this.socket = new Dealer({ linger: 0, ...options });
    this.socket.connect(endpoint);
  }

  /** READY for `type`: a plain MDP worker without `hello`, a dsat satellite with it. */
  ready(type: string, hello?: SatelliteHello): Promise<void> {
    return this.socket.send(workerReadyFrames(type, hello));
  }

  heartbeat(): Promise<void> {
    return this.socket.send(workerCommandFrames(WorkerCommand.heartbeat));
  }

  /** ACK of the job at `address` (a REQUEST's fourth frame). */
  ack(address: Buffer): Promise<void> {
    return this.socket.send(workerCommandFrames(WorkerCommand.ack, address));
  }

  disconnect(): Promise<void> {
    return this.socket.send(workerCommandFrames(WorkerCommand.disconnect));
  }

  /**
   * A marker: an 8/MMI question (is mmi.service served?) asked as a plain MDP client on this
   * worker's own connection. The orchestrator reads one connection in order and writes to it in
   * order, so when its answer (isMarkerAnswer) arrives, everything it sent this worker before
   * reading the marker has arrived too.
   */
  sendMarker(): Promise<void> {
    return this.socket.send([
      Buffer.alloc(0),
      MDP_CLIENT,
      Buffer.from("mmi.service"),
      Buffer.from("mmi.service"),
    ]);
  }

  close(): void {
    this.socket.close();
  }
}

/** Whether frames a worker received are a REQUEST (its job's address is frames[3]). */
export function isRequest(frames: Buffer[]): boolean {
  return frames[2]?.[0] === WorkerCommand.request;
}

/** How many jobs frames a worker received carry: 1 for a REQUEST, its entries for a REQUEST-BATCH. */
export function jobsIn(frames: Buffer[]): number {
  if (frames[1]?.equals(MDP_CLIENT)) return 0;
  if (isRequest(frames)) return 1;
  if (frames[2]?.[0] !== WorkerCommand.requestBatch || frames[3] === undefined) return 0;
  const entries = decode(frames[3]);
  return Array.isArray(entries) ? entries.length : 0;
}

/** Whether frames a worker received are the answer to its marker (sendMarker). */
export function isMarkerAnswer(frames: Buffer[]): boolean {
  return frames[1]?.equals(MDP_CLIENT) === true;
}
