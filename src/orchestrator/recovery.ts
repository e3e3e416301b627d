// After a restart on a journal, jobs wait for their type's satellites to come back before they are
// placed (docs/journal.md, "What a client sees during a restart"). A fixed wait (recoveryMs) made
// every restart stall for 2 s; a job now goes as soon as its type looks complete again, and
// recoveryMs only bounds the wait for types whose satellites do not come back.

/**
 * A type's satellites look back once one serves it and none has registered for this long. Live
 * satellites retry their connection every 100 ms (libzmq's reconnect interval) and register at
 * once on reconnecting, so they come back within about 100 ms of each other: waiting for that
 * lull spreads the replayed jobs over all of them instead of piling them on the first one back.
 */
export const RECOVERY_SETTLE_MS = 150;

/** How often the held jobs are looked at while the recovery window is open. */
export const RECOVERY_POLL_MS = 10;

/** Whether the satellites serving a type look complete again (see RECOVERY_SETTLE_MS). */
export function satellitesBack(serving: Iterable<{ readonly registeredAt: number }>, nowMs: number): boolean {
  let any = false;
  for (const satellite of serving) {
    if (nowMs - satellite.registeredAt < RECOVERY_SETTLE_MS) return false;
    any = true;
  }
  return any;
}
