// 9/TSP (Titanic) from a dsat client (docs/protocol.md, "9/TSP (Titanic)"): a job the orchestrator
// stores (on disk, with a journal) and whose result is fetched later by its uuid, by this process
// or another. The request's frames after the job type are a dsat single request's ("dsat/1",
// header, payload), so the job carries its key and inputs as a direct request does.
//
//   const uuid = await client.titanic.request("scan", { day: 6 }, { inputs: [["nas-1:/logs/a"]] });
//   const answer = await client.titanic.reply(uuid); // { status: "pending" } or { status: "ok", result }
//
// Each call is one plain MDP request on a DEALER of its own: a plain reply names no correlation,
// and titanic.request's answer waits for the journal while the other two are answered at once.
import { Dealer } from "zeromq";
import { DSAT_MARK, EMPTY, ErrorCode, encode, MDP_CLIENT } from "../protocol/index.ts";
import { type CurveOptions, curveClientOptions } from "../security/index.ts";
import { errorFor, NotFoundError, RejectedError, TimeoutError } from "./errors.ts";
import { inputsBytes } from "./inputs.ts";
import { decodeResult } from "./result.ts";

export interface TitanicRequestOptions {
  /** Placement key, as for request(); the uuid by default. */
  key?: string;
  /** The data the job reads (docs/locality.md), as for request(): it is placed near them. */
  inputs?: string[][];
}

/** titanic.reply's answer: still running (or waiting for a worker), or its result. */
export type TitanicReply<Result = unknown> = { status: "pending" } | { status: "ok"; result: Result };

export interface TitanicOptions {
  curve?: CurveOptions;
  /** How long a call waits for the orchestrator's answer, ms. */
  timeoutMs: number;
  /** Largest payload sent, bytes; larger ones are refused here with DSAT_ERR_TOO_LARGE. */
  messageBytesMax: number;
}

export class TitanicClient {
  constructor(
    /** The orchestrators' frontends: one, or each of a replicated set. */
    private readonly endpoints: readonly string[],
    private readonly options: TitanicOptions,
  ) {}

  /**
   * Stores a job of `type`; resolves with its uuid once the orchestrator holds it (its record on
   * disk, with a journal). Rejects with RejectedError and the orchestrator's reason when it is
   * refused (unknown type, bad inputs, full), TimeoutError when no answer comes: the job may then
   * be stored all the same, under a uuid this call never learnt.
   */
  async request(type: string, payload: unknown, options: TitanicRequestOptions = {}): Promise<string> {
    const body = encode(payload);
    if (body.length > this.options.messageBytesMax)
      throw new RejectedError(
        ErrorCode.tooLarge,
        `payload of ${body.length} bytes exceeds the limit of ${this.options.messageBytesMax}`,
      );
    // The inner request's header, as a single dsat request's (c is required there, unused here).
    const header: { c: number; k?: string; in?: Buffer } = { c: 0 };
    if (options.key !== undefined) header.k = options.key;
    if (options.inputs !== undefined) header.in = inputsBytes(options.inputs);
    const [status, uuid] = await this.call("titanic.request", [
      Buffer.from(type),
      DSAT_MARK,
      encode(header),
      body,
    ]);
    if (status === "200" && uuid !== undefined) return uuid.toString();
    throw new RejectedError(ErrorCode.rejected, `titanic.request: ${uuid?.toString() ?? `status ${status}`}`);
  }

  /**
   * The job's state: pending, or its result. Rejects with NotFoundError for a uuid the
   * orchestrator does not know (or closed), and with the job's error (errorFor) when it failed.
   */
  async reply<Result = unknown>(uuid: string): Promise<TitanicReply<Result>> {
    const [status, ...frames] = await this.call("titanic.reply", [Buffer.from(uuid)]);
    if (status === "300") return { status: "pending" };
    if (status === "400") throw new NotFoundError(ErrorCode.notFound, `no titanic job ${uuid}`, uuid);
    if (status === "500")
      throw errorFor(frames[0]?.toString() ?? ErrorCode.failed, frames[1]?.toString() ?? "", uuid);
    return { status: "ok", result: resultOf(uuid, frames) as Result };
  }

  /** Drops the job's stored result (9/TSP: idempotent). */
  async close(uuid: string): Promise<void> {
    await this.call("titanic.close", [Buffer.from(uuid)]);
  }

  /** One plain MDP request; resolves with the status, then the rest of the reply's body. */
  private async call(service: string, body: Buffer[]): Promise<[string, ...Buffer[]]> {
    const { timeoutMs } = this.options;
    const socket = new Dealer({
      ...curveClientOptions(this.options.curve),
      linger: 0,
      sendTimeout: timeoutMs,
      receiveTimeout: timeoutMs,
      // Replicated orchestrators: only to a connected one (the leader binds the frontend).
      immediate: this.endpoints.length > 1,
    });
    let frames: Buffer[];
    try {
      for (const each of this.endpoints) socket.connect(each);
      await socket.send([EMPTY, MDP_CLIENT, Buffer.from(service), ...body]);
      frames = await socket.receive();
    } catch (error) {
      throw new TimeoutError(
        ErrorCode.timeout,
        `no answer to ${service} within ${timeoutMs} ms: ${(error as Error).message}`,
      );
    } finally {
      socket.close();
    }
    // "", MDPC01, service, status, ... (a new socket: nothing else can arrive on it)
    if (frames.length < 4 || !frames[1].equals(MDP_CLIENT) || frames[2].toString() !== service)
      throw new RejectedError(ErrorCode.malformed, `${service}: the answer is not a 7/MDP reply to it`);
    return [frames[3].toString(), ...frames.slice(4)];
  }
}

/** A result as a dsat satellite sends it (one MessagePack frame), else its raw frames. */
function resultOf(uuid: string, frames: Buffer[]): unknown {
  if (frames.length !== 1) return frames;
  const result = decodeResult(frames[0], uuid);
  if (result instanceof RejectedError) throw result;
  return result;
}
