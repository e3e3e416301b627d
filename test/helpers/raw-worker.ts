// A fake satellite: a raw DEALER on an orchestrator's frontend speaking the worker protocol by hand
// (no runtime), so that a test sends exactly the frames it means to, and reads what it is sent.
import { Dealer } from "zeromq";
import {
  type SatelliteHello,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../../src/protocol/index.ts";

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

  close(): void {
    this.socket.close();
  }
}

/** Whether frames a worker received are a REQUEST (its job's address is frames[3]). */
export function isRequest(frames: Buffer[]): boolean {
  return frames[2]?.[0] === WorkerCommand.request;
}
