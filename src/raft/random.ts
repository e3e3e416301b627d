// The core draws election timeouts from an injected source of randomness, never from Math.random(), so
// that a run replays exactly from its seed. `seededRandom` is a small, fast PRNG for that purpose (not
// for anything secret).

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

export { seededRandom } from "../util/index.ts";

/** An integer in [low, high). */
export function randomInt(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low));
}
