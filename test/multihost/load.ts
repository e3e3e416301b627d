// Steady load for the multi-host scenarios: `workers` loops each send one `work` job at a time until
// stop() or `maxJobs` sent, and every answer is kept with the host that ran it. Times are this
// process's own clock (performance.now), never a peer's.
import { performance } from "node:perf_hooks";
import type { Client, OrchestratorEvent } from "../../src/client/index.ts";

export interface Answer {
  n: number;
  host: string;
  attempt: number;
  sentAt: number;
  answeredAt: number;
}

export class Load {
  readonly answers: Answer[] = [];
  readonly failures: Array<{ n: number; error: string }> = [];
  /** Jobs answered with another job's payload (a result delivered to the wrong request). */
  readonly wrong: number[] = [];
  /** Replies for requests no longer waiting (a second answer to one job would land here). */
  orphans = 0;
  sent = 0;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly client: Client,
    private readonly options: { workers: number; jobMs: number; maxJobs: number },
  ) {
    client.on("reply:orphan", () => this.orphans++);
  }

  start(): void {
    for (let i = 0; i < this.options.workers; i++) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.sent < this.options.maxJobs) {
      const n = this.sent++;
      const sentAt = performance.now();
      try {
        const result = await this.client.request<{ host: string; n: number; attempt: number }>(
          "work",
          { ms: this.options.jobMs, n },
          { timeoutMs: 30_000 },
        );
        if (result.n !== n) this.wrong.push(n);
        this.answers.push({
          n,
          host: result.host,
          attempt: result.attempt,
          sentAt,
          answeredAt: performance.now(),
        });
      } catch (error) {
        this.failures.push({ n, error: (error as Error).message });
      }
    }
  }

  /** Stops sending; resolves once every job sent is answered or failed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Answers from `hosts` to jobs sent after `since`. */
  answeredBy(hosts: readonly string[], since = 0): Answer[] {
    return this.answers.filter((a) => hosts.includes(a.host) && a.sentAt >= since);
  }
}

/** Events as they arrive, each with this process's arrival time. */
export class EventLog {
  readonly events: Array<OrchestratorEvent & { receivedAt: number }> = [];
  private readonly done: Promise<void>;

  constructor(client: Client) {
    this.done = (async () => {
      for await (const event of client.events(""))
        this.events.push({ ...event, receivedAt: performance.now() });
    })().catch(() => {});
  }

  /** Events on `topic` (exact, or a prefix ending in ".") about `satellite` (when given), after `since`. */
  find(topic: string, satellite?: string, since = 0): Array<OrchestratorEvent & { receivedAt: number }> {
    return this.events.filter(
      (e) =>
        (topic.endsWith(".") ? e.topic.startsWith(topic) : e.topic === topic) &&
        (satellite === undefined || e.satellite === satellite) &&
        e.receivedAt >= since,
    );
  }

  async closed(): Promise<void> {
    await this.done;
  }
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
  return performance.now();
}
