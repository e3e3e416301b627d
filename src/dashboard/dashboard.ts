// `dsat dashboard` as a library: connects to an orchestrator's events and control sockets, keeps the
// aggregated state, and serves the page. A separate process from the orchestrator: it costs the
// orchestrator one status request per tick and one events subscriber.
import type { CurveOptions } from "../security/index.ts";
import { Aggregator } from "./aggregator.ts";
import { JobRing, type JobRingOptions } from "./job-ring.ts";
import { checkListenReach, DashboardError, parseListen } from "./listen.ts";
import type { StatusReply } from "./model.ts";
import { type OrchestratorNodeEndpoint, pollOrchestratorNodes } from "./orchestrator-nodes.ts";
import { pageHtml } from "./page.ts";
import { type AdminAction, DashboardHttp } from "./server.ts";
import { ControlLink, EventsFeed } from "./sources.ts";

export interface DashboardOptions {
  /** The orchestrator's control endpoint (connect address; replicated: every node's, comma-separated). */
  control: string;
  /** The orchestrator's events endpoint (connect address; replicated: every node's, comma-separated). */
  events: string;
  /** Replicated orchestrators: each node's admin socket, asked `orch-status` every tick. */
  orchestrators?: readonly OrchestratorNodeEndpoint[];
  /** CURVE keys for a secured topology (status and events). */
  curve?: CurveOptions;
  /** An admin key, for admin actions and the job lookup; `curve` when absent. */
  adminCurve?: CurveOptions;
  /** "host:port" (default 127.0.0.1:8090; port 0: any free port). */
  listen?: string;
  /** Admin actions (drain, undrain, retry) need this token; none: read-only. */
  adminToken?: string;
  /** Let it listen on a non-loopback address without a token. */
  insecureListen?: boolean;
  /** How often the page is updated and status polled, ms (default 1000). */
  intervalMs?: number;
  /** Ticks of history per type (default 300). */
  historyPoints?: number;
  ring?: JobRingOptions;
  log?: (line: string) => void;
  now?: () => number;
}

export const DEFAULT_LISTEN = "127.0.0.1:8090";

export class Dashboard {
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private pollingNodes = false;
  private closed = false;

  private constructor(
    readonly aggregator: Aggregator,
    readonly ring: JobRing,
    private readonly feed: EventsFeed,
    private readonly control: ControlLink,
    private readonly http: DashboardHttp,
    private readonly now: () => number,
    private readonly nodes: readonly OrchestratorNodeEndpoint[],
    private readonly intervalMs: number,
  ) {}

  /** Listens first (a taken port fails before any socket connects), then connects and starts ticking. */
  static async start(options: DashboardOptions): Promise<Dashboard> {
    const log = options.log ?? (() => {});
    const now = options.now ?? Date.now;
    const intervalMs = options.intervalMs ?? 1000;
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 100 || intervalMs > 60_000)
      throw new DashboardError(`dashboard: interval: expected 100 to 60000 ms, got ${intervalMs}`);
    if (options.adminToken !== undefined && options.adminToken.length < 16)
      throw new DashboardError("dashboard: the admin token must be at least 16 characters");
    const listenText = options.listen ?? DEFAULT_LISTEN;
    const address = parseListen(listenText);
    const warning = checkListenReach(
      address,
      listenText,
      options.adminToken !== undefined,
      options.insecureListen === true,
    );
    if (warning !== null) log(`warning: ${warning}`);
    const ring = new JobRing(options.ring);
    const aggregator = new Aggregator({ now, ring, intervalMs, historyPoints: options.historyPoints });
    const control = new ControlLink({
      endpoint: options.control,
      curve: options.curve,
      adminCurve: options.adminCurve,
    });
    const admin = options.adminToken !== undefined;
    let dashboard: Dashboard | null = null;
    const http: DashboardHttp = await DashboardHttp.listen(
      { address, adminToken: options.adminToken, log },
      {
        page: () => pageHtml(),
        snapshot: () => aggregator.snapshot(admin),
        job: (id) => (dashboard as Dashboard).job(id),
        admin: (action) => (dashboard as Dashboard).admin(action),
        health: (): unknown => ({
          eventsSeen: aggregator.eventsSeen,
          malformed: feed.malformed,
          streams: http.streamCount,
          ring: { jobs: ring.size, bytes: ring.bytes },
        }),
      },
    ).catch((error: unknown) => {
      throw new DashboardError(`dashboard: cannot listen on ${listenText}: ${(error as Error).message}`);
    });
    const feed = new EventsFeed(options.events, options.curve, (topic, fields) =>
      aggregator.onEvent(topic, fields),
    );
    dashboard = new Dashboard(
      aggregator,
      ring,
      feed,
      control,
      http,
      now,
      options.orchestrators ?? [],
      intervalMs,
    );
    dashboard.poll();
    dashboard.timer = setInterval(() => dashboard?.tickNow(), intervalMs);
    return dashboard;
  }

  get url(): string {
    return this.http.url;
  }

  /** One tick: the delta to every page, then the next status poll (so the next tick has it). */
  tickNow(): void {
    if (this.closed) return;
    this.http.broadcast("delta", this.aggregator.tick());
    this.poll();
  }

  private poll(): void {
    this.pollNodes();
    if (this.polling || this.closed) return;
    this.polling = true;
    const requestedAt = this.now();
    this.control
      .status()
      .then((reply) => {
        if (this.closed) return;
        const status = reply as StatusReply & { error?: string };
        if (status.ok === false) this.aggregator.onControlError(`status refused: ${status.error ?? "?"}`);
        else this.aggregator.onStatus(status, requestedAt);
      })
      .catch((error: unknown) => this.aggregator.onControlError((error as Error).message))
      .finally(() => {
        this.polling = false;
      });
  }

  /** Each replicated node's orch-status; a node that does not answer within the tick (at most 2 s) is unreachable. */
  private pollNodes(): void {
    if (this.nodes.length === 0 || this.pollingNodes || this.closed) return;
    this.pollingNodes = true;
    pollOrchestratorNodes(this.nodes, Math.min(2000, Math.max(500, this.intervalMs)))
      .then((rows) => {
        if (!this.closed) this.aggregator.onOrchestrators(rows);
      })
      .finally(() => {
        this.pollingNodes = false;
      });
  }

  /** The job search: its events kept here, and what the orchestrator still knows of it. */
  async job(id: string): Promise<unknown> {
    const kept = this.ring.get(id);
    let orchestrator: unknown = null;
    let orchestratorError: string | null = null;
    try {
      const reply = (await this.control.admin({ cmd: "jobs", id, limit: 1 })) as {
        ok?: boolean;
        jobs?: Array<{ id?: string }>;
        error?: string;
      };
      if (reply.ok === false) orchestratorError = reply.error ?? "refused";
      else orchestrator = reply.jobs?.find((job) => job.id === id) ?? null;
    } catch (error) {
      orchestratorError = (error as Error).message;
    }
    return {
      id,
      inWindow: kept !== null,
      events: kept?.events ?? [],
      dropped: kept?.dropped ?? 0,
      window: { jobs: this.ring.size, jobsMax: this.ring.jobsMax, oldestAt: this.ring.oldestAt },
      orchestrator,
      orchestratorError,
    };
  }

  async admin(action: AdminAction): Promise<{ status: number; body: unknown }> {
    const request =
      action.action === "retry"
        ? { cmd: "retry", id: action.id }
        : { cmd: action.action, target: action.target };
    try {
      const reply = (await this.control.admin(request)) as { ok?: boolean };
      if (reply.ok === true) this.poll();
      return { status: reply.ok === true ? 200 : 409, body: reply };
    } catch (error) {
      return { status: 502, body: { ok: false, error: (error as Error).message } };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.http.close();
    await this.feed.close();
  }
}

export function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  return Dashboard.start(options);
}
