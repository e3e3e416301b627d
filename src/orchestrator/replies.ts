// What the orchestrator sends back on its frontend: replies to clients by origin (dsat batch or
// single, plain MDP, published jobs as result events, titanic kept for later) and jobs to satellites
// that take batches. Everything produced between two flushes (the router's takeEffects(), once per
// event-loop turn) leaves together, at most BATCH_FLUSH_ENTRIES entries or BATCH_BYTES_MAX bytes a
// message (docs/protocol.md, "batches").
import {
  BATCH_FLUSH_ENTRIES,
  clientReplyFrames,
  decode,
  type ErrorCodeName,
  encode,
  type JobEntry,
  jobBatchFrames,
  plainClientReplyFrames,
  type ReplyEntry,
  replyBatchFrames,
  withinDepth,
} from "../protocol/index.ts";
import { type Job, NULL_PAYLOAD, type Origin, singleFrame } from "./job.ts";
import type { SatelliteInfo } from "./registry.ts";

/** Results of published jobs up to this size are decoded into their result event; larger ones go as bytes. */
const PUBLISHED_DECODE_BYTES_MAX = 64 * 1024;

/** Payload bytes after which a job or reply batch leaves at once. */
const BATCH_BYTES_MAX = 256 * 1024;

export class FrontendOutbox {
  constructor(
    /** Frames to the frontend: [routing id, ...message] (the router's send effect). */
    private readonly send: (frames: Buffer[]) => void,
    /** Publishes on the events socket (results of published jobs). */
    private readonly publish: (topic: string, fields: Record<string, unknown>) => void,
    /** Results nested deeper are published as bytes, not decoded. */
    private readonly payloadDepthMax: number,
  ) {}

  /** A job for a batch satellite: it leaves with the others of this turn (or at once, when full). */
  queueJob(satellite: SatelliteInfo, entry: JobEntry, payload: Buffer): void {
    satellite.outEntries.push(entry);
    satellite.outPayloads.push(payload);
    satellite.outBytes += payload.length;
    // Bounded in bytes like reply batches: 64 large jobs in one message would be 64 MiB at once.
    if (satellite.outEntries.length >= BATCH_FLUSH_ENTRIES || satellite.outBytes >= BATCH_BYTES_MAX) {
      this.send([satellite.routingId, ...jobBatchFrames(satellite.outEntries, satellite.outPayloads)]);
      satellite.outEntries = [];
      satellite.outPayloads = [];
      satellite.outBytes = 0;
      return;
    }
    if (satellite.outEntries.length === 1) this.satellitesToFlush.push(satellite);
  }

  /** The result of `job` to its current origin. */
  replyOk(job: Pick<Job, "id" | "firstType" | "raw" | "origin">, frames: Buffer[]): void {
    const origin = job.origin;
    if (origin.kind === "mdp") {
      // Plain MDP clients get the body frames as the worker sent them.
      this.send([origin.route, ...plainClientReplyFrames(origin.service, frames)]);
      return;
    }
    const result = singleFrame(frames);
    switch (origin.kind) {
      case "batch":
        this.queueReply(origin.route, [origin.correlation, job.id, "ok", result.length, null], result);
        return;
      case "dsat":
        this.send([
          origin.route,
          ...clientReplyFrames(origin.service, { c: origin.correlation, id: job.id, s: "ok" }, result),
        ]);
        return;
      case "titanic":
        return; // kept in the journal for titanic.reply
      case "publish": {
        let value: unknown = result;
        // Decoded only to publish it in the event; a result nested too deep stays bytes.
        // Large results are published as bytes too: decoding a hostile megabyte costs ~100 ms.
        if (
          !job.raw &&
          result.length <= PUBLISHED_DECODE_BYTES_MAX &&
          withinDepth(result, this.payloadDepthMax)
        ) {
          try {
            value = decode(result);
          } catch {
            value = result;
          }
        }
        this.publish(`result.${job.firstType}`, {
          id: job.id,
          type: job.firstType,
          status: "ok",
          result: value,
        });
        return;
      }
    }
  }

  /** An error reply to `origin`; `type` names the result topic of a published job. */
  replyError(origin: Origin, jobId: string, code: ErrorCodeName, message: string, type?: string): void {
    switch (origin.kind) {
      case "batch":
        this.queueReply(
          origin.route,
          [origin.correlation, jobId, code, NULL_PAYLOAD.length, message],
          NULL_PAYLOAD,
        );
        return;
      case "dsat":
        this.send([
          origin.route,
          ...clientReplyFrames(
            origin.service,
            { c: origin.correlation, id: jobId, s: code, e: message },
            encode(null),
          ),
        ]);
        return;
      case "mdp":
        // Plain MDP clients get a two-frame error body: the code and the message.
        this.send([
          origin.route,
          ...plainClientReplyFrames(origin.service, [Buffer.from(code), Buffer.from(message)]),
        ]);
        return;
      case "titanic":
        return;
      case "publish":
        this.publish(`result.${type ?? "unknown"}`, {
          id: jobId,
          type: type ?? "unknown",
          status: code,
          error: message,
        });
        return;
    }
  }

  private readonly replyOutboxes = new Map<
    string,
    { route: Buffer; entries: ReplyEntry[]; payloads: Buffer[]; bytes: number }
  >();
  private readonly satellitesToFlush: SatelliteInfo[] = [];

  /** A reply entry for a dsat client's next reply batch. */
  queueReply(route: Buffer, entry: ReplyEntry, payload: Buffer): void {
    const key = route.toString("latin1");
    let outbox = this.replyOutboxes.get(key);
    if (outbox === undefined)
      this.replyOutboxes.set(key, (outbox = { route, entries: [], payloads: [], bytes: 0 }));
    outbox.entries.push(entry);
    outbox.payloads.push(payload);
    outbox.bytes += payload.length;
    // Bounded in bytes too: a message's size is what a slow reader's queue holds, HWM times over.
    if (outbox.entries.length >= BATCH_FLUSH_ENTRIES || outbox.bytes >= BATCH_BYTES_MAX) {
      this.replyOutboxes.delete(key);
      this.send([route, ...replyBatchFrames(outbox.entries, outbox.payloads)]);
    }
  }

  /** Sends everything queued since the last flush (the router's takeEffects()). */
  flush(): void {
    // Called at the end of every turn, most of which queued nothing.
    if (this.satellitesToFlush.length === 0 && this.replyOutboxes.size === 0) return;
    for (const satellite of this.satellitesToFlush) {
      const entries = satellite.outEntries;
      if (entries.length === 0) continue;
      const payloads = satellite.outPayloads;
      satellite.outEntries = [];
      satellite.outPayloads = [];
      satellite.outBytes = 0;
      this.send([satellite.routingId, ...jobBatchFrames(entries, payloads)]);
    }
    this.satellitesToFlush.length = 0;
    for (const outbox of this.replyOutboxes.values()) {
      this.send([outbox.route, ...replyBatchFrames(outbox.entries, outbox.payloads)]);
    }
    this.replyOutboxes.clear();
  }

  /** A bare status answer (8/MMI's "200", "404", "501") to a request that had no job id. */
  replyStatus(origin: Origin, answer: string): void {
    if (origin.kind === "batch") {
      const reply = encode(answer);
      this.queueReply(origin.route, [origin.correlation, "", "ok", reply.length, null], reply);
    } else if (origin.kind === "dsat") {
      this.send([
        origin.route,
        ...clientReplyFrames(origin.service, { c: origin.correlation, id: "", s: "ok" }, encode(answer)),
      ]);
    } else if (origin.kind === "mdp") {
      this.send([origin.route, ...plainClientReplyFrames(origin.service, [Buffer.from(answer)])]);
    }
  }
}
