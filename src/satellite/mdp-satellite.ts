// A satellite in "mdp" mode: the same handler, served as plain 7/MDP workers, so it runs behind
// any Majordomo broker (docs/protocol.md, "Foreign Majordomo brokers").
//
// MDP gives a worker one service and one request at a time, so the satellite opens one worker
// connection (DEALER) per job type and unit of `concurrency`: type ["a", "b"] with concurrency 2
// is four MDP workers. Nothing is queued here: a broker only sends to an idle worker.
import { satelliteLog } from "../log/index.ts";
import { ErrorCode, parseJobAddress } from "../protocol/index.ts";
import type { JobContext, SatelliteDefinition, SatelliteOptions } from "./definition.ts";
import { errorBody, requestPayload, resultBody } from "./mdp-body.ts";
import { MdpWorker } from "./mdp-worker.ts";
import { exitAfterDrainOnSignals } from "./process-signals.ts";

/** Most worker connections per job type (`concurrency` in mdp mode): each is a socket. */
export const MDP_WORKERS_PER_TYPE_MAX = 256;

export class MdpSatelliteRuntime {
  private readonly workers: MdpWorker[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private unhookSignals: (() => void) | null = null;
  private stopped = false;
  private sequence = 0;
  private readonly heartbeatMs: number;
  private readonly log: (message: string) => void;
  /** Counters for tests and status (the dsat runtime's, plus `dropped`). */
  readonly counters = { jobs: 0, done: 0, errors: 0, reconnects: 0, cancelled: 0, dropped: 0 };

  constructor(
    private readonly definition: SatelliteDefinition,
    private readonly options: SatelliteOptions,
  ) {
    const types = Array.isArray(definition.type) ? definition.type : [definition.type];
    const concurrency = definition.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MDP_WORKERS_PER_TYPE_MAX) {
      throw new RangeError(
        `satellite ${options.id}: in mdp mode concurrency is the number of MDP workers per job type (one socket each), an integer in 1..${MDP_WORKERS_PER_TYPE_MAX}; got ${concurrency}`,
      );
    }
    this.heartbeatMs = options.heartbeatMs ?? 2500;
    const liveness = options.heartbeatLiveness ?? 3;
    if (!(this.heartbeatMs >= 10 && this.heartbeatMs <= 3_600_000) || !(liveness >= 1 && liveness <= 100)) {
      throw new RangeError(
        `satellite ${options.id}: heartbeatMs must be in 10..3600000 and heartbeatLiveness in 1..100; got ${this.heartbeatMs} and ${liveness}`,
      );
    }
    this.log = options.log ?? satelliteLog(options.id);
    for (const type of types) {
      for (let i = 0; i < concurrency; i++) {
        const worker = new MdpWorker(
          {
            endpoint: options.endpoint,
            service: type,
            heartbeatMs: this.heartbeatMs,
            heartbeatLiveness: liveness,
            reconnectMs: options.reconnectMs ?? 250,
            reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
            curve: options.curve,
            log: this.log,
          },
          (body, address, signal) => this.run(type, body, address, signal),
          this.counters,
        );
        this.workers.push(worker);
      }
    }
  }

  /** Connects every worker and sends READY; resolves at once (the broker may not be up yet). */
  async start(): Promise<void> {
    for (const worker of this.workers) worker.start();
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      for (const worker of this.workers) worker.tick(now);
    }, this.heartbeatMs);
    this.heartbeatTimer.unref?.();
    if (this.options.handleSignals) {
      this.unhookSignals = exitAfterDrainOnSignals(() => this.drain());
    }
    process.send?.("ready");
  }

  /** Requests running now (at most one per worker). */
  get inFlight(): number {
    return this.workers.filter((worker) => worker.busy).length;
  }

  /** Runs one request through the handler; never rejects (errors become the two-frame error body). */
  private async run(type: string, body: Buffer[], address: Buffer, signal: AbortSignal): Promise<Buffer[]> {
    const decoded = requestPayload(body);
    if (!decoded.ok) {
      this.counters.errors++;
      return decoded.error;
    }
    // Behind the dsat orchestrator the address is "<job id>#<attempt>"; a foreign broker's is the
    // client's routing id, which names no job.
    const job = parseJobAddress(address);
    const id = job?.jobId ?? `${this.options.id}-${++this.sequence}`;
    const context: JobContext = {
      id,
      satelliteId: this.options.id,
      type,
      key: undefined,
      attempt: job?.attempt ?? 1,
      deadline: undefined,
      signal,
      progress: () => {}, // 7/MDP has no progress command
      log: (message) => this.log(`[job ${id}] ${message}`),
    };
    let result: unknown;
    try {
      result = await this.definition.handle(decoded.payload, context);
    } catch (error) {
      this.counters.errors++;
      return errorBody(ErrorCode.failed, error instanceof Error ? error.message : String(error));
    }
    try {
      const reply = resultBody(result);
      this.counters.done++;
      return reply;
    } catch (error) {
      this.counters.errors++;
      return errorBody(ErrorCode.failed, `result cannot be encoded: ${(error as Error).message}`);
    }
  }

  /**
   * Graceful drain: idle workers say DISCONNECT at once, busy ones after their reply (up to
   * `timeoutMs`, then they are stopped), then every socket closes.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    if (this.stopped) return;
    this.log(`draining ${this.inFlight} request(s)`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.workers.map((worker) => worker.drain())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    // Give the DISCONNECTs and last replies a moment to leave before closing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.stop();
  }

  /** Stops at once: running requests are aborted and get no reply. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.unhookSignals?.();
    for (const worker of this.workers) worker.stop();
  }
}
