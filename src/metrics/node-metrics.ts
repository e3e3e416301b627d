// The metrics of a replicated orchestrator node (docs/observability.md, "A replicated node"): one
// scrape endpoint for the node's whole life. Its own registry holds the Raft gauges and the process
// metrics; while the node serves, the orchestrator's metrics (OrchestratorMetrics, a registry of
// their own) follow the orchestrator instance of that leadership: attached when it starts serving,
// closed when it stops. A scrape is the node's text followed by the orchestrator's.
import { collectDefaultMetrics, Registry } from "prom-client";
import {
  type MetricsOptions,
  type MetricsSourceConfig,
  OrchestratorMetrics,
} from "./orchestrator-metrics.ts";
import { type RaftNodeStatus, type RaftStatusSource, registerRaftMetrics } from "./raft-metrics.ts";
import type { MetricsSource } from "./scrape-view.ts";

export type ServedOrchestrator = MetricsSource & MetricsSourceConfig;

export class NodeMetrics {
  readonly registry = new Registry();
  private node: RaftStatusSource | null = null;
  private orchestrator: OrchestratorMetrics | null = null;
  private view: RaftNodeStatus | null = null;
  private closed = false;
  private readonly log: (line: string) => void;
  private statusFailed = false;

  constructor(private readonly options: MetricsOptions = {}) {
    this.log = options.log ?? (() => {});
    registerRaftMetrics(this.registry, () => this.view);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The node whose Raft status the gauges read (set once it exists). */
  follow(node: RaftStatusSource): void {
    this.node = node;
  }

  /**
   * The node's orchestrator started serving (attach its metrics) or is about to stop (null: detach).
   * An arrow function, to be passed as OrchestratorNode's `onServing` as it is.
   */
  readonly serving = (orchestrator: ServedOrchestrator | null): void => {
    this.orchestrator?.close();
    this.orchestrator = null;
    if (orchestrator !== null && !this.closed)
      this.orchestrator = new OrchestratorMetrics(orchestrator, { ...this.options, processMetrics: false });
  };

  /** Whether an orchestrator's metrics are attached (the node serves). */
  get attached(): boolean {
    return this.orchestrator !== null;
  }

  /** The node's Raft and process metrics, then, while it serves, its orchestrator's. */
  async scrape(): Promise<string> {
    this.view = this.readStatus();
    const orchestrator = this.orchestrator;
    try {
      const own = await this.registry.metrics();
      return orchestrator === null ? own : own + (await orchestrator.scrape());
    } finally {
      this.view = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Detaches the orchestrator's metrics and empties the registry. */
  close(): void {
    this.closed = true;
    this.serving(null);
    this.registry.clear();
  }

  private readStatus(): RaftNodeStatus | null {
    if (this.node === null) return null;
    try {
      const status = this.node.status();
      this.statusFailed = false;
      return status;
    } catch (error) {
      if (!this.statusFailed) this.log(`metrics: cannot read the node's status: ${(error as Error).message}`);
      this.statusFailed = true;
      return null;
    }
  }
}
