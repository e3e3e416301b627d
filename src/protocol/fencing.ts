// Attempt tokens under replicated orchestrators (docs/raft.md, "Replicated orchestrators"): the
// token a satellite sees and echoes is term * 256 + attempt, so one leadership's tokens never
// match another's. Shared by the router, which writes and reads them, and the satellite, which
// refuses an earlier term's job.

/** Attempts per term on the wire: the tracker's attempts are below this (a byte). */
export const ATTEMPT_SPAN = 256;

/** The token for `attempt` in `term` (term 0: the attempt itself, as with one orchestrator). */
export function attemptToken(term: number, attempt: number): number {
  return term === 0 ? attempt : term * ATTEMPT_SPAN + attempt;
}

/** The term a token carries: 0 below 256, or for what is not a safe integer (no term). */
export function termOfToken(token: number): number {
  return token >= ATTEMPT_SPAN && Number.isSafeInteger(token) ? Math.floor(token / ATTEMPT_SPAN) : 0;
}

/** The attempt a token of `term` carries; -1 (never current) for another term's token. */
export function attemptOfToken(term: number, token: number): number {
  if (term === 0) return token;
  return termOfToken(token) === term ? token % ATTEMPT_SPAN : -1;
}
