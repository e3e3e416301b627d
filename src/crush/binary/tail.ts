// The tunables tail, shared by the decoder and the encoder so both walk the same fields.
// Ceph appended these fields release by release; a map written by an older Ceph simply stops
// after the groups it knew, and the reader keeps legacy values for the rest.
import type { Tunables } from "../types.ts";

export interface TailField {
  readonly key: keyof Tunables;
  /** On-disk width in bytes: 4 (u32) or 1 (u8). */
  readonly widthBytes: 1 | 4;
}

/**
 * Groups in file order. A group is all-or-nothing: Ceph tests for the end of the input only
 * between groups, so a map ending inside a group is truncated, not old.
 */
export const TUNABLE_TAIL_GROUPS: readonly (readonly TailField[])[] = [
  [
    { key: "chooseLocalTries", widthBytes: 4 },
    { key: "chooseLocalFallbackTries", widthBytes: 4 },
    { key: "chooseTotalTries", widthBytes: 4 },
  ],
  [{ key: "chooseleafDescendOnce", widthBytes: 4 }],
  [{ key: "chooseleafVaryR", widthBytes: 1 }],
  [{ key: "strawCalcVersion", widthBytes: 1 }],
  [{ key: "allowedBucketAlgs", widthBytes: 4 }],
  [{ key: "chooseleafStable", widthBytes: 1 }],
];

/** Text-format name of a tunable, for error messages. */
export function tailFieldLabel(key: keyof Tunables): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
