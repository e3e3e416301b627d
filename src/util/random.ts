// A seeded generator for everything that must replay from a seed (simulations, the Raft core's
// election timeouts, test scenarios). Not for anything secret.

/** mulberry32: numbers in [0, 1), 32 bits of state; the same seed gives the same stream. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
