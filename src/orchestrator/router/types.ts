// The router's inputs (events), outputs (effects), the ports it is given and its status snapshot
// (docs/router.md has them as tables).
import type { CompletedRecord, JournalRecord, OperatorRecord, UnfinishedJob } from "../../journal/core.ts";
import type { TypeStats } from "../../tracker/index.ts";
import type { AdmissionContext } from "../admission.ts";
import type { JobSpill } from "../job-spill.ts";

export type RouterEvent =
  /** A message on the frontend ROUTER: [routing id, ...frames] (decoded here: frontend.ts of protocol). */
  | { kind: "frontend"; frames: Buffer[] }
  /** A message on the intake XSUB: [type, payload] or [type, header, payload]. */
  | { kind: "intake"; frames: Buffer[] }
  /** libzmq could not route a message to this peer: its connection is gone. */
  | { kind: "peer-gone"; route: Buffer }
  /** A message we sent that libzmq could not deliver (jobs in it never reached their satellite). */
  | { kind: "undelivered"; frames: Buffer[] }
  /** Heartbeats, liveness, the tracker's timers; every tickPeriodMs. */
  | { kind: "tick" }
  /** While the recovery window is open, often (RECOVERY_POLL_MS): replayed jobs whose satellites are back go. */
  | { kind: "recovery-poll" }
  /** The journal as replayed at start (before `bound`). */
  | {
      kind: "recovered";
      unfinished: readonly UnfinishedJob[];
      /** Oldest first (completion order). */
      finished: Iterable<readonly [string, CompletedRecord]>;
      appendedSeq: number;
      records: number;
      /** Records whose checksum held but which did not decode (skipped, logged). */
      badRecords: number;
      /** Operators' decisions in force (drains, score locks, live settings), oldest first. */
      operator?: readonly OperatorRecord[];
    }
  /** The sockets are bound: satellites and clients can reach us. */
  | { kind: "bound" }
  /** A compaction rewrote the live records after the last one: they took this many seqs. */
  | { kind: "journal-compacted"; records: number }
  /** A group commit landed: every record up to committedSeq is on disk. */
  | { kind: "journal-committed"; committedSeq: number }
  /** The journal cannot make records durable (a write or fsync failed). */
  /** `notLeader`: a replicated journal whose node lost its leadership (refusals say NOT_LEADER). */
  | { kind: "journal-failed"; error: string; notLeader?: boolean }
  /** probe() wrote every kept record: the journal works again. */
  | { kind: "journal-resumed"; committedSeq: number; downMs: number }
  /**
   * `dsat drain TARGET` / `dsat undrain TARGET` (control, admin): the satellites TARGET names (an
   * id, or a location: "r1", "rack=r1") take no new jobs, also those that register later, until
   * undrained. step() returns the satellites it names now.
   */
  | { kind: "drain"; target: string; drain: boolean }
  /** `dsat retry ID` (control, admin): step() returns the answer. */
  | { kind: "retry"; id: string }
  /**
   * `dsat score lock TARGET N` / `unlock TARGET` (control, admin; router/scores.ts): `score` null
   * releases the lock. step() returns the satellites it names now.
   */
  | { kind: "score-lock"; target: string; score: number | null }
  /**
   * `dsat config set KEY VALUE` (control, admin; router/live-config.ts): a setting that changes
   * without a restart, already checked against the topology's schema by the shell. step() answers.
   */
  | { kind: "config-set"; key: string; value: unknown }
  /** `dsat cache flush`: placement caches forgotten after an external change. */
  | { kind: "cache-flush" }
  /**
   * `dsat rebalance` (control, admin; router/rebalance.ts): queued keyed jobs whose first placeable
   * candidate changed move to it, at most `maxMoves` (null: all). step() returns the moves.
   */
  | { kind: "rebalance"; maxMoves: number | null };

export type RouterEffect =
  /** Frames to the frontend ROUTER: [routing id, ...message]. */
  | { kind: "send"; frames: Buffer[] }
  /** An event on the events socket (and to in-process listeners). */
  | { kind: "publish"; topic: string; fields: Record<string, unknown> }
  /** Append a record to the journal; it gets `seq` (the router counts like the journal). */
  | { kind: "journal-append"; seq: number; record: JournalRecord }
  /** Start a group commit; answer with journal-committed or journal-failed. */
  | { kind: "journal-commit" }
  /** A line for the operator's log. */
  | { kind: "log"; line: string }
  /**
   * A finished span of a traced job (router/trace.ts), a child of the client's `traceparent`;
   * times in epoch ms (the router's clock). Only jobs that came with a traceparent have any.
   */
  | {
      kind: "span";
      traceparent: string;
      name: string;
      startMs: number;
      endMs: number;
      attributes: SpanAttributes;
    };

/** A span's attributes: `dsat.job.id`, `dsat.satellite` ... */
export type SpanAttributes = Record<string, string | number>;

/** What the router is given instead of doing I/O or drawing randomness itself. */
export interface RouterPorts {
  /** The tracker's jitter in [0, 1): the runtime's generator, or a seeded one in simulations. */
  random(): number;
  /** Unpredictable bytes: CURVE challenge nonces, Titanic job ids (crypto's randomBytes). */
  randomBytes(bytes: number): Buffer;
  /** Prefix of job ids the router makes up (unique per orchestrator process). */
  instance: string;
  /** Bytes of replies the frontend writer holds for a peer that is not reading (slow readers). */
  peerBacklogBytes(route: Buffer): number;
  /** Where jobs wait for a slot: the waiting room, or the disk spill (storage, injected). */
  spill: JobSpill;
  /** The CURVE side of satellite admission (null without security). */
  curve(): AdmissionContext["curve"];
}

export interface RouterCounters {
  malformed: { frontend: number; intake: number; control: number; events: number };
  tooLarge: number;
  lateResults: number;
  dropped: number;
  satellitesLost: number;
  /** READYs refused (reserved or undeclared types, bounds, keys); security ones are also counted below. */
  satellitesRefused: number;
  /** Satellite processes that reconnected and carried on with their jobs (same id and incarnation). */
  satellitesResumed: number;
  security: {
    /** Handshakes refused (ZAP: unknown key or mechanism; plain peers on a CURVE socket). */
    refused: number;
    /** Satellites refused at READY for their key (missing, unproven, not allowed for a type). */
    satelliteKeyRefused: number;
    /** Peers blocked for sending too many malformed messages, and messages dropped from them. */
    peersBlocked: number;
    droppedWhileBlocked: number;
    /** Requests refused with OVERLOADED for a client's in-flight limit. */
    clientInFlightRefused: number;
    /** Requests naming another client's job id (answered DSAT_ERR_NOT_FOUND). */
    foreignJobRefused: number;
    /** Requests refused OVERLOADED for the client's bytes in flight (limits.clientBytesMax). */
    clientBytesRefused: number;
    /** Requests refused OVERLOADED because the client was not reading its replies. */
    slowReaderRefused: number;
    /** Control requests refused for their sender's role or signature (DSAT_ERR_FORBIDDEN). */
    controlRefused: number;
    /** Times every events subscriber was dropped for the subscription caps (event-subscriptions.ts). */
    eventSubscribersDropped: number;
  };
  /** Requests naming a job id already live (attached to it) or finished (answered from the journal). */
  resubmissions: { attached: number; answered: number };
  /** Jobs replayed from the journal at start. */
  recovered: number;
  /** Times this process's own event loop stalled past a heartbeat (noticeOwnStall). */
  ownStalls: number;
  /** Jobs refused a place in the waiting room for its byte budget (limits.waitingBytesMax). */
  waitingRoomFull: number;
  /** Jobs refused OVERLOADED for the bytes all jobs hold (limits.jobsBytesMax). */
  bytesRefused: number;
  /** Finished jobs forgotten past retentionMs or finishedMax (the journal's compaction drops them). */
  finishedExpired: number;
  /** Requests whose traceparent was not valid W3C trace context: dropped, the job ran untraced. */
  tracesDropped: number;
  /** HEARTBEAT load frames ignored for their shape or values (router/scores.ts). */
  badLoads: number;
  /**
   * Jobs with inputs, by how near them each was sent (router/locality.ts): a replica on its host
   * (local), in its rack, or neither; and their inputs counted the same way. Per attempt sent.
   */
  locality: {
    local: number;
    rack: number;
    remote: number;
    inputsLocal: number;
    inputsRack: number;
    inputsRemote: number;
  };
}

export interface RouterStatus {
  jobs: { inFlight: number; waiting: number };
  satellites: Array<Record<string, unknown>>;
  stats: Record<string, TypeStats>;
  tracker: Record<string, unknown>;
  /** With a journal: results kept, jobs replayed, and while it fails why and for how long. */
  journal: { finishedKept: number; recovered: number; error?: string; failedForMs?: number } | null;
  /** Jobs waiting for a free slot of their candidates (the waiting room or the disk spill). */
  waiting: { jobs: number; bytes: number; where: string };
  /** Payload bytes of the jobs held. */
  heldBytes: number;
  diskSpill: {
    dir: string;
    jobs: number;
    bytes: number;
    fileBytes: number;
    peakJobs: number;
    spilledTotal: number;
  } | null;
  counters: RouterCounters;
  /** Job types known: declared ones and those learnt from satellites (dynamicTypes). */
  typesKnown: number;
  /** CRUSH device ids in use: live satellites and those within their grace window. */
  devicesInUse: number;
}
