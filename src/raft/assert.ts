// Programmer errors (a broken invariant inside the core, or a caller breaking the Ready contract) throw;
// operating errors (stale, duplicated or unexpected messages) are ignored or answered, never thrown.

export class RaftAssertionError extends Error {
  override name = "RaftAssertionError";
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new RaftAssertionError(why);
}
