// Programmer errors (a broken invariant inside the tracker) throw; operating errors (a late result,
// an unknown job, an illegal transition) are counted and reported as effects instead.

export class TrackerAssertionError extends Error {
  override name = "TrackerAssertionError";
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new TrackerAssertionError(why);
}
