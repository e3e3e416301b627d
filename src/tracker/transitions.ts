// The job state machine as a table: TRANSITIONS[state][event] is the action; a missing entry is an
// illegal transition (refused and counted by the caller). Guards that pick between outcomes of one
// action (retry or fail, run timeout or stall) live in the action. docs/tracker.md has the same table
// in prose, and a test checks that both list the same (state, event) pairs.
import type { TrackerCore } from "./core.ts";
import type { JobEvent, JobEventKind, LiveJobStateName } from "./types.ts";

export type Transition<K extends JobEventKind> = (
  core: TrackerCore,
  slot: number,
  event: Extract<JobEvent, { kind: K }>,
  nowMs: number,
) => void;

export type StateHandlers = { [K in JobEventKind]?: Transition<K> };

const CANCELLED_BY_CLIENT = "cancelled by the client";

/** Events a job on a satellite (sent, acked, running) reacts to the same way in each of those states. */
const onSatellite: StateHandlers = {
  succeeded: (core, slot, _event, nowMs) => core.succeed(slot, nowMs),
  failed: (core, slot, event, nowMs) => core.fail(slot, event, nowMs),
  "satellite-lost": (core, slot, event, nowMs) =>
    core.loseAttempt(slot, event.satelliteId, nowMs, event.blameless === true),
  cancel: (core, slot, _event, nowMs) => core.finish(slot, "cancelled", nowMs, CANCELLED_BY_CLIENT),
};

export const TRANSITIONS: Readonly<Record<LiveJobStateName, StateHandlers>> = {
  // Transient: `submit` creates the job here and moves it to placed (or expired) in the same step.
  received: {},
  placed: {
    dispatched: (core, slot, event, nowMs) =>
      core.becomeSent(slot, event.satelliteId, nowMs, event.reportsProgress !== false),
    unplaceable: (core, slot, _event, nowMs) => core.waitForPlacement(slot, nowMs),
    cancel: (core, slot, _event, nowMs) => core.finish(slot, "cancelled", nowMs, CANCELLED_BY_CLIENT),
  },
  sent: {
    ...onSatellite,
    ack: (core, slot, _event, nowMs) => core.becomeAcked(slot, nowMs),
    progress: (core, slot, _event, nowMs) => core.becomeRunning(slot, nowMs, true),
    timer: (core, slot, _event, nowMs) => core.timeOutAck(slot, nowMs),
  },
  acked: {
    ...onSatellite,
    progress: (core, slot, _event, nowMs) => core.becomeRunning(slot, nowMs, false),
    timer: (core, slot, _event, nowMs) => core.timeOutRun(slot, nowMs),
  },
  running: {
    ...onSatellite,
    progress: (core, slot, _event, nowMs) => core.becomeRunning(slot, nowMs, false),
    timer: (core, slot, _event, nowMs) => core.timeOutRun(slot, nowMs),
  },
  "retry-wait": {
    timer: (core, slot, _event, nowMs) => core.place(slot, nowMs),
    cancel: (core, slot, _event, nowMs) => core.finish(slot, "cancelled", nowMs, CANCELLED_BY_CLIENT),
  },
};
