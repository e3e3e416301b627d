// The dashboard's two links to the orchestrator: its events socket (SUB to the XPUB) and its control
// socket (one request per poll or admin action, through the client's controlRequest). CURVE keys as
// the other CLI commands take them (curveFromEnv; admin actions with the admin key).
import { Subscriber } from "zeromq";
import { type ControlCommandRequest, controlRequest } from "../client/index.ts";
import { decode } from "../protocol/index.ts";
import { type CurveOptions, curveClientOptions } from "../security/index.ts";
import { endpointList } from "../transport/index.ts";

/** The prefixes the dashboard subscribes to: jobs, results of published jobs, satellites. */
export const EVENT_PREFIXES = ["job.", "result.", "satellite."] as const;

/** Events queued in the SUB socket before libzmq drops (a burst the dashboard catches up on). */
const RECEIVE_HWM = 200_000;

/** Reads the events socket until closed, handing each event to `onEvent`; undecodable ones are counted. */
export class EventsFeed {
  private readonly subscriber: Subscriber;
  private readonly done: Promise<void>;
  malformed = 0;

  constructor(
    endpoint: string,
    curve: CurveOptions | undefined,
    onEvent: (topic: string, fields: Record<string, unknown>) => void,
  ) {
    this.subscriber = new Subscriber({
      ...curveClientOptions(curve),
      linger: 0,
      receiveHighWaterMark: RECEIVE_HWM,
    });
    // Replicated orchestrators: every node's events socket (a comma-separated list); only the
    // leader's is bound, and the SUB reconnects to whichever node binds next.
    for (const each of endpointList(endpoint)) this.subscriber.connect(each);
    for (const prefix of EVENT_PREFIXES) this.subscriber.subscribe(prefix);
    this.done = this.read(onEvent);
  }

  private async read(onEvent: (topic: string, fields: Record<string, unknown>) => void): Promise<void> {
    try {
      for await (const [topic, body] of this.subscriber) {
        let fields: unknown;
        try {
          fields = body === undefined ? {} : decode(body);
        } catch {
          this.malformed++;
          continue;
        }
        if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
          this.malformed++;
          continue;
        }
        onEvent(topic.toString(), fields as Record<string, unknown>);
      }
    } catch (error) {
      // Closing the socket ends the loop with an error: that is the normal way out.
      if (!this.subscriber.closed) throw error;
    }
  }

  async close(): Promise<void> {
    if (!this.subscriber.closed) this.subscriber.close();
    await this.done.catch(() => {});
  }
}

export interface ControlLinkOptions {
  endpoint: string;
  /** Keys for status polls (any allow-listed key). */
  curve?: CurveOptions;
  /** Keys for admin actions and the job lookup (an admin key); `curve` when absent. */
  adminCurve?: CurveOptions;
  timeoutMs?: number;
}

/** One control request at a time per purpose; replies as the orchestrator sends them. */
export class ControlLink {
  constructor(private readonly options: ControlLinkOptions) {}

  status(): Promise<unknown> {
    return controlRequest(
      this.options.endpoint,
      "status",
      this.options.timeoutMs ?? 3000,
      this.options.curve,
    );
  }

  admin(request: ControlCommandRequest): Promise<unknown> {
    return controlRequest(
      this.options.endpoint,
      request,
      this.options.timeoutMs ?? 3000,
      this.options.adminCurve ?? this.options.curve,
    );
  }
}
