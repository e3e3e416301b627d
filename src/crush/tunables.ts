// Ceph's tunable profiles (crush.md §6). `crushtool -c` starts from `legacy`; new Ceph 16 clusters
// run `jewel` (= "optimal") with straw_calc_version 1.
import type { Tunables } from "./types.ts";

export type TunableProfileName =
  | "legacy"
  | "argonaut"
  | "bobtail"
  | "firefly"
  | "hammer"
  | "jewel"
  | "optimal";

const legacy: Tunables = {
  chooseLocalTries: 2,
  chooseLocalFallbackTries: 5,
  chooseTotalTries: 19,
  chooseleafDescendOnce: 0,
  chooseleafVaryR: 0,
  chooseleafStable: 0,
  strawCalcVersion: 0,
  allowedBucketAlgs: 22,
};
const bobtail: Tunables = {
  ...legacy,
  chooseLocalTries: 0,
  chooseLocalFallbackTries: 0,
  chooseTotalTries: 50,
  chooseleafDescendOnce: 1,
};
const firefly: Tunables = { ...bobtail, chooseleafVaryR: 1 };
const hammer: Tunables = { ...firefly, allowedBucketAlgs: 54 };
const jewel: Tunables = { ...hammer, chooseleafStable: 1 };

const PROFILES: Readonly<Record<TunableProfileName, Tunables>> = {
  legacy,
  argonaut: legacy,
  bobtail,
  firefly,
  hammer,
  jewel,
  optimal: jewel,
};

/**
 * A fresh copy of a profile. straw_calc_version is not part of the profiles in Ceph; pass it
 * apart (defaults: 0 for legacy/argonaut, 1 otherwise, as new clusters get).
 */
export function tunableProfile(name: TunableProfileName, strawCalcVersion?: number): Tunables {
  const profile = PROFILES[name];
  const fallback = name === "legacy" || name === "argonaut" ? 0 : 1;
  return { ...profile, strawCalcVersion: strawCalcVersion ?? fallback };
}

export function isTunableProfileName(name: string): name is TunableProfileName {
  return Object.hasOwn(PROFILES, name);
}

/** Names of tunables as written in crushtool's text format, in the order it prints them. */
export const TUNABLE_TEXT_NAMES: ReadonlyArray<readonly [string, keyof Tunables]> = [
  ["choose_local_tries", "chooseLocalTries"],
  ["choose_local_fallback_tries", "chooseLocalFallbackTries"],
  ["choose_total_tries", "chooseTotalTries"],
  ["chooseleaf_descend_once", "chooseleafDescendOnce"],
  ["chooseleaf_vary_r", "chooseleafVaryR"],
  ["chooseleaf_stable", "chooseleafStable"],
  ["straw_calc_version", "strawCalcVersion"],
  ["allowed_bucket_algs", "allowedBucketAlgs"],
];
