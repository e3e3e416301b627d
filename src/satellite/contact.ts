// What a satellite's log says about its contact with the orchestrator. libzmq reconnects by itself
// (every 100 ms while there is no connection) and the runtime reconnects on silence, both quietly;
// on another host, behind a partition, that looks like a satellite doing nothing. So: one line once
// the orchestrator has not been heard for `silentBeats` heartbeats, again after twice as long, and
// so on (at most one a minute), and one line when it is heard again. Times are this process's own
// clock only: nothing here compares them with a peer's.

export interface ContactOptions {
  /** The orchestrator's endpoint, for the log lines. */
  endpoint: string;
  heartbeatMs: number;
  /** Heartbeats of silence before the first line. */
  silentBeats: number;
  log: (message: string) => void;
}

/** Longest gap between two "no word" lines, ms. */
const REPORT_GAP_MAX_MS = 60_000;

export class OrchestratorContact {
  private lastHeardMs: number;
  private reports = 0;
  private nextReportMs: number;

  constructor(
    private readonly options: ContactOptions,
    nowMs: number,
  ) {
    this.lastHeardMs = nowMs;
    this.nextReportMs = nowMs + this.thresholdMs;
  }

  private get thresholdMs(): number {
    return this.options.heartbeatMs * this.options.silentBeats;
  }

  /** Silent for this long (0 right after a message). */
  silentMs(nowMs: number): number {
    return Math.max(0, nowMs - this.lastHeardMs);
  }

  /** Whether the "no word" line has been logged for the current silence. */
  get reportedSilent(): boolean {
    return this.reports > 0;
  }

  /** Anything came from the orchestrator. */
  heard(nowMs: number): void {
    if (this.reports > 0) {
      this.options.log(
        `orchestrator at ${this.options.endpoint} heard again after ${this.silentMs(nowMs)} ms of silence`,
      );
      this.reports = 0;
    }
    this.lastHeardMs = nowMs;
    this.nextReportMs = nowMs + this.thresholdMs;
  }

  /** Every heartbeat interval; `connected`: libzmq has a connection to the orchestrator now. */
  tick(nowMs: number, connected: boolean): void {
    if (nowMs < this.nextReportMs) return;
    const silentMs = this.silentMs(nowMs);
    const beats = Math.floor(silentMs / this.options.heartbeatMs);
    this.options.log(
      `no word from the orchestrator at ${this.options.endpoint} for ${silentMs} ms (${beats} heartbeats); ` +
        (connected
          ? "connected, waiting for it to answer"
          : "no connection: still trying (libzmq reconnects every 100 ms)"),
    );
    this.reports++;
    this.nextReportMs = nowMs + Math.min(silentMs, REPORT_GAP_MAX_MS);
  }
}
