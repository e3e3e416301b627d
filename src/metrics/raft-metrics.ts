// A replicated orchestrator node's Raft figures (docs/observability.md, "Raft"), read from the node's
// status() on each scrape: one call, every gauge filled from that snapshot. Served by every node,
// leader or not, so a follower that lags or a node that lost its leader shows up in Prometheus.
import { Counter, Gauge, type Registry } from "prom-client";

/** What the metrics read of a node (OrchestratorNode.status(), src/orchestrator/replicated/node.ts). */
export interface RaftNodeStatus {
  role: string;
  term: number;
  leader: string | null;
  commit: number;
  applied: number;
  lag: number;
  serving: boolean;
  health: string;
  leaderships: number;
  book: { unfinished: number; finished: number };
  peers?: Record<string, { match: number; active: boolean }>;
}

export interface RaftStatusSource {
  status(): RaftNodeStatus;
}

/** Every role gets a series (0 or 1), so a role the node is not in reads 0, not "no data". */
export const RAFT_ROLES = ["leader", "follower", "candidate", "pre-candidate"] as const;
export const RAFT_HEALTHS = ["green", "yellow", "red"] as const;

interface GaugeSpec {
  name: string;
  help: string;
  labels?: string[];
  read(status: RaftNodeStatus, set: (labels: Record<string, string>, value: number) => void): void;
}

const flag = (value: boolean) => (value ? 1 : 0);

const GAUGES: readonly GaugeSpec[] = [
  { name: "dsat_raft_term", help: "The node's current Raft term.", read: (s, set) => set({}, s.term) },
  {
    name: "dsat_raft_role",
    help: "1 for the Raft role the node is in (leader, follower, candidate, pre-candidate), 0 for the others.",
    labels: ["role"],
    read: (s, set) => {
      for (const role of RAFT_ROLES) set({ role }, flag(s.role === role));
    },
  },
  {
    name: "dsat_raft_leader",
    help: "1 while this node is the Raft leader, else 0.",
    read: (s, set) => set({}, flag(s.role === "leader")),
  },
  {
    name: "dsat_raft_leader_known",
    help: "1 while the node knows a leader of its term, else 0 (red health).",
    read: (s, set) => set({}, flag(s.leader !== null)),
  },
  {
    name: "dsat_raft_commit_index",
    help: "The last log index the node knows to be committed.",
    read: (s, set) => set({}, s.commit),
  },
  {
    name: "dsat_raft_applied_index",
    help: "The last log index applied to the node's job book.",
    read: (s, set) => set({}, s.applied),
  },
  {
    name: "dsat_raft_commit_lag",
    help: "Committed entries not yet applied on this node.",
    read: (s, set) => set({}, s.lag),
  },
  {
    name: "dsat_raft_peer_match_index",
    help: "On the leader: the last log index known replicated on each peer.",
    labels: ["peer"],
    read: (s, set) => {
      for (const [peer, progress] of Object.entries(s.peers ?? {})) set({ peer }, progress.match);
    },
  },
  {
    name: "dsat_raft_peer_active",
    help: "On the leader: 1 for each peer heard from within an election timeout, else 0.",
    labels: ["peer"],
    read: (s, set) => {
      for (const [peer, progress] of Object.entries(s.peers ?? {})) set({ peer }, flag(progress.active));
    },
  },
  {
    name: "dsat_raft_serving",
    help: "1 while this node's orchestrator serves clients and satellites, else 0.",
    read: (s, set) => set({}, flag(s.serving)),
  },
  {
    name: "dsat_raft_health",
    help: "1 for the node's health (green, yellow, red: as dsat orch status), 0 for the others.",
    labels: ["health"],
    read: (s, set) => {
      for (const health of RAFT_HEALTHS) set({ health }, flag(s.health === health));
    },
  },
  {
    name: "dsat_raft_book_jobs",
    help: "Jobs in the node's replicated job book, by state (unfinished, finished).",
    labels: ["state"],
    read: (s, set) => {
      set({ state: "unfinished" }, s.book.unfinished);
      set({ state: "finished" }, s.book.finished);
    },
  },
];

/**
 * Registers the Raft metrics in `registry`. `view()` gives the status of the scrape under way (null:
 * no node yet, or it could not be read: the metrics are then left out).
 */
export function registerRaftMetrics(registry: Registry, view: () => RaftNodeStatus | null): void {
  for (const spec of GAUGES)
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labels ?? [],
      registers: [registry],
      collect() {
        this.reset();
        const status = view();
        if (status !== null) spec.read(status, (labels, value) => this.set(labels, value));
      },
    });
  new Counter({
    name: "dsat_raft_leaderships_total",
    help: "Leaderships this node has taken up (started serving) since it started.",
    registers: [registry],
    collect() {
      this.reset();
      const status = view();
      if (status !== null && status.leaderships > 0) this.inc(status.leaderships);
    },
  });
}
